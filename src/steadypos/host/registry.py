"""The host's terminal registry: the one API through which other subsystems (the demo data, the
TMS) add, change, lock and retire terminals. The caller owns the transaction: call these between
store.begin() and store.commit(), as the host's writer does for its requests."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from steadypos.host.records import DEFAULT_TXN_LIMIT, TerminalRow
from steadypos.host.secrets import HostSecrets
from steadypos.host.store import Store
from steadypos.protocol.mac import MacAlgorithm

__all__ = ["MacAlgorithm", "RegistryError", "TerminalInfo", "TerminalStatus", "register_terminal",
           "set_params_waiting", "set_status", "terminal_info", "terminals"]

MAX_TXN_LIMIT = 10**12 - 1  # what F4 (n12) can carry


class TerminalStatus(StrEnum):
    ACTIVE = "active"  # served
    LOCKED = "locked"  # every request answered 03, nothing moves; can be made active again
    RETIRED = "retired"  # like locked, for good: the TID can never be registered again


class RegistryError(ValueError):
    """A registry change that is not allowed; nothing was changed."""


@dataclass(frozen=True)
class TerminalInfo:
    """What the registry says of a terminal. `signed_in`: a set of working keys is in force;
    `key_sets_waiting`: sets issued at sign-ins and not used yet (at most 3, §4)."""

    tid: str
    mid: str
    mac: MacAlgorithm
    status: TerminalStatus
    signed_in: bool
    batch: int  # the open batch
    txn_limit: int
    key_sets_waiting: int

    @property
    def legacy(self) -> bool:
        """Registered with the weak pos_ecb MAC (a 1.0 terminal)."""
        return self.mac.weak


def _checked(tid: str, mid: str, tmk: bytes, mac: MacAlgorithm | str,
             txn_limit: int) -> MacAlgorithm:
    for name, value, size in (("tid", tid, 8), ("mid", mid, 15)):
        if len(value) != size or not value.isascii() or not value.isprintable():
            raise RegistryError(f"{name} must be {size} printable ASCII characters, got {value!r}")
    if not isinstance(tmk, bytes) or len(tmk) != 16:
        raise RegistryError("tmk must be 16 bytes (a two-key triple-DES key)")
    if isinstance(txn_limit, bool) or not isinstance(txn_limit, int) \
            or not 0 < txn_limit <= MAX_TXN_LIMIT:
        raise RegistryError(f"txn_limit must be 1..{MAX_TXN_LIMIT} fen, got {txn_limit!r}")
    try:
        return MacAlgorithm(mac)
    except ValueError:
        raise RegistryError(f"mac must be one of {[a.value for a in MacAlgorithm]}, "
                            f"got {mac!r}") from None


def _drop_keys(store: Store, row: TerminalRow) -> None:
    """The terminal must sign in again: no set in force, none waiting."""
    row.pik = row.mak = row.tdk = None
    row.signed_in = False
    store.save_keys(row)
    store.delete_key_sets(row.tid)


def register_terminal(store: Store, secrets: HostSecrets, *, tid: str, mid: str, tmk: bytes,
                      mac: MacAlgorithm = MacAlgorithm.X919,
                      txn_limit: int = DEFAULT_TXN_LIMIT) -> None:
    """Add a terminal, or register a known, not retired one again: its MID, TMK, MAC algorithm
    and limit are replaced and its working keys dropped (it signs in again); its status and open
    batch stay. A retired TID cannot come back. A terminal moves to another merchant only with
    an empty open batch (settle first), so that no void or reversal lands on the wrong one."""
    alg = _checked(tid, mid, tmk, mac, txn_limit)
    sealed = secrets.seal(tmk)
    row = store.terminal(tid)
    if row is None:
        store.add_terminal(TerminalRow(tid, mid, sealed, txn_limit=txn_limit, mac=alg,
                                       status=TerminalStatus.ACTIVE.value))
        return
    if row.status == TerminalStatus.RETIRED:
        raise RegistryError(f"terminal {tid} is retired and cannot be registered again")
    if row.mid != mid and store.batch_txns(tid, row.batch):
        raise RegistryError(f"terminal {tid} has transactions in its open batch "
                            f"{row.batch:06d}: settle it before moving it to merchant {mid}")
    row.mid, row.tmk, row.mac, row.txn_limit = mid, sealed, alg, txn_limit
    store.update_registration(row)
    _drop_keys(store, row)


def set_status(store: Store, tid: str, status: TerminalStatus) -> None:
    """Lock, unlock or retire a terminal; retiring is final and drops its keys."""
    row = store.terminal(tid)
    if row is None:
        raise RegistryError(f"no terminal {tid} in the registry")
    try:
        new = TerminalStatus(status)
    except ValueError:
        raise RegistryError(f"status must be one of {[s.value for s in TerminalStatus]}, "
                            f"got {status!r}") from None
    if row.status == TerminalStatus.RETIRED and new != TerminalStatus.RETIRED:
        raise RegistryError(f"terminal {tid} is retired: that is final")
    store.set_status(tid, new.value)
    if new == TerminalStatus.RETIRED:
        _drop_keys(store, row)


def set_params_waiting(store: Store, tid: str, waiting: bool) -> None:
    """Whether the TMS holds newer parameters for the terminal: while it does, every answer
    carries processing requirement 6 (pos-link-v1 §1). Unknown TIDs are refused."""
    if store.terminal(tid) is None:
        raise RegistryError(f"no terminal {tid} in the registry")
    store.set_params_waiting(tid, waiting)


def _info(store: Store, row: TerminalRow) -> TerminalInfo:
    return TerminalInfo(row.tid, row.mid, row.mac, TerminalStatus(row.status),
                        row.signed_in, row.batch, row.txn_limit, len(store.key_sets(row.tid)))


def terminal_info(store: Store, tid: str) -> TerminalInfo | None:
    row = store.terminal(tid)
    return None if row is None else _info(store, row)


def terminals(store: Store) -> list[TerminalInfo]:
    """Every registered terminal, by TID."""
    return [_info(store, row) for row in store.terminals()]
