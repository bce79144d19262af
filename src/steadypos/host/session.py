"""Sign-in (fresh working keys under the TMK), sign-out and echo test."""

from __future__ import annotations

from steadypos.host.context import Outcome, Request
from steadypos.host.secrets import HostSecrets
from steadypos.host.store import Store
from steadypos.protocol.crypto import WorkingKeys, pack_key_block
from steadypos.protocol.fields import Field60

ACQUIRER_ID = "48020000"


def rrn(store: Store) -> str:
    return f"{store.next_value('rrn'):012d}"


def sign_in(store: Store, secrets: HostSecrets, req: Request) -> Outcome:
    term = req.terminal
    keys = WorkingKeys.fresh()
    term.pik, term.mak, term.tdk = (secrets.seal(k) for k in (keys.pik, keys.mak, keys.tdk))
    term.key_gen += 1
    term.signed_in = True
    store.save_keys(term)
    block = pack_key_block(secrets.unseal(term.tmk), keys)
    return Outcome("00", {
        32: ACQUIRER_ID,
        37: rrn(store),
        60: Field60("00", term.batch, "003").format(),
        62: block.hex().upper(),
    })


def sign_out(store: Store, secrets: HostSecrets, req: Request) -> Outcome:
    term = req.terminal
    term.signed_in = False
    term.pik = term.mak = term.tdk = None
    store.save_keys(term)
    return Outcome("00")


def echo(store: Store, secrets: HostSecrets, req: Request) -> Outcome:
    return Outcome("00")
