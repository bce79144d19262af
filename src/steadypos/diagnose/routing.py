"""Which worker a raw log line goes to (workers.py): the worker of its terminal.

Every line of a terminal must reach the same worker, or its state machine would be split. The
terminal is the `tid` one process would use: the parsed event's (for a well-formed line) or the
one read from a torn line (reader.damage_tid). Found fast with a bytes search when that cannot
differ from either: one `"tid"` in the line, written `"tid":"..."`, no backslash anywhere (no
escape to decode, in the value or in a key), valid UTF-8. Any other line is parsed to find it.
Lines with no terminal (blank, not JSON, no tid) go to worker 0."""

from __future__ import annotations

import re
import zlib
from itertools import repeat

from steadypos.diagnose.reader import TID_IN_LINE, damage_tid, parse_event

MAX_KNOWN = 1 << 18  # tids remembered (forgotten all at once beyond: memory stays bounded)
_KEY = b'"tid":"'
_LINE_TID = re.compile(rb'"tid":"([^"\n]*)"[^\n]*\n')  # a line's first `"tid":"...`, then its end
_UNKNOWN = 255


def owner(tid: str, parts: int) -> int:
    """The worker of a terminal (a hash, the same in every process and run)."""
    return zlib.crc32(tid.encode("utf-8", "surrogatepass")) % parts


def tids_in(data: bytes) -> set[str]:
    """The terminals named in a piece of log (a quick look: what a parse would say may differ)."""
    return {t.decode("utf-8", "replace") for t in TID_IN_LINE.findall(data)}


def masks(parts: int) -> list[bytes]:
    """For each worker, a bytes.translate table turning a batch's owners into 1 (its) or 0."""
    return [bytes(int(w == part) for w in range(256)) for part in range(parts)]


class Router:
    """The owners of a batch of lines, one byte per line."""

    def __init__(self, parts: int) -> None:
        if not 0 < parts < 256:
            raise ValueError(f"{parts} workers: 1 to 255")
        self.parts = parts
        self.known: dict[bytes, int] = {}  # raw tid -> worker, for clean tids only

    def route(self, lines: list[bytes], blob: bytes) -> bytes:
        """The owners of `lines` (each ending with a newline), `blob` being them joined.

        The common batch is settled in a few passes over the blob: a tid found in every line,
        `"tid"` nowhere else, no backslash, every tid known; any other batch line by line."""
        tids = _LINE_TID.findall(blob)
        n = len(lines)
        if len(tids) == n and blob.count(b'"tid"') == n and b"\\" not in blob:
            owners = bytes(map(self.known.get, tids, repeat(_UNKNOWN)))
            if _UNKNOWN not in owners:
                return owners
        return bytes(self.route_lines(lines))

    def route_lines(self, lines: list[bytes]) -> bytearray:
        owners = bytearray()
        put = owners.append
        known = self.known.get
        for raw in lines:
            i = raw.find(_KEY)
            if i >= 0:
                j = i + len(_KEY)
                k = raw.find(b'"', j)
                w = known(raw[j:k]) if k > j else None
                if w is not None and raw.count(b'"tid"') == 1 and b"\\" not in raw:
                    put(w)
                    continue
            put(self.slow(raw))
        return owners

    def slow(self, raw: bytes) -> int:
        """The owner of a line the fast search does not settle (learning clean tids)."""
        i = raw.find(_KEY)
        j = i + len(_KEY)
        k = raw.find(b'"', j)
        if i >= 0 and k > j and raw.count(b'"tid"') == 1 and b"\\" not in raw:
            raw_tid = raw[j:k]
            try:
                tid = raw_tid.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                if len(self.known) >= MAX_KNOWN:
                    self.known.clear()
                w = self.known[raw_tid] = owner(tid, self.parts)
                return w
        got = parse_event(raw)
        if type(got) is tuple:
            return owner(got[1]["tid"], self.parts)  # type: ignore[index]
        torn = damage_tid(raw) if got else None
        return 0 if torn is None else owner(torn, self.parts)
