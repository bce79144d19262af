"""The emergency cards: every situation in both languages, steps in order, and every command a
card tells the cashier to run exists in the CLI with the options it names."""

from __future__ import annotations

import re

import typer
from typer.main import get_command
from typer.testing import CliRunner

from steadypos import i18n
from steadypos.cli import app
from steadypos.terminal import emergency
from steadypos.terminal.emergency import Situation

COMMAND = re.compile(r"steadypos ((?:[a-z][a-z-]* )*[a-z][a-z-]*)((?: --[a-z-]+(?: [A-Z])?)*)")


def _find(words: list[str]) -> typer.core.TyperCommand | None:
    node = get_command(app)
    for word in words:
        sub = getattr(node, "commands", {}).get(word)
        if sub is None:
            return node if not hasattr(node, "commands") else None
        node = sub
    return node


def test_every_card_exists_in_both_languages_with_its_steps() -> None:
    for situation in Situation:
        for lang in i18n.LANGUAGES:
            steps = emergency.steps(situation, lang)
            assert len(steps) == emergency.STEPS[situation] >= 3
            assert all(not s.startswith("emergency.") for s in steps), (situation, lang)
        assert emergency.steps(situation, "zh") != emergency.steps(situation, "en")


def test_every_command_a_card_names_exists_with_its_options() -> None:
    named = 0
    for situation in Situation:
        for step in emergency.steps(situation, "en"):
            for words, options in COMMAND.findall(step):
                command = _find(words.split())
                assert command is not None, (situation, words)
                known = {o for p in command.params for o in p.opts}
                for option in re.findall(r"--[a-z-]+", options):
                    assert option in known, (situation, words, option)
                named += 1
    assert named >= 12


def test_help_prints_the_card_in_the_language_asked() -> None:
    runner = CliRunner()
    zh = runner.invoke(app, ["terminal", "help", "printer", "--lang", "zh"])
    assert zh.exit_code == 0 and "打印机卡纸或缺纸" in zh.output and "  3. 重印签购单" in zh.output
    en = runner.invoke(app, ["terminal", "help", "--lang", "en"])
    assert en.exit_code == 0 and all(s.value in en.output for s in Situation)
    bad = runner.invoke(app, ["terminal", "help", "printer", "--lang", "fr"])
    assert bad.exit_code == 2 and "unknown language 'fr'" in bad.output
    unknown = runner.invoke(app, ["terminal", "help", "fire"])
    assert unknown.exit_code == 2


def test_the_locale_chooses_the_language(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    assert i18n.from_locale() == i18n.DEFAULT
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert i18n.from_locale() == "en"
    monkeypatch.setenv("LC_ALL", "zh_CN.UTF-8")
    assert i18n.from_locale() == "zh"
