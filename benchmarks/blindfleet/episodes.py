"""Flash-exit episodes by the document's definition, used to check what the generator wrote.

A flow leaves `idle` (screen amount/card/pin/online/receipt, or a card event); it is an episode
when it then reaches `idle`, an app `start` or a non-normal app `exit` without a `result` screen
and without a PIN cancel. The episode's screen is the last flow screen before the break.
"""

from __future__ import annotations

from collections.abc import Iterable

FLOW_SCREENS = {"amount", "card", "pin", "online", "receipt"}


def episodes(events: Iterable[tuple[str, dict]]) -> list[str]:
    """Screens where each episode broke, in order, from (type, fields) pairs of one terminal."""
    out: list[str] = []
    open_at: str | None = None
    for type_, f in events:
        if type_ == "screen":
            s = f.get("screen")
            if s in FLOW_SCREENS:
                open_at = s
            elif s == "result":
                open_at = None
            elif s == "idle" and open_at:
                out.append(open_at)
                open_at = None
        elif type_ == "card" and open_at is None:
            open_at = "card"
        elif type_ == "pin" and f.get("outcome") == "cancelled":
            open_at = None
        elif type_ == "app":
            if open_at and (f.get("event") == "start" or f.get("reason") != "normal"):
                out.append(open_at)
            open_at = None
    return out
