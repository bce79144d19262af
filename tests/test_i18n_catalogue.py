"""The catalogue is one per language, gathered from its parts: a key in two parts is an error,
not a silent overwrite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from steadypos import i18n


def _package_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parts: dict[str, dict]) -> None:
    pkg = tmp_path / "fakecat"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for name, data in parts.items():
        (pkg / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(i18n, "__package__", "fakecat")
    i18n.catalogue.cache_clear()


def test_parts_are_gathered_and_a_key_twice_is_refused(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _package_copy(tmp_path, monkeypatch, {"en.json": {"a.x": "A"}, "card.en.json": {"b.y": "B"},
                                          "zh.json": {"a.x": "甲"}, "card.zh.json": {"a.x": "乙"}})
    try:
        assert i18n.catalogue("en") == {"a.x": "A", "b.y": "B"}
        with pytest.raises(ValueError, match=r"^card\.zh\.json: keys already in .*: a\.x$"):
            i18n.catalogue("zh")
    finally:
        i18n.catalogue.cache_clear()
