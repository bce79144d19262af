"""Sale, void, refund, balance and reversal: the card and money rules of §3, §5 and §7."""

from __future__ import annotations

from dataclasses import dataclass

from steadypos.clock import TWO_DIGITS
from steadypos.host.canonical import pairs_text
from steadypos.host.context import Reply, Request
from steadypos.host.ledger import merchant_account, transfer
from steadypos.host.records import CardRow, TxnRow
from steadypos.host.secrets import HostSecrets
from steadypos.host.session import rrn
from steadypos.host.store import Store
from steadypos.protocol import emv
from steadypos.protocol.codec import Message
from steadypos.protocol.codes import ORIGINAL_STANDS, ResponseCode
from steadypos.protocol.crypto import decipher_pin
from steadypos.protocol.fields import Field61, format_balance
from steadypos.protocol.messages import REVERSIBLE_BY_60_1
from steadypos.protocol.mti import Mti

MAX_PIN_TRIES = 3
CARD_ORG = "CUP"
ISSUER_ACQUIRER = "0102000000 48020000"


@dataclass
class Payer:
    """Whoever pays: a card or a one-time QR code's wallet."""

    ref: str  # pan_ref or code_ref
    account: str
    card: CardRow | None = None
    qr_code: str | None = None


def _track2_pan(track2: str) -> str:
    return track2.split("D", 1)[0]


def _track2_expiry(track2: str) -> str:
    parts = track2.split("D", 1)
    return parts[1][:4] if len(parts) == 2 else ""


def _card_problem(secrets: HostSecrets, msg: Message, card: CardRow,
                  today: str) -> ResponseCode | None:
    """54 when the card is expired or any expiry the request gives differs from the card's;
    14 when a swiped track 2 is not the card's (the issuer's check of the whole track)."""
    given = {e for e in (msg.get(14), _track2_expiry(msg.get(35))) if e}
    if card.status == "expired" or card.expiry < today or given - {card.expiry}:
        return ResponseCode.EXPIRED_CARD
    swiped = msg.get(22)[:2] == "02" and 35 in msg
    if swiped and card.track_verifier and \
            secrets.track_verifier(msg.get(35)) != card.track_verifier:
        return ResponseCode.INVALID_CARD
    return None


def _payer(store: Store, secrets: HostSecrets, req: Request, pays: bool = False) -> Payer | Reply:
    """Identify who pays and check the card is usable (14, 54, 75); `pays`: a sale, whose
    card's account is locked by the read (PostgreSQL), not an inquiry."""
    msg = req.msg
    pan = msg.get(2)
    if msg.get(22)[:2] == "03":
        ref = secrets.code_ref(pan)
        code = store.qr(ref)
        if code is None or code.used:
            return Reply(ResponseCode.INVALID_CARD)
        return Payer(ref, code.account, qr_code=ref)
    if 35 in msg and _track2_pan(msg.get(35)) != pan:
        return Reply(ResponseCode.INVALID_CARD)
    card = store.card(secrets.pan_ref(pan), pays=pays)
    if card is None or card.status == "blocked":
        return Reply(ResponseCode.INVALID_CARD)
    if card.status == "locked":
        return Reply(ResponseCode.PIN_TRIES_EXCEEDED)
    today = TWO_DIGITS[req.now.year % 100] + TWO_DIGITS[req.now.month]  # YYMM
    bad = _card_problem(secrets, msg, card, today)
    if bad:
        return Reply(bad)
    return Payer(card.pan_ref, card.account, card=card)


def _check_pin(store: Store, secrets: HostSecrets, req: Request,
               card: CardRow) -> ResponseCode | None:
    """None when no PIN was entered or it is right; else 55, 75 (third wrong in a row) or 99."""
    if req.msg.get(22)[2:3] != "1":
        return None
    assert req.keys is not None
    pan = req.msg.get(2)
    try:
        pin = decipher_pin(req.keys.pik, bytes.fromhex(req.msg.get(52)), pan)
    except ValueError:
        return ResponseCode.PIN_BLOCK_ERROR
    if secrets.pin_verifier(pan, pin) == card.pin_verifier:
        if card.pin_tries:
            store.set_pin_tries(card.id, 0, card.status)
        return None
    tries = card.pin_tries + 1
    locked = tries >= MAX_PIN_TRIES
    store.set_pin_tries(card.id, tries, "locked" if locked else card.status)
    return ResponseCode.PIN_TRIES_EXCEEDED if locked else ResponseCode.WRONG_PIN


