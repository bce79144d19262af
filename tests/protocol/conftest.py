"""Fixtures of the protocol tests: the worked examples of tests/data/vectors.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from steadypos.protocol.codec import Message

VECTORS_PATH = Path(__file__).resolve().parent.parent / "data" / "vectors.json"


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    return json.loads(VECTORS_PATH.read_text())


@pytest.fixture(scope="session")
def tmk(vectors: dict[str, Any]) -> bytes:
    return bytes.fromhex(vectors["tmk"])


@pytest.fixture(scope="session")
def mak(vectors: dict[str, Any]) -> bytes:
    return bytes.fromhex(vectors["working_keys_clear"]["mak"])


@pytest.fixture(scope="session")
def sale_frame(vectors: dict[str, Any]) -> bytes:
    return bytes.fromhex(vectors["sale_0200"]["frame_hex"])


@pytest.fixture
def sale_fields(vectors: dict[str, Any]) -> dict[int, str]:
    """The vector sale's fields by number, without F64 (and without the "t"/"p" keys)."""
    return {int(k): v for k, v in vectors["sale_0200"]["fields"].items() if k.isdigit()}


@pytest.fixture
def sale(sale_fields: dict[int, str]) -> Message:
    """The vector sale, unsigned."""
    return Message("0200", sale_fields)
