"""The seed's "activate": a shipped device proves itself with serial + one-time code and gets
its identity (TID, MID, MAC algorithm), its TMK wrapped under its own RSA key, and a client
certificate (CN = TID) from the TMS's CA. No person sees a key."""

from __future__ import annotations

import base64
import secrets

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import select
from sqlalchemy.orm import Session

from steadypos.tms import audit, security
from steadypos.tms.actors import Actor
from steadypos.tms.context import TmsContext
from steadypos.tms.errors import Conflict, Forbidden, Invalid
from steadypos.tms.models import FleetTerminal, TerminalState, utcnow
from steadypos.tms.schemas.activation import Activated, ActivateIn
from steadypos.tms.services.auth import issue_terminal

MIN_RSA_BITS = 2048
_NO_MATCH = "serial and activation code do not match"


def _public_key(pem: str) -> rsa.RSAPublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        raise Invalid("public_key", "not a PEM public key") from None
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_RSA_BITS:
        raise Invalid("public_key", f"must be an RSA key of at least {MIN_RSA_BITS} bits")
    return key


def _csr(pem: str) -> None:
    """Checked before anything is written (the CA checks it again when it signs). Its key is the
    device's TLS identity, a key of its own: public_key only carries the TMK here."""
    try:
        csr = x509.load_pem_x509_csr(pem.encode())
    except ValueError:
        raise Invalid("csr", "not a PEM certificate signing request") from None
    if not csr.is_signature_valid:
        raise Invalid("csr", "its signature does not verify")


def _claim(db: Session, data: ActivateIn) -> FleetTerminal:
    """The shipped terminal this serial and code belong to: 403 when they do not match, 409
    when the code was already used."""
    code = security.normalise_code(data.activation_code)
    rows = db.scalars(select(FleetTerminal).where(FleetTerminal.serial == data.serial,
                                             FleetTerminal.code_hash.is_not(None)))
    term = next((t for t in rows if security.verify_secret(t.code_hash, code)), None)
    if term is None:
        security.verify_secret(None, code)  # the same time as a real check
        raise Forbidden(_NO_MATCH)
    if term.status in (TerminalState.ACTIVE, TerminalState.LOCKED):
        raise Conflict("this activation code was already used")
    if term.status != TerminalState.SHIPPED:
        raise Forbidden(_NO_MATCH)
    if term.code_expires_at is not None and term.code_expires_at <= utcnow():
        raise Forbidden("this activation code has expired; ops can ship the terminal again")
    return term


def activate(db: Session, ctx: TmsContext, data: ActivateIn) -> Activated:
    """Three writes on two connections, ordered so that a crash between any two leaves nothing
    harmful and the device's retry (same serial and code) finishes the job:
    1. TMS: the TMK, sealed under the host's LMK, is kept as the terminal's pending key (the
       code is still unused). A crash here: the host knows nothing; the retry reuses the key.
    2. Host: TID, MID, TMK and MAC algorithm through the host's registry. A crash here: the host
       knows a terminal whose TMK nobody outside holds (no sign-in can succeed), the TMS still
       says `shipped`; the retry finds the pending key, sees the host has the terminal, and goes
       on with the same TMK.
    3. TMS: `active`, code used, pending key dropped, terminal token, audit entry, in one
       transaction. Only then does the device get its answer."""
    term = _claim(db, data)
    key = _public_key(data.public_key)
    _csr(data.csr)
    if term.pending_tmk is None:
        term.pending_tmk = ctx.host.seal(secrets.token_bytes(16))
    tid, sealed = term.tid, term.pending_tmk
    db.commit()  # write 1
    tmk = ctx.host.unseal(sealed)
    if ctx.host.info(tid) is None:
        ctx.host.register(tid, term.mid, tmk, term.mac_algorithm)  # write 2
    certificate = ctx.ca.issue(data.csr, tid)
    term = db.get(FleetTerminal, tid, populate_existing=True)  # type: ignore[assignment]
    if term is None or term.status != TerminalState.SHIPPED or term.pending_tmk != sealed:
        raise Conflict("this activation code was already used")
    term.status, term.activated_at, term.pending_tmk = TerminalState.ACTIVE, utcnow(), None
    token = issue_terminal(db, tid)
    device = Actor(f"terminal:{tid}", "terminal", tid=tid)
    audit.record(db, device.name, "terminal.activate", "terminal", tid,
                 {"status": TerminalState.SHIPPED}, {"status": TerminalState.ACTIVE,
                                                     "serial": term.serial}, mid=term.mid)
    wrapped = key.encrypt(tmk, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                                            algorithm=hashes.SHA256(), label=None))
    s = ctx.settings
    answer = Activated(tid=tid, mid=term.mid, mac_algorithm=term.mac_algorithm,
                       host=s.link_host, port=s.link_port, tls_port=s.tls_port, tpdu=s.tpdu,
                       tmk_wrapped=base64.b64encode(wrapped).decode(), certificate=certificate,
                       ca_certificate=ctx.ca.cert_pem, terminal_token=token, params_version=0,
                       release_public_key=ctx.release_key.public_pem)
    db.commit()  # write 3
    return answer