def _check_chip(secrets: HostSecrets, req: Request,
                card: CardRow) -> tuple[ResponseCode | None, str]:
    """(decline code or None, F55 of the response) for chip and contactless entry."""
    if 55 not in req.msg:
        return None, ""
    try:
        tags = emv.parse_icc(bytes.fromhex(req.msg.get(55)))
    except emv.EmvError:
        return ResponseCode.FORMAT_ERROR, ""
    good, arpc = emv.issuer_check(secrets.issuer_mk, req.msg.get(2), card.psn, tags, req.amount)
    return (None if good else ResponseCode.DO_NOT_HONOUR), arpc.hex().upper()


def _approval(store: Store, req: Request) -> dict[int, str]:
    ref = rrn(store)
    return {
        15: TWO_DIGITS[req.now.month] + TWO_DIGITS[req.now.day],
        32: "48020000",
        37: ref,
        38: str(int(ref) * 7919 % 1_000_000).zfill(6),  # {:06d}'s text, at half its cost
        44: ISSUER_ACQUIRER,
        63: CARD_ORG,
    }


def _ref(req: Request) -> str:
    return f"{req.terminal.tid}/{str(req.f60.batch).zfill(6)}/{str(req.stan).zfill(6)}"


def sale(store: Store, secrets: HostSecrets, req: Request) -> Reply:
    amount = req.amount
    if amount <= 0:
        return Reply(ResponseCode.INVALID_AMOUNT)
    payer = _payer(store, secrets, req, pays=True)
    if isinstance(payer, Reply):
        return payer
    def decline(rc: ResponseCode, fields: dict[int, str] | None = None) -> Reply:
        return Reply(rc, fields or {}, pan_ref=payer.ref, account=payer.account)

    if amount > req.terminal.txn_limit:
        return decline(ResponseCode.OVER_LIMIT)
    icc = ""
    if payer.card is not None:
        bad_pin = _check_pin(store, secrets, req, payer.card)
        if bad_pin:
            return decline(bad_pin)
        bad_chip, icc = _check_chip(secrets, req, payer.card)
        if bad_chip:
            return decline(bad_chip, {55: icc} if icc else None)
    if store.balance(payer.account, for_update=True) < amount:
        return decline(ResponseCode.INSUFFICIENT_FUNDS)
    if payer.qr_code is not None:
        store.use_qr(payer.qr_code)
    store.ensure_account(merchant_account(req.terminal.mid), "merchant")
    transfer(store, "sale", _ref(req), payer.account, merchant_account(req.terminal.mid), amount)
    fields = _approval(store, req)
    if icc:
        fields[55] = icc
    return Reply(ResponseCode.APPROVED, fields, pan_ref=payer.ref, account=payer.account)


def _original_sale(store: Store, req: Request, f61: Field61) -> TxnRow | None:
    orig = store.txn(req.terminal.tid, f61.batch, f61.stan, Mti.FINANCIAL)
    if orig is None or orig.kind != "sale":
        return None
    return orig


def _ref_of(secrets: HostSecrets, req: Request) -> str:
    pan = req.msg.get(2)
    return secrets.code_ref(pan) if req.msg.get(22)[:2] == "03" else secrets.pan_ref(pan)


def _names_original(orig: TxnRow, req: Request, f61: Field61) -> bool:
    """A void's or refund's 37, 38 (void) and F61 date, when given, are the original's (§7)."""
    if orig.rrn != req.msg.get(37):
        return False
    if req.mt.name == "void" and req.msg.get(38) != orig.auth_code:
        return False
    return not f61.date or f61.date == orig.response.get("13")


def void(store: Store, secrets: HostSecrets, req: Request) -> Reply:
    f61 = Field61.parse(req.msg.get(61))
    orig = _original_sale(store, req, f61)
    if orig is None or orig.state != "approved" or f61.batch != req.terminal.batch:
        return Reply(ResponseCode.ORIGINAL_NOT_FOUND)
    if (orig.pan_ref != _ref_of(secrets, req) or orig.amount != req.amount
            or not _names_original(orig, req, f61) or orig.refunded):
        return Reply(ResponseCode.NOT_ORIGINAL)
    assert orig.account is not None
    transfer(store, "void", _ref(req), merchant_account(req.terminal.mid), orig.account,
             orig.amount)
    orig.state = "voided"
    store.update_txn(orig)
    return Reply(ResponseCode.APPROVED, _approval(store, req), pan_ref=orig.pan_ref,
                   account=orig.account, orig_id=orig.id)


def refund(store: Store, secrets: HostSecrets, req: Request) -> Reply:
    f61 = Field61.parse(req.msg.get(61))
    orig = _original_sale(store, req, f61)
    if orig is None or orig.state != "approved":
        return Reply(ResponseCode.ORIGINAL_NOT_FOUND)
    if orig.pan_ref != _ref_of(secrets, req) or not _names_original(orig, req, f61):
        return Reply(ResponseCode.NOT_ORIGINAL)
    if req.amount <= 0 or orig.refunded + req.amount > orig.amount:
        return Reply(ResponseCode.INVALID_AMOUNT)
    assert orig.account is not None
    transfer(store, "refund", _ref(req), merchant_account(req.terminal.mid), orig.account,
             req.amount)
    orig.refunded += req.amount
    store.update_txn(orig)
    return Reply(ResponseCode.APPROVED, _approval(store, req), pan_ref=orig.pan_ref,
                   account=orig.account, orig_id=orig.id)


