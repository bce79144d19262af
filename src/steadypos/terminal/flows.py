"""The operator's commands, each a journaled flow on top of recovery: sale (swipe, chip or QR),
void, refund, balance inquiry and settlement. `Terminal` is the whole terminal."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steadypos.masking import mask_pan
from steadypos.protocol import builders
from steadypos.protocol.builders import Card
from steadypos.protocol.codec import Message
from steadypos.protocol.fields import ENTRY_METHODS
from steadypos.terminal.devices import CardReader, ChipCard, DeviceError, Faults, PinPad, UsageError
from steadypos.terminal.journal import Kind, State, Txn
from steadypos.terminal.observer import (
    PIN_TIMEOUT_S,
    AmountShown,
    CardShown,
    Prompt,
    PromptShown,
    Screen,
)
from steadypos.terminal.outcome import Outcome, Result
from steadypos.terminal.recovery import Recovery
from steadypos.terminal.steps import Step
from steadypos.terminal.texts import text


@dataclass
class CardInput:
    """What the operator gave for the card: exactly one of track 2, chip card file or QR code."""

    track2: str | None = None
    card_file: Path | None = None
    qr: str | None = None

    def check(self, pin: str | None) -> None:
        """Reject what cannot be a card (or a PIN for it) before anything is written."""
        given = [x for x in (self.track2, self.card_file, self.qr) if x is not None]
        if len(given) != 1:
            raise UsageError("give exactly one of --track2, --card-file, --qr")
        reader = CardReader(Faults({}))
        if self.track2 is not None:
            reader.swipe(self.track2)
        elif self.qr is not None:
            reader.scan(self.qr)
            if pin is not None:
                raise UsageError("a QR payment takes no PIN")
        elif self.card_file is not None:
            ChipCard.load(self.card_file)

    @property
    def method(self) -> str:
        """How the card is read: swipe, qr or chip."""
        return "swipe" if self.track2 is not None else "qr" if self.qr is not None else "chip"

    def read(self, reader: CardReader, amount: int) -> Card:
        """Read the card (a chip runs GENERATE AC for `amount`)."""
        if self.track2 is not None:
            return reader.swipe(self.track2)
        if self.qr is not None:
            return reader.scan(self.qr)
        assert self.card_file is not None
        return reader.insert(self.card_file, amount)


class Terminal(Recovery):
    """The payment terminal: open it (it recovers), run the operator's commands, close it."""

    # -- what the screen shows on the way -------------------------------------------------
    def _amount(self, kind: Kind, amount: int) -> None:
        self.show(Screen.AMOUNT)
        self.observer.notify(AmountShown(kind, amount))

    def _card_prompt(self, amount: int) -> None:
        self.show(Screen.CARD)
        self.observer.notify(PromptShown(Prompt.CARD, text("terminal.prompt.card",
                                                           amount=amount)))

    def _pin_prompt(self) -> None:
        self.show(Screen.PIN)
        self.observer.notify(PromptShown(Prompt.PIN, text("terminal.prompt.pin",
                                                          seconds=int(PIN_TIMEOUT_S)),
                                         PIN_TIMEOUT_S))

    def _card_read(self, txn: Txn, method: str, pan_masked: str, **columns: Any) -> None:
        """Journal the card (`columns`: its sealed PAN and expiry) and show it masked."""
        self.journal.step(txn, Step.CARD_READ, method=method, pan_masked=pan_masked, **columns)
        entry = ENTRY_METHODS.get(method)
        self.observer.notify(CardShown(entry.name if entry else method, pan_masked))

    def _read_card(self, card: CardInput, amount: int) -> Card:
        try:
            got = card.read(CardReader(self.faults), amount)
        except DeviceError as exc:
            self.events.emit("card", method=card.method, ok=False, error=exc.code)
            raise
        self.events.emit("card", method=card.method, ok=True, error=None)
        return got

    # -- the commands ---------------------------------------------------------------------
    def sale(self, amount: int, card: CardInput, pin: str | None = None) -> Outcome:
        return self.report(Kind.SALE, amount, self._sale(amount, card, pin))

    def _sale(self, amount: int, card: CardInput, pin: str | None) -> Outcome:
        card.check(pin)
        PinPad(Faults({})).enter(pin)
        # The amount is keyed before the terminal goes online: a sale the gate stops (refused
        # sign-in, a reversal it cannot send) is a flow that vanished without a result.
        self._amount(Kind.SALE, amount)
        with self.events.inside(Screen.AMOUNT.value):
            gate = self.gate()
        if gate is not None:
            self.show(Screen.IDLE)
            return gate
        txn = self.journal.start(Kind.SALE, amount, self.batch)
        self.after(Step.FLOW_STARTED)
        self._card_prompt(amount)
        try:
            got = self._read_card(card, amount)
        except DeviceError as exc:
            return self.abort(txn, text("terminal.result.card_failed", fault=exc.code))
        self._card_read(txn, got.method, mask_pan(got.pan), pan_sealed=self.keys.seal(got.pan),
                        expiry=got.expiry)
        self.after(Step.CARD_READ)
        entered = None
        if pin is not None:
            self._pin_prompt()
            try:
                entered = PinPad(self.faults).enter(pin)
            except DeviceError as exc:
                self.events.emit("pin", outcome=exc.code)
                return self.abort(txn, text("terminal.result.pin_failed", fault=exc.code))
            self.events.emit("pin", outcome="entered")
            self.journal.step(txn, Step.PIN_CAPTURED, "PIN entered (flag only)")
            self.after(Step.PIN_CAPTURED)
        return self.online(txn, lambda: self.sign(builders.sale(
            self.station, txn.stan, txn.batch, amount, got, entered,
            self.keys.working.pik if self.keys.working else None)))

    def void(self, stan: int) -> Outcome:
        out = self._void(stan)
        orig = self.journal.find(stan, self.batch, Kind.SALE)
        return self.report(Kind.VOID, orig.amount if orig is not None else 0, out)

    def _void(self, stan: int) -> Outcome:
        gate = self.gate()
        if gate is not None:
            return gate
        orig = self.journal.find(stan, self.batch, Kind.SALE)
        if orig is None or orig.state != State.APPROVED:
            return Outcome.told(Result.DECLINED, text("terminal.result.no_sale",
                                                      stan=f"{stan:06d}"),
                                stan=stan, batch=self.batch)
        self._amount(Kind.VOID, orig.amount)
        txn = self.journal.start(Kind.VOID, orig.amount, self.batch, orig.stan, orig.batch)
        self.after(Step.FLOW_STARTED)
        self._card_read(txn, orig.method, orig.pan_masked, pan_sealed=orig.pan_sealed,
                        expiry=orig.expiry)
        self.after(Step.CARD_READ)
        return self.online(txn, lambda: self.sign(builders.void(
            self.station, txn.stan, txn.batch, orig.amount, self.card_of(orig), orig.stan,
            orig.batch, orig.rrn, orig.auth_code)), orig=orig)

    def refund(self, stan: int, amount: int) -> Outcome:
        return self.report(Kind.REFUND, amount, self._refund(stan, amount))

    def _refund(self, stan: int, amount: int) -> Outcome:
        gate = self.gate()
        if gate is not None:
            return gate
        orig = self.journal.find(stan, None, Kind.SALE)
        if orig is None or orig.state not in (State.APPROVED, State.REFUNDED):
            return Outcome.told(Result.DECLINED, text("terminal.result.no_sale_any",
                                                      stan=f"{stan:06d}"), stan=stan)
        if orig.refunded + amount > orig.amount:
            return Outcome.told(Result.DECLINED, text("terminal.result.refund_too_much",
                                                      amount=orig.amount,
                                                      refunded=orig.refunded), stan=stan)
        self._amount(Kind.REFUND, amount)
        txn = self.journal.start(Kind.REFUND, amount, self.batch, orig.stan, orig.batch)
        self.after(Step.FLOW_STARTED)
        self._card_read(txn, orig.method, orig.pan_masked, pan_sealed=orig.pan_sealed,
                        expiry=orig.expiry)
        self.after(Step.CARD_READ)
        return self.online(txn, lambda: self.refund_request(txn, orig), orig=orig)

    def balance(self, track2: str, pin: str) -> Outcome:
        return self.report(Kind.BALANCE, 0, self._balance(track2, pin))

    def _balance(self, track2: str, pin: str) -> Outcome:
        card = CardInput(track2=track2)
        card.check(pin)
        PinPad(Faults({})).enter(pin)
        gate = self.gate()
        if gate is not None:
            return gate
        txn = self.journal.start(Kind.BALANCE, 0, self.batch)
        self.after(Step.FLOW_STARTED)
        self._card_prompt(0)
        try:
            got = self._read_card(card, 0)
        except DeviceError as exc:
            return self.abort(txn, text("terminal.result.inquiry_card_failed", fault=exc.code))
        self._card_read(txn, got.method, mask_pan(got.pan))
        self._pin_prompt()
        self.events.emit("pin", outcome="entered")

        def build() -> Message:
            assert self.keys.working is not None
            return self.sign(builders.balance(self.station, txn.stan, txn.batch, got, pin,
                                              self.keys.working.pik))

        return self.online(txn, build)

    def settle(self) -> Outcome:
        gate = self.gate()
        if gate is not None:
            return self.report(Kind.SETTLE, 0, gate)
        totals, _ = self.totals(self.batch)
        txn = self.waiting_settlement()  # one settlement per batch: the one waiting goes now
        if txn is None:
            txn = self.journal.start(Kind.SETTLE, totals.debit_total, self.batch)
            self.after(Step.FLOW_STARTED)
        return self.report(Kind.SETTLE, totals.debit_total, self.settle_txn(txn))
