"""Working keys with the key rollover of pos-link-v1.1 §4: a sign-in adds an unused set and
leaves the set in force alone; the first request whose MAC verifies under a newer set puts that
set in force and kills every older one. At most 3 unused sets per terminal, for at most 24 hours.

Clear keys are cached per terminal, only for the sets that terminal can still use: the cache is
bounded by the number of terminals, never by the number of sign-ins."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from steadypos.host.records import KeySetRow, TerminalRow
from steadypos.host.secrets import HostSecrets
from steadypos.host.store import Store
from steadypos.protocol import mac
from steadypos.protocol.codec import Message
from steadypos.protocol.crypto import WorkingKeys

MAX_UNUSED_SETS = 3
UNUSED_SET_LIFETIME = timedelta(hours=24)
Sealed = tuple[str, str, str]


class KeyRing:
    def __init__(self, store: Store, secrets: HostSecrets,
                 clock: Callable[[], datetime] = datetime.now) -> None:
        self.store, self.secrets, self.clock = store, secrets, clock
        # tid -> generation -> (the sealed keys, their clear form)
        self._clear: dict[str, dict[int, tuple[Sealed, WorkingKeys]]] = {}

    # -- what a terminal holds ------------------------------------------------------------
    def _unsealed(self, tid: str, gen: int, sealed: Sealed,
                  keep: dict[int, tuple[Sealed, WorkingKeys]]) -> WorkingKeys:
        cached = self._clear.get(tid, {}).get(gen)
        keys = cached[1] if cached is not None and cached[0] == sealed else \
            WorkingKeys(*(self.secrets.unseal(k) for k in sealed))
        keep[gen] = (sealed, keys)
        return keys

    def _waiting(self, tid: str) -> list[KeySetRow]:
        """The unused sets still alive, newest first."""
        oldest = (self.clock() - UNUSED_SET_LIFETIME).isoformat()
        return [k for k in self.store.key_sets(tid) if k.issued_at >= oldest]

    def candidates(self, term: TerminalRow) -> list[tuple[int | None, WorkingKeys]]:
        """(generation, keys) of every set the terminal may MAC with: the set in force first
        (generation None), then the unused ones, newest first. Refreshes the cache."""
        keep: dict[int, tuple[Sealed, WorkingKeys]] = {}
        out: list[tuple[int | None, WorkingKeys]] = []
        if term.signed_in and term.pik and term.mak and term.tdk:
            out.append((None, self._unsealed(term.tid, term.key_gen,
                                             (term.pik, term.mak, term.tdk), keep)))
        for k in self._waiting(term.tid):
            out.append((k.gen, self._unsealed(term.tid, k.gen, (k.pik, k.mak, k.tdk), keep)))
        if keep:
            self._clear[term.tid] = keep
        else:
            self._clear.pop(term.tid, None)
        return out

    def in_force(self, term: TerminalRow) -> WorkingKeys | None:
        """The set in force, without reading the unused ones (the common case: one lookup)."""
        if not (term.signed_in and term.pik and term.mak and term.tdk):
            return None
        return self._unsealed(term.tid, term.key_gen, (term.pik, term.mak, term.tdk),
                              self._clear.setdefault(term.tid, {}))

    def matching(self, term: TerminalRow, msg: Message) -> tuple[int | None, WorkingKeys] | None:
        """The set the request's MAC verifies under (the terminal's algorithm), or None."""
        alg = term.mac
        current = self.in_force(term)
        if current is not None and mac.verify(msg, current.mak, alg):
            return None, current
        for gen, keys in self.candidates(term):
            if gen is not None and mac.verify(msg, keys.mak, alg):
                return gen, keys
        return None

    def verify(self, term: TerminalRow, msg: Message) -> WorkingKeys | None:
        """Like matching, and a newer set that verifies goes into force: older sets die."""
        found = self.matching(term, msg)
        if found is None:
            return None
        gen, keys = found
        if gen is not None:
            chosen = next(k for k in self.store.key_sets(term.tid) if k.gen == gen)
            term.pik, term.mak, term.tdk = chosen.pik, chosen.mak, chosen.tdk
            term.key_gen, term.signed_in = gen, True
            self.store.save_keys(term)
            self.store.delete_key_sets(term.tid, up_to_gen=gen)
            self.candidates(term)  # the cache keeps only what is alive now
        return keys

    # -- sign-in and sign-out ---------------------------------------------------------------
    def issue(self, term: TerminalRow) -> WorkingKeys:
        """Fresh keys for a sign-in, kept as an unused set; the oldest beyond 3 (and any older
        than 24 hours) are dropped. The set in force is not touched."""
        keys = WorkingKeys.fresh()
        waiting = self.store.key_sets(term.tid)
        gen = max([term.key_gen, *(k.gen for k in waiting)]) + 1
        pik, mak, tdk = (self.secrets.seal(k) for k in (keys.pik, keys.mak, keys.tdk))
        self.store.add_key_set(KeySetRow(term.tid, gen, pik, mak, tdk, self.clock().isoformat()))
        alive = {k.gen for k in self._waiting(term.tid)[:MAX_UNUSED_SETS]}
        for k in self.store.key_sets(term.tid):
            if k.gen not in alive:
                self.store.delete_key_set(term.tid, k.gen)
        self.candidates(term)
        return keys

    def drop(self, term: TerminalRow) -> None:
        """Sign-out: no set in force, none waiting."""
        term.pik = term.mak = term.tdk = None
        term.signed_in = False
        self.store.save_keys(term)
        self.store.delete_key_sets(term.tid)
        self._clear.pop(term.tid, None)

    def has_keys(self, term: TerminalRow) -> bool:
        return bool(term.signed_in and term.mak) or bool(self._waiting(term.tid))

    def cached_sets(self) -> dict[str, int]:
        """How many clear sets are cached per terminal (for the bounded-memory test)."""
        return {tid: len(sets) for tid, sets in self._clear.items()}