def balance(store: Store, secrets: HostSecrets, req: Request) -> Reply:
    payer = _payer(store, secrets, req)
    if isinstance(payer, Reply):
        return payer
    if payer.card is None:
        return Reply(ResponseCode.INVALID_TRANSACTION)
    bad_pin = _check_pin(store, secrets, req, payer.card)
    if bad_pin:
        return Reply(bad_pin)
    return Reply(ResponseCode.APPROVED,
                   {37: rrn(store), 54: format_balance(store.balance(payer.account))})


# The fields of its original that a reversal must repeat exactly (§7, 1.1); F22 compared whole.
REPEATED_FIELDS = (2, 3, 4, 14, 22, 41, 42, 49)


def fingerprint(secrets: HostSecrets, msg: Message, pin_digit: str | None = None) -> str:
    """Keyed digest of a reversible request's repeated fields and 60.2 (absent ones count as
    absent), kept with its row so that a reversal can be compared without storing the PAN."""
    parts = {n: msg.fields.get(n) for n in REPEATED_FIELDS}
    if pin_digit is not None and parts[22]:
        parts[22] = parts[22][:2] + pin_digit
    parts[60] = msg.get(60)[2:8]
    return secrets.fingerprint(pairs_text(sorted(parts.items())))  # json's text, kept


def _repeats_original(secrets: HostSecrets, req: Request, orig: TxnRow) -> bool:
    """Whether the reversal repeats its original (§7). No PIN travels in a reversal, so its F22
    may say "no PIN" (2) where the original said "PIN entered" (1)."""
    if REVERSIBLE_BY_60_1.get(req.f60.type) is None or \
            REVERSIBLE_BY_60_1[req.f60.type].name != orig.kind:
        return False
    if not orig.fingerprint:  # answered by a 1.0 host, before fingerprints were kept
        return orig.amount == req.amount
    digits = ("2", "1") if req.msg.get(22)[2:3] == "2" else (None,)
    return any(fingerprint(secrets, req.msg, d) == orig.fingerprint for d in digits)


def reversal(store: Store, secrets: HostSecrets, req: Request) -> Reply:
    """Undo an original by TID + batch + STAN; unknown originals leave a tombstone (§7). An
    approved original in a settled batch stands (12): a settled batch's totals never change."""
    tid, batch, stan = req.terminal.tid, req.f60.batch, req.stan
    orig = store.txn(tid, batch, stan, Mti.FINANCIAL)
    if orig is None:
        store.insert_txn(TxnRow(tid=tid, batch=batch, stan=stan, mti=Mti.FINANCIAL,
                                kind="tombstone", content_hash=None, amount=req.amount, rc="",
                                state="tombstone"))
        return Reply(ResponseCode.APPROVED, {37: rrn(store)})
    if orig.kind == "tombstone":
        return Reply(ResponseCode.APPROVED, {37: rrn(store)})
    if orig.amount != req.amount or not _repeats_original(secrets, req, orig):
        return Reply(ResponseCode.NOT_ORIGINAL)
    if orig.state == "approved" and (store.settled(tid, batch) or orig.refunded):
        # Its batch is closed, or refunds (counted in their own batches) were made against it:
        # undoing it would break the totals. The original's RRN lets the terminal refund it.
        return Reply(ORIGINAL_STANDS, {37: orig.rrn})
    fields = {37: orig.rrn or rrn(store)}
    if orig.state == "approved" and orig.account is not None:
        merchant = merchant_account(req.terminal.mid)
        if orig.kind == "sale":
            transfer(store, "reversal", _ref(req), merchant, orig.account, orig.amount)
        elif orig.kind == "void":
            # Undoing a void charges the sale again, unless the sale itself was reversed since.
            sale_row = store.txn_by_id(orig.orig_id) if orig.orig_id else None
            if sale_row is not None and sale_row.state == "voided":
                transfer(store, "reversal", _ref(req), orig.account, merchant, orig.amount)
                sale_row.state = "approved"
                store.update_txn(sale_row)
        orig.state = "reversed"
        store.update_txn(orig)
    elif orig.state == "voided":
        orig.state = "reversed"  # the void already gave the money back
        store.update_txn(orig)
    return Reply(ResponseCode.APPROVED, fields, pan_ref=orig.pan_ref, account=orig.account,
                   orig_id=orig.id)
