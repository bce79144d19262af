"""The receipt (签购单) as the printer prints it: bilingual labels, Chinese first, marked DUPLICATE
(重印) on a reprint and TRAINING — NOT A PAYMENT on a training transaction."""

from __future__ import annotations

from steadypos import i18n
from steadypos.terminal.counter.words import both, yuan

SIGNATURE_LINE = "____________"


def text(*, tid: str, mid: str, kind: str, pan_masked: str, amount: int, stan: int, batch: int,
         rrn: str, auth_code: str, reprint: bool = False, training: bool = False) -> str:
    """The receipt's lines; the English labels keep the names acquirers' slips use (TRACE, RRN)."""
    lines = [f"STEADYPOS {both('receipt.title')}"]
    if reprint:
        lines.append(f"*** {both('receipt.duplicate')} ***")
    if training:
        lines.append(f"*** {both('counter.training')} ***")
    lines += [
        f"{both('receipt.merchant')} {mid}",
        f"{both('receipt.terminal')} {tid}",
        f"{both('receipt.card')} {pan_masked}",
        f"{both('receipt.type')} {kind.upper()} {i18n.t(f'counter.kind.{kind}', 'zh')}",
        f"{both('receipt.batch')} {batch:06d}",
        f"{both('receipt.trace')} {stan:06d}",
        f"{both('receipt.rrn')} {rrn}",
        f"{both('receipt.auth')} {auth_code}",
        f"{both('receipt.amount')} {yuan(amount)}",
        f"{both('receipt.signature')} {SIGNATURE_LINE}",
    ]
    if training:
        lines.append(f"*** {both('counter.training')} ***")
    return "\n".join(lines) + "\n"
