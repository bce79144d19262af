"""Parameter values checked before they are accepted: against the acquirer host (its address, its
TPDU, its registry's TID/MID pairs and limits) and against each terminal model's limits. A value
that would make a terminal fail its next sign-in is a 422 naming the field."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from steadypos.tms.context import TmsContext
from steadypos.tms.errors import Invalid
from steadypos.tms.models import FleetTerminal, Merchant
from steadypos.tms.schemas.parameters import ParamValues


@dataclass(frozen=True)
class ModelProfile:
    receipt_columns: int  # what one printed line holds (a CJK character takes two)
    tls: bool  # can reach the host's TLS port


# What the terminal models we know can do; any other model gets DEFAULT_PROFILE.
MODEL_PROFILES: dict[str, ModelProfile] = {
    "A920": ModelProfile(32, True), "A80": ModelProfile(32, True), "S920": ModelProfile(32, False),
    "N910": ModelProfile(32, True), "V200c": ModelProfile(42, True), "X990": ModelProfile(42, True),
    "sim": ModelProfile(32, True),
}
DEFAULT_PROFILE = ModelProfile(32, True)
# The terminal states in which the host's registry knows the terminal.
HOST_KNOWS = frozenset({"active", "locked"})


def print_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def addresses(ctx: TmsContext) -> list[tuple[str, int]]:
    s = ctx.settings
    return [(s.link_host, s.link_port)] + ([(s.link_host, s.tls_port)] if s.tls_port else [])


def defaults(ctx: TmsContext, term: FleetTerminal) -> dict[str, object]:
    """What activation handed the terminal, before any template."""
    s = ctx.settings
    return {"tid": term.tid, "mid": term.mid, "host": s.link_host,
            "port": s.tls_port or s.link_port, "tpdu": s.tpdu.upper()}


def check_values(db: Session, ctx: TmsContext, values: ParamValues) -> None:
    """What the values alone must satisfy, whoever gets them."""
    known = addresses(ctx)
    if (values.host, values.port) not in known:
        shown = ", ".join(f"{h}:{p}" for h, p in known)
        field = "host" if values.host not in {h for h, _ in known} else "port"
        raise Invalid(f"values.{field}", f"{values.host}:{values.port} is not an address of "
                                         f"the acquirer host ({shown}): the terminal could not "
                                         f"sign in")
    nii, ours = values.tpdu[2:6].upper(), ctx.settings.tpdu[2:6].upper()
    if nii != ours:
        raise Invalid("values.tpdu", f"destination {nii} does not route to the acquirer "
                                     f"host (its TPDU destination is {ours})")
    if values.txn_limit_fen > ctx.settings.txn_limit_fen:
        raise Invalid("values.txn_limit_fen", f"{values.txn_limit_fen} fen is above the "
                                              f"host's limit of {ctx.settings.txn_limit_fen} "
                                              f"fen per transaction")
    if values.mid is not None and db.get(Merchant, values.mid) is None:
        raise Invalid("values.mid", f"no merchant {values.mid}")


def check_terminals(ctx: TmsContext, values: ParamValues, terms: Iterable[FleetTerminal]) -> None:
    """What the values must satisfy for each terminal that gets them: its model, and the host's
    registry (the TID is known there and belongs to the same merchant)."""
    terms = list(terms)
    for term in terms:
        if values.mid is not None and values.mid != term.mid:
            raise Invalid("values.mid", f"{values.mid} is not the merchant of terminal "
                                        f"{term.tid} ({term.mid}): the host would answer 03")
        profile = MODEL_PROFILES.get(term.model, DEFAULT_PROFILE)
        width = print_width(values.receipt_header)
        if width > profile.receipt_columns:
            raise Invalid("values.receipt_header", f"{width} columns do not fit the "
                                                   f"{profile.receipt_columns} of model "
                                                   f"{term.model}")
        if ctx.settings.tls_port and values.port == ctx.settings.tls_port and not profile.tls:
            raise Invalid("values.port", f"model {term.model} cannot reach the TLS port "
                                         f"{values.port}")
    known = [t for t in terms if t.status in HOST_KNOWS]
    if not known:
        return
    registry = ctx.host.infos([t.tid for t in known])
    for term in known:
        info = registry.get(term.tid)
        if info is None:
            raise Invalid("target", f"the host's registry has no terminal {term.tid}")
        if info.mid != term.mid:
            raise Invalid("target", f"the host's registry has terminal {term.tid} under "
                                    f"merchant {info.mid}, not {term.mid}")
        if values.txn_limit_fen > info.txn_limit:
            raise Invalid("values.txn_limit_fen", f"{values.txn_limit_fen} fen is above "
                                                  f"terminal {term.tid}'s limit at the host "
                                                  f"({info.txn_limit})")
