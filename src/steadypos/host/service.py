"""The host's front desk: checks every request in the order §4, §5 and §7 give (terminal, sign-in,
MAC, format, idempotency, batch), hands it to its handler, and builds the response."""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import cast

from steadypos import logs
from steadypos.clock import TWO_DIGITS
from steadypos.host import financial, session, settlement
from steadypos.host.canonical import content_text
from steadypos.host.context import Reply, Request
from steadypos.host.keyring import KeyRing
from steadypos.host.records import RowLock, TerminalRow, TxnRow
from steadypos.host.registry import TerminalStatus
from steadypos.host.secrets import CONTENT_REF_PREFIX, HostSecrets
from steadypos.host.store import Store
from steadypos.host.training import TrainingStore
from steadypos.masking import mask_pan
from steadypos.protocol import mac, strict
from steadypos.protocol.codec import Message
from steadypos.protocol.codes import SIGN_IN_AGAIN, ResponseCode
from steadypos.protocol.crypto import WorkingKeys
from steadypos.protocol.errors import ProtocolError
from steadypos.protocol.fields import Field60
from steadypos.protocol.frame import (
    PROC_NEW_PARAMS,
    PROC_NONE,
    PROC_SIGN_IN,
    TERMINAL_STATE_TRAINING,
)
from steadypos.protocol.mac import MacAlgorithm
from steadypos.protocol.messages import MessageName, MessageType, classify, missing_or_extra
from steadypos.protocol.mti import Mti, is_request, response_mti

log = logging.getLogger("steadypos.host")

Handler = Callable[[Store, HostSecrets, Request], Reply]

_N = MessageName
HANDLERS: dict[MessageName, Handler] = {
    _N.SIGN_IN: session.sign_in,
    _N.SIGN_OUT: session.sign_out,
    _N.ECHO: session.echo,
    _N.BALANCE: financial.balance,
    _N.SALE: financial.sale,
    _N.VOID: financial.void,
    _N.REFUND: financial.refund,
    _N.REVERSAL: financial.reversal,
    _N.SETTLE: settlement.settle,
    _N.BATCH_UPLOAD: settlement.batch_upload,
    _N.BATCH_UPLOAD_END: settlement.batch_upload_end,
}
# Answered fresh every time: sign-in must issue new keys, echo carries no state.
NOT_IDEMPOTENT = frozenset({_N.SIGN_IN, _N.ECHO})
NO_SIGN_IN_NEEDED = frozenset({_N.SIGN_IN, _N.ECHO})
# Stamped with the open batch or answered 77, moving nothing (§7, 1.1).
OPEN_BATCH_ONLY = frozenset({_N.SALE, _N.VOID, _N.REFUND})
# Left out of the content that decides "same request": they legitimately change when a terminal
# signs in again between two transmissions.
VOLATILE_FIELDS = frozenset({52, 64})
# A reversal's reason and the auth code it carries tell what the terminal knew, not what is
# undone: a second reversal of the same original answers 00 again whatever they say (§7).
VOLATILE_BY_MTI: dict[str, frozenset[int]] = {
    Mti.REVERSAL: VOLATILE_FIELDS | frozenset({38, 39})}

# What a response to a message outside the profile carries.
REFUSAL_FIELDS = frozenset({11, 39, 41, 42, 60})


def _is_request(msg: Message, mt: MessageType | None) -> bool:
    """A message of the profile, or at least shaped as a request (MTI x0x0 or x2x0)."""
    return mt is not None or is_request(msg.mti)


class Withheld:
    """An answer kept back on purpose (the conformance mode): the server sends nothing and
    keeps the connection open, as a host whose answer got lost would."""

    def __repr__(self) -> str:
        return "WITHHELD"


WITHHELD = Withheld()


def stable_content(msg: Message) -> str:
    """[MTI, {field: value}] without the volatile fields, as sorted JSON (what content_hash
    digests: canonical.content_text keeps json's text)."""
    return content_text(msg.mti, msg.fields,
                        VOLATILE_BY_MTI.get(msg.mti, VOLATILE_FIELDS))


def same_content(secrets: HostSecrets, stored: str | None, msg: Message) -> bool:
    content = stable_content(msg)
    if stored is not None and not stored.startswith(CONTENT_REF_PREFIX):
        return stored == hashlib.sha256(content.encode()).hexdigest()  # a 1.0 row
    return stored == secrets.content_ref(content)


