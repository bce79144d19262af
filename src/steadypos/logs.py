"""Logging set-up shared by every long-running command: one line per event, card data scrubbed."""

from __future__ import annotations

import logging
import sys

from steadypos.files import make_private
from steadypos.masking import ScrubFilter


def setup(level: int = logging.INFO, path: str | None = None) -> None:
    if path:
        make_private(path)  # owner only, like every file the host writes (pos-link-v1.1 §7)
    handler: logging.Handler = (logging.FileHandler(path) if path
                                else logging.StreamHandler(sys.stderr))
    handler.addFilter(ScrubFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger("steadypos")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
