"""A background thread of `tms serve`: once a minute, the alert for terminals whose heartbeats
stopped for longer than their template allows, then the oversight rules (fleet incidents,
remedy checks, locking below the minimum version)."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import SQLAlchemyError

from steadypos.tms.context import TmsContext
from steadypos.tms.services import oversight, telemetry

log = logging.getLogger("steadypos.tms")
EVERY_S = 60.0


def sweep_once(ctx: TmsContext) -> list[str]:
    with ctx.sessions() as db:
        missing = telemetry.sweep_missing(db)
        oversight.sweep(db, ctx)
        return missing


def start_sweeper(ctx: TmsContext, every_s: float = EVERY_S) -> threading.Event:
    """Start the thread; set the returned event to stop it."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every_s):
            try:
                missing = sweep_once(ctx)
            except SQLAlchemyError as exc:  # a busy database: the next round tries again
                log.warning("missing-heartbeat sweep failed: %s", exc)
                continue
            if missing:
                log.info("terminals missing their heartbeat: %s", ", ".join(missing[:20]))

    threading.Thread(target=loop, name="tms-sweeper", daemon=True).start()
    return stop