class HostService:
    """Turns one decoded request into one response. Runs inside the caller's transaction."""

    def __init__(self, store: Store, secrets: HostSecrets,
                 clock: Callable[[], datetime] = datetime.now) -> None:
        self.store = store
        self.secrets = secrets
        self.clock = clock
        self.keyring = KeyRing(store, secrets, clock)

    def keys_of(self, tid: str) -> WorkingKeys | None:
        """The terminal's keys in force (None: unknown, or no set in force)."""
        term = self.store.terminal(tid)
        return None if term is None else self.keyring.in_force(term)

    def mac_verdict(self, msg: Message) -> tuple[bool | None, MacAlgorithm | None]:
        """For the conformance checks, without changing anything: whether the request's MAC
        verifies under a set its terminal may use (None: no such set, so nobody can tell), and
        the terminal's registered algorithm."""
        term = self.store.terminal(msg.get(41))
        if term is None:
            return None, None
        if not self.keyring.candidates(term):
            return None, term.mac
        return self.keyring.matching(term, msg) is not None, term.mac

    # -- entry point --------------------------------------------------------------------
    def handle(self, msg: Message) -> Message | None:
        """The response to send, or None when the request cannot be answered (close)."""
        mt = classify(msg)
        if not _is_request(msg, mt):
            return None
        # Several host processes: the terminal's requests run one at a time (keys, batch, its
        # originals), whichever process each reaches.
        term = self.store.terminal(msg.get(41), RowLock.UPDATE)
        refuse = functools.partial(self._refuse, term=term)
        if term is None or term.mid != msg.get(42) or term.status != TerminalStatus.ACTIVE:
            return refuse(msg, mt, ResponseCode.INVALID_MERCHANT, None,
                                "unknown, locked or retired terminal, or TID/MID mismatch")
        alg = term.mac
        if (mt is None or mt.name not in NO_SIGN_IN_NEEDED) and not self.keyring.has_keys(term):
            return refuse(msg, mt, ResponseCode.NOT_SIGNED_IN, None, "not signed in")
        keys = None
        if mac.needs_mac(msg):
            keys = self.keyring.verify(term, msg)
            if keys is None:
                return refuse(msg, mt, ResponseCode.MAC_ERROR, None,
                                    f"MAC missing or wrong ({alg.value})")
        if mt is None:
            return refuse(msg, None, ResponseCode.FORMAT_ERROR, keys,
                                "no such message in the profile", alg)
        problem = self._format_problem(msg, mt)
        try:
            f60 = Field60.parse(msg.get(60))
        except ProtocolError as exc:
            problem = problem or str(exc)
        if problem:
            return refuse(msg, mt, ResponseCode.FORMAT_ERROR, keys, problem, alg)
        req = Request(msg, mt, term, keys, f60, self.clock(), self.keyring)
        store = self._store_for(msg)
        if mt.name not in NOT_IDEMPOTENT:
            seen = store.txn(term.tid, f60.batch, req.stan, msg.mti)
            if seen is not None:
                return self._repeat(req, seen)
        if mt.name in OPEN_BATCH_ONLY and f60.batch != term.batch:
            return refuse(msg, mt, ResponseCode.BATCH_MISMATCH, keys,
                                f"batch {f60.batch:06d} is not the open batch {term.batch:06d}",
                                alg)
        out = HANDLERS[mt.name](store, self.secrets, req)
        resp = self._answer(msg, mt, out.rc, out.fields, keys, alg, req.now, term)
        if mt.name not in NOT_IDEMPOTENT:
            self._remember(store, req, resp, out)
        self._log(req, out.rc, "training" if store is not self.store else "")
        return resp

    def _store_for(self, msg: Message) -> Store:
        """The store, or for a training request (header terminal state 1) its sandbox."""
        if msg.header.state == TERMINAL_STATE_TRAINING:
            return cast(Store, TrainingStore(self.store))
        return self.store

    # -- checks and answers ---------------------------------------------------------------
    def _refuse(self, msg: Message, mt: MessageType | None, rc: str, keys: WorkingKeys | None,
                why: str, alg: MacAlgorithm = mac.DEFAULT_MAC,
                term: TerminalRow | None = None) -> Message:
        """An answer before any handler ran: logged (so MAC failures leave a trace), not kept."""
        logs.info(log, "%s %s stan=%s refused rc=%s: %s", msg.get(41) or "-",
                 mt.name if mt else msg.mti, msg.get(11) or "-", rc, why)
        return self._answer(msg, mt, rc, {}, keys, alg, term=term)

    @staticmethod
    def _format_problem(msg: Message, mt: MessageType) -> str | None:
        missing, extra = missing_or_extra(msg, mt)
        if missing:
            return f"{mt.name} lacks field(s) {sorted(missing)}"
        if extra:
            return f"{mt.name} must not carry field(s) {sorted(extra)}"
        return strict.problem(msg, mt)

    def _answer(self, req: Message, mt: MessageType | None, rc: str, extra: dict[int, str],
                keys: WorkingKeys | None, alg: MacAlgorithm = mac.DEFAULT_MAC,
                now: datetime | None = None, term: TerminalRow | None = None) -> Message:
        """The response; `term`: the request's terminal as read with its lock (whose row says
        whether the TMS has parameters waiting), else that is read now."""
        now = now or self.clock()
        allowed = mt.response if mt else REFUSAL_FIELDS
        fields = {n: v for n, v in req.fields.items() if n in allowed and n != 64}
        two = TWO_DIGITS  # strftime's %H%M%S and %m%d, faster
        fields[12] = two[now.hour] + two[now.minute] + two[now.second]
        fields[13] = two[now.month] + two[now.day]
        fields.update(extra)
        fields[39] = rc
        for n in (12, 13, 39, *extra):  # the fields set here (those copied from the request
            # were filtered to `allowed` above)
            if n not in allowed:
                fields.pop(n, None)
        mti = response_mti(req.mti)
        proc = PROC_SIGN_IN if rc in SIGN_IN_AGAIN else PROC_NONE
        waiting = term.params_waiting if term is not None else \
            self.store.params_waiting(req.get(41) or "")
        if proc == PROC_NONE and waiting:
            proc = PROC_NEW_PARAMS  # the TMS has newer parameters for this terminal
        resp = Message(mti, fields, req.tpdu.swapped(), req.header.with_proc(proc))
        if keys is None:
            return resp  # unsigned: no MAC here, or a format error from a terminal without keys
        return mac.seal(resp, keys.mak, alg)  # resp is ours: signed (if MAC'd) without a copy

    def _repeat(self, req: Request, seen: TxnRow) -> Message:
        alg = req.terminal.mac
        if seen.state == "tombstone":
            # The original arrives after its reversal: decline and move nothing (§7).
            rc = ResponseCode.ORIGINAL_NOT_FOUND
            self._log(req, rc, "late original after reversal")
            return self._answer(req.msg, req.mt, rc, {}, req.keys, alg, req.now,
                                req.terminal)
        if not same_content(self.secrets, seen.content_hash, req.msg):
            self._log(req, ResponseCode.DUPLICATE, "same key, other content")
            return self._answer(req.msg, req.mt, ResponseCode.DUPLICATE, {}, req.keys, alg,
                                req.now, req.terminal)
        # The stored part is what the host added; the rest is copied again from the request,
        # which has the same content: the answer is rebuilt, never kept whole (1.1, at rest).
        stored = {int(k): v for k, v in seen.response.items()}
        self._log(req, seen.rc, "repeat: stored response")
        return self._answer(req.msg, req.mt, seen.rc, stored, req.keys, alg, req.now,
                            req.terminal)

    def _remember(self, store: Store, req: Request, resp: Message, out: Reply) -> None:
        sent = req.msg.fields
        added = {str(n): v for n, v in resp.fields.items() if n != 64 and sent.get(n) != v}
        row = TxnRow(
            tid=req.terminal.tid, batch=req.f60.batch, stan=req.stan, mti=req.msg.mti,
            kind=req.mt.name, content_hash=self.secrets.content_ref(stable_content(req.msg)),
            amount=req.amount, rc=out.rc, rrn=resp.get(37), auth_code=resp.get(38),
            response=added, state="approved" if out.rc == ResponseCode.APPROVED else "declined",
            pan_ref=out.pan_ref, account=out.account, orig_id=out.orig_id,
            fingerprint=financial.fingerprint(self.secrets, req.msg) if req.mt.reversible else "",
        )
        store.insert_txn(row)

    def _log(self, req: Request, rc: str, note: str = "") -> None:
        pan = req.msg.get(2)
        logs.info(log, "%s %s stan=%06d batch=%06d pan=%s amount=%d rc=%s %s", req.terminal.tid,
                 req.mt.name, req.stan, req.f60.batch, mask_pan(pan) if pan else "-",
                 req.amount, rc, note)

    def refuse(self, msg: Message, rc: str, why: str) -> Message | None:
        """`rc` for a request that the transport already rejected (a TLS listener's TID check,
        §8), built and logged as handle() builds its refusals; nothing is kept or moved. None
        (close) for what is not a request at all."""
        mt = classify(msg)
        return self._refuse(msg, mt, rc, None, why) if _is_request(msg, mt) else None

    def handle_alone(self, msg: Message, commit: bool = True) -> Message | None:
        """handle() in a transaction of its own, as the group writer runs a group of one: a
        request whose processing fails is rolled back and answered 96. `commit=False` rolls
        back what it did and answers nothing (a host killed before its commit)."""
        self.store.begin()
        try:
            resp = self.handle(msg)
        except Exception:
            log.exception("request failed; answered 96, nothing kept")
            self.store.rollback()
            return self.system_error(msg)
        if not commit:
            self.store.rollback()
            return None
        self.store.commit()
        return resp

    def system_error(self, msg: Message) -> Message:
        """96 for a request whose processing failed; nothing of it was kept."""
        mt = classify(msg)
        term = self.store.terminal(msg.get(41)) if msg.get(41) else None
        found = self.keyring.matching(term, msg) if term is not None else None
        alg = term.mac if term is not None else mac.DEFAULT_MAC
        return self._answer(msg, mt, ResponseCode.SYSTEM_ERROR, {}, found[1] if found else None,
                            alg, term=term)
