"""What the terminal tells its operator, in one place: each text is a key plus its parameters, with
the English wording here, so that a screen can show it from the zh/en catalogue (src/steadypos/i18n)
under the same key and the CLI prints the English of today."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Key -> English. Parameters are `{name}` fields; amounts are in fen, STANs already 6 digits.
ENGLISH: dict[str, str] = {
    # recovery: what became of a flow the terminal found unfinished (banners)
    "terminal.recovery.line": "unfinished {kind} STAN {stan} ({pan}, {amount} fen): {what}",
    "terminal.recovery.not_sent": "interrupted before sending: not charged",
    "terminal.recovery.reversed": "reversed: not charged",
    "terminal.recovery.pending": "interrupted: reversal pending, it is sent before the next "
                                 "transaction",
    "terminal.recovery.declined": "declined ({rc}): not charged",
    "terminal.recovery.inquiry": "interrupted balance inquiry: nothing is ever charged for it",
    "terminal.recovery.no_answer": "no answer yet: recover re-sends it to learn its outcome",
    "terminal.recovery.reprinted": "approved: charged (receipt reprinted)",
    "terminal.recovery.resent": "re-sent, now {result}: {message}",
    "terminal.recovery.settle_resent": "settlement re-sent: {message}",
    "terminal.recovery.settle_sent": "settlement sent: {message}",
    "terminal.recovery.void_stands": "reversal refused (12): batch {batch} is settled, so the "
                                     "void stands: the sale is voided and the money is back on "
                                     "the card",
    "terminal.recovery.original_stands": "reversal refused (12): batch {batch} is settled, so "
                                         "the {kind} stands and the card is charged: refund it "
                                         "(STAN {stan}) to give the money back",
    # results
    "terminal.result.approved": "approved",
    "terminal.result.printer": "approved: charged; printer {fault}: reprint the receipt",
    "terminal.result.declined": "declined: {rc} {rc_text}",
    "terminal.result.not_reached": "could not reach the host ({why}): not charged",
    "terminal.result.no_answer_reversal": "no answer from the host ({why}); the payment will be "
                                          "reversed before the next transaction: do not charge "
                                          "again",
    "terminal.result.no_answer_resend": "no answer from the host ({why}); run recover to learn "
                                        "the outcome",
    "terminal.result.mac_failed": "the host's answer failed its MAC check; the payment will be "
                                  "reversed and the terminal signs in again",
    "terminal.result.card_failed": "card read failed ({fault}): not charged",
    "terminal.result.inquiry_card_failed": "card read failed ({fault})",
    "terminal.result.pin_failed": "PIN entry {fault}: not charged",
    "terminal.result.blocked": "reversal of STAN {stan} ({amount} fen) is pending and {why}; no "
                               "new sale until it goes through",
    "terminal.result.resynced": "; signed in again, now in batch {batch}: not charged, {then}",
    "terminal.result.resync_failed": "; signing in again failed ({why}): not charged, {then} "
                                     "once it works",
    "terminal.result.settle_not_sent": "settlement not sent ({why}): batch {batch} stays "
                                       "open; run recover when the link is back to send it",
    # progress while online
    "terminal.progress.connecting": "connecting to the host",
    "terminal.progress.sent": "sent, waiting for the host",
    "terminal.progress.reversing": "sending the reversal of STAN {stan}",
    "terminal.progress.signing_in": "signing in",
    "terminal.progress.uploading": "uploading the batch",
    # prompts
    "terminal.prompt.card": "swipe, insert or scan: {amount} fen",
    "terminal.prompt.pin": "enter PIN ({seconds} s)",
}


def english(key: str, **params: Any) -> str:
    """The English text of `key` with its parameters filled in."""
    return ENGLISH[key].format(**params)


@dataclass(frozen=True)
class Text:
    """A text for the operator: its catalogue key and parameters; `str()` is the English."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return english(self.key, **self.params)


def text(key: str, **params: Any) -> Text:
    if key not in ENGLISH:
        raise KeyError(f"no terminal text {key!r}")
    return Text(key, params)
