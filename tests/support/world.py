"""The demo world the tests trade in: terminals, cards and QR codes of `steadypos demo-data`."""

from __future__ import annotations

from typing import Any

from steadypos.host.demo_data import demo_data
from steadypos.protocol.builders import Card

DEMO: dict[str, list[dict[str, Any]]] = demo_data()
RICH = 100_000  # fen: a card with this much never declines for funds in a test


def demo_cards(kind: str = "magstripe", status: str = "active") -> list[dict[str, Any]]:
    return [c for c in DEMO["cards"] if c["kind"] == kind and c["status"] == status]


def rich_cards(kind: str = "magstripe") -> list[dict[str, Any]]:
    """Active demo cards of a kind with at least 1000 yuan, each with its PIN."""
    return [c for c in demo_cards(kind) if c["balance"] >= RICH]


def swipe(card: dict[str, Any]) -> Card:
    """What the reader gives for a swiped demo card."""
    return Card.from_track2(card["track2"])
