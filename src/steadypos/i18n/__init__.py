"""One message catalogue for everything a person reads (pages, counter screen, emergency cards):
JSON files per language (`zh.json`, plus `<part>.zh.json` for each part), looked up by key;
English is the fallback."""

from __future__ import annotations

import json
import os
from functools import cache
from importlib import resources

LANGUAGES = ("zh", "en")
DEFAULT = "zh"
FALLBACK = "en"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Every message of one language (keys are dotted names, e.g. `nav.terminals`)."""
    if lang not in LANGUAGES:
        raise KeyError(f"no catalogue for language {lang!r}")
    data: dict[str, str] = {}
    files = sorted((f for f in resources.files(__package__).iterdir()
                    if f.name == f"{lang}.json" or f.name.endswith(f".{lang}.json")),
                   key=lambda f: (f.name != f"{lang}.json", f.name))
    for file in files:
        part: dict[str, str] = json.loads(file.read_text(encoding="utf-8"))
        twice = sorted(set(part) & set(data))
        if twice:
            raise ValueError(f"{file.name}: keys already in the catalogue: {', '.join(twice)}")
        data.update(part)
    return data


def pick(lang: str | None) -> str:
    """A supported language from a request's wish (a code, or an Accept-Language value)."""
    for part in (lang or "").replace(" ", "").split(","):
        code = part.split(";")[0].split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return DEFAULT


def from_locale() -> str:
    """The language of the process's locale: zh for a zh_* locale, en for any other that is set,
    the default where none is."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return DEFAULT


def language(wish: str | None) -> str:
    """The language for a command line: the one asked for (`--lang`), else the locale's."""
    if wish is None:
        return from_locale()
    if wish not in LANGUAGES:
        raise ValueError(f"unknown language {wish!r}: use one of {', '.join(LANGUAGES)}")
    return wish


def t(key: str, lang: str = DEFAULT, **values: object) -> str:
    """The message `key` in `lang` with `{name}` fields filled; the key itself if it is unknown,
    so that a missing text shows up on the page instead of breaking it."""
    text = catalogue(pick(lang)).get(key) or catalogue(FALLBACK).get(key) or key
    return text.format(**values) if values else text
