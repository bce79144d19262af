"""The TMS's only way into the host's tables: the host's own registry code (host/registry.py),
on a store and secrets opened as the host opens them. Each call is its own host transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from steadypos.host import registry
from steadypos.host.app import open_secrets
from steadypos.host.secrets import HostSecrets
from steadypos.host.settings import default_keys_path
from steadypos.host.store import Store, open_store
from steadypos.tms.db import DatabaseUrl
from steadypos.tms.errors import Conflict, Unavailable
from steadypos.tms.models import TerminalState

# Said by every call that needs the host's keys when nobody said where they are.
NO_HOST_KEYS = "the host's key file is not known: give --host-keys (steadypos host --keys)"

_STATUS = {TerminalState.ACTIVE: registry.TerminalStatus.ACTIVE,
           TerminalState.LOCKED: registry.TerminalStatus.LOCKED,
           TerminalState.RETIRED: registry.TerminalStatus.RETIRED}

R = TypeVar("R")


class HostLink:
    def __init__(self, url: DatabaseUrl, txn_limit_fen: int, keys: Path | None = None) -> None:
        self.url = url
        self.txn_limit_fen = txn_limit_fen
        self.keys = keys or default_keys_path(url.host_url)
        self._secrets: HostSecrets | None = None

    @property
    def secrets(self) -> HostSecrets:
        # Opened at first need, not at start-up: the host usually creates `<db>.keys` itself
        # (with the demo's issuer key under --seed-demo), and we must not get there first.
        if self._secrets is None:
            if self.keys is None:
                raise Unavailable(NO_HOST_KEYS)
            self._secrets = open_secrets(self.keys)
        return self._secrets

    @contextmanager
    def _store(self) -> Iterator[Store]:
        store = open_store(self.url.host_url)
        try:
            yield store
        finally:
            store.close()

    def _write(self, action: Callable[[Store], R]) -> R:
        """`action` in one host transaction; a change the registry refuses is a 409."""
        with self._store() as store:
            store.begin()
            try:
                result = action(store)
                store.commit()
            except registry.RegistryError as exc:
                store.rollback()
                raise Conflict(f"the host's registry refused: {exc}") from None
            except BaseException:
                store.rollback()
                raise
            return result

    def seal(self, key: bytes) -> str:
        return self.secrets.seal(key)

    def unseal(self, sealed: str) -> bytes:
        return self.secrets.unseal(sealed)

    def info(self, tid: str) -> Any:
        with self._store() as store:
            return registry.terminal_info(store, tid)

    def infos(self, tids: list[str]) -> dict[str, Any]:
        """What the registry says of each of `tids` it knows."""
        wanted = set(tids)
        with self._store() as store:
            return {i.tid: i for i in registry.terminals(store) if i.tid in wanted}

    def set_params_waiting(self, tids: list[str], waiting: bool) -> None:
        """Processing requirement 6 on (or off) for each of `tids`, in one host transaction."""

        def act(store: Store) -> None:
            for tid in tids:
                registry.set_params_waiting(store, tid, waiting)

        if tids:
            self._write(act)

    def register(self, tid: str, mid: str, tmk: bytes, mac_algorithm: str) -> None:
        secrets = self.secrets

        def act(store: Store) -> None:
            if registry.terminal_info(store, tid) is not None:
                raise Conflict(f"the host already knows terminal {tid}")
            registry.register_terminal(store, secrets, tid=tid, mid=mid, tmk=tmk,
                                       mac=registry.MacAlgorithm(mac_algorithm),
                                       txn_limit=self.txn_limit_fen)

        self._write(act)

    def set_status(self, tid: str, status: TerminalState) -> None:
        self._write(lambda store: registry.set_status(store, tid, _STATUS[status]))
