"""Sign-in (a fresh set of working keys under the TMK, kept unused until the terminal MACs with
it, §4), sign-out and echo test."""

from __future__ import annotations

import logging

from steadypos.host.context import Reply, Request
from steadypos.host.secrets import HostSecrets
from steadypos.host.store import Store
from steadypos.protocol.codes import ResponseCode
from steadypos.protocol.crypto import pack_key_block
from steadypos.protocol.fields import Field60
from steadypos.protocol.mac import WEAK_MAC_NOTE

log = logging.getLogger("steadypos.host")

ACQUIRER_ID = "48020000"


def rrn(store: Store) -> str:
    return str(store.next_value("rrn")).zfill(12)  # {:012d}'s text, at half its cost


def sign_in(store: Store, secrets: HostSecrets, req: Request) -> Reply:
    """Anyone who knows a TID and its MID may send this (0800 has no MAC): the answer is only
    useful with the TMK, and the keys in use stay in force until the new ones are used."""
    term = req.terminal
    keys = req.keyring.issue(term)
    if term.mac.weak:
        log.warning("%s signed in with the legacy pos_ecb MAC: %s", term.tid, WEAK_MAC_NOTE)
    block = pack_key_block(secrets.unseal(term.tmk), keys)
    return Reply(ResponseCode.APPROVED, {
        32: ACQUIRER_ID,
        37: rrn(store),
        60: Field60(req.f60.type, term.batch, req.f60.network).format(),  # the batch to use
        62: block.hex().upper(),
    })


def sign_out(store: Store, secrets: HostSecrets, req: Request) -> Reply:
    """MAC'd (1.1): only the terminal itself can sign itself out."""
    req.keyring.drop(req.terminal)
    return Reply(ResponseCode.APPROVED)


def echo(store: Store, secrets: HostSecrets, req: Request) -> Reply:
    return Reply(ResponseCode.APPROVED)
