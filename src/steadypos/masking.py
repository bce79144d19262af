"""Keep card data out of sight: PAN masking and a log filter that scrubs what slips through."""

from __future__ import annotations

import logging
import re

_PAN_LIKE = re.compile(r"(?<![0-9A-Fa-f])(\d{6})(\d{3,9})(\d{4})(?![0-9])")
_TRACK2_LIKE = re.compile(r"\d{12,19}[=Dd]\d{4}[0-9A-Fa-f]*")
# Both need 12 digits in a row at least; in ASCII text \d is [0-9], which scans much faster.
_TWELVE_ASCII_DIGITS = re.compile(r"[0-9]{12}")


def mask_pan(pan: str) -> str:
    """'6222021234567890123' -> '622202*********0123' (first 6 and last 4 kept)."""
    if len(pan) < 11:
        return "*" * len(pan)
    return pan[:6] + "*" * (len(pan) - 10) + pan[-4:]


def scrub(text: str) -> str:
    """Mask anything in free text that looks like track data or a PAN."""
    if text.isascii() and _TWELVE_ASCII_DIGITS.search(text) is None:
        return text  # nothing either pattern could match (most log lines)
    text = _TRACK2_LIKE.sub("<track2>", text)
    return _PAN_LIKE.sub(lambda m: m.group(1) + "*" * len(m.group(2)) + m.group(3), text)


class ScrubFilter(logging.Filter):
    """Logging filter that masks PAN-like digits in every record before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        if record.exc_info:
            # A traceback can quote values (a PAN in an exception message): scrub it as text.
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
