"""The attacks of pos-link-v1.1 as chaos faults, for the simulation and the real run alike: what an
outsider on the link sends (XOR-compensated forgeries of a frame the terminal just sent, and
admin messages in a stranger's name with no good MAC), and how its answers and the terminal's
next answer are judged (invariants h and i, with `Watch`)."""

from __future__ import annotations

import hashlib

from steadypos.chaos.forge import forge
from steadypos.chaos.invariants import Violation
from steadypos.protocol import builders, mac
from steadypos.protocol.codec import Message, decode_frame, encode_frame
from steadypos.protocol.errors import ProtocolError
from steadypos.protocol.fields import Field60, Totals

# Attackers number their messages from here: a chaos run's terminals never get that far, so the
# host's conformance report can tell the attacker's frames from the terminal's.
ATTACK_STAN = 900_000
APPROVED = "00"
# What the terminal's next answer says when a stranger disturbed it: signed out, keys stopped,
# batch closed under it.
DISTURBED = {"97": "signed out", "A0": "its keys stopped", "77": "its batch moved"}
KEYS_REFUSED = "A0"
STRANGER_MTIS = ("0800", "0820", "0500", "0320")
MAX_STRANGER_SIGN_INS = 4  # one more than the unused key sets a terminal may have


def attack_stan(roll: int) -> str:
    return f"{ATTACK_STAN + roll % 99_999:06d}"


def is_attack_stan(stan: str) -> bool:
    return stan.isdigit() and int(stan) >= ATTACK_STAN


def _edits(msg: Message, roll: int) -> dict[int, str]:
    """Always a new STAN (a copy with the same one is only a repeat), and by the roll: nothing
    more, another amount, another batch, or (a reversal) another card."""
    edits = {11: attack_stan(roll)}
    variant = (roll >> 4) % 4
    if variant == 1 and 4 in msg.fields:
        edits[4] = f"{(int(msg.get(4)) + 4000) % 10**12:012d}"
    elif variant == 2 and 60 in msg.fields:
        f60 = Field60.parse(msg.get(60))
        edits[60] = Field60(f60.type, f60.batch % 999_999 + 1, f60.network, f60.rest).format()
    elif variant == 3 and 2 in msg.fields:
        pan = msg.get(2)
        edits[2] = pan[:-1] + str((int(pan[-1]) + 1) % 10)
    return edits


def forgeries(frame: bytes, roll: int) -> list[bytes]:
    """The forged copies of a captured MAC'd frame (one per field that can carry the
    compensation); none when the frame carries no MAC."""
    try:
        msg = decode_frame(frame)
        if 64 not in msg.fields:
            return []
        return [f.frame for f in forge(frame, _edits(msg, roll))]
    except (ProtocolError, ValueError):
        return []


def stranger(tid: str, mid: str, batch: int, roll: int) -> list[bytes]:
    """A stranger's admin messages in the terminal's name (TID and MID are on every receipt):
    sign-ins (up to MAX_STRANGER_SIGN_INS), a sign-out, a settlement or a batch upload, each
    with no MAC or one made with a key of the stranger's own."""
    st = builders.Station(tid, mid)
    stan = ATTACK_STAN + roll % 99_999
    mti = STRANGER_MTIS[roll % len(STRANGER_MTIS)]
    if mti == "0800":
        count = 1 + (roll >> 3) % MAX_STRANGER_SIGN_INS
        return [encode_frame(builders.sign_in(st, stan + n, batch)) for n in range(count)]
    if mti == "0820":
        msg = builders.sign_out(st, stan, batch)
    elif mti == "0500":
        msg = builders.settle(st, stan, batch, Totals())
    else:
        msg = builders.batch_upload(st, stan, batch, "00", end=True)
    if (roll >> 2) % 2:
        own_key = hashlib.sha256(f"stranger {roll}".encode()).digest()[:16]
        msg = mac.sign(msg, own_key)
    return [encode_frame(msg)]


def judge_answer(tid: str, fault: str, frame: bytes, answer: bytes | None) -> list[Violation]:
    """(h) an attack frame moved nothing: the host refused it (any answer but 00, or none). A
    stranger's sign-in is answered (its keys are useless without the TMK); (i) judges it."""
    if answer is None:
        return []
    try:
        req, resp = decode_frame(frame), decode_frame(answer)
    except ProtocolError:
        return []
    if resp.get(39) != APPROVED or req.mti == "0800":
        return []
    return [Violation("h_attack_refused", f"{tid}: {fault} {req.mti} STAN {req.get(11)} was "
                                          f"answered {APPROVED}")]


def judge_next(tid: str, fault: str, answer: bytes | None) -> list[Violation]:
    """(i) the real terminal was not disturbed: its next answer after the attack does not say
    it was signed out, its keys stopped, or its batch moved. A suspect only: the attack is to
    blame when the same schedule with the outsider silent gives that exchange another answer
    (`Watch.caused`), not when another fault of the run did it."""
    if answer is None:
        return []
    try:
        resp = decode_frame(answer)
    except ProtocolError:
        return []
    what = DISTURBED.get(resp.get(39))
    if what is None:
        return []
    return [Violation("i_terminal_undisturbed", f"{tid}: after {fault}, its {resp.mti} STAN "
                                                f"{resp.get(11)} got {resp.get(39)} ({what})")]


def _exchange_of(answer: bytes | None) -> tuple[str, str]:
    """(MTI, STAN) of an answer, empty when there is none or it does not decode."""
    try:
        resp = decode_frame(answer) if answer is not None else None
    except ProtocolError:
        resp = None
    return (resp.mti, resp.get(11)) if resp is not None else ("", "")


class Watch:
    """What invariant (i) needs from a run: the host's answer code to each exchange of each
    terminal, and the disturbed answers after an attack. `caused` keeps those the same schedule
    with the outsider silent does not show at that exchange (another fault of the run, a
    corrupted byte or a reset, may give it the same code anyway)."""

    def __init__(self) -> None:
        self.codes: dict[str, list[str | None]] = {}  # TID -> F39 per exchange (None: no answer)
        self.after: dict[str, str] = {}  # TID -> the attack its next answer is judged after
        self.disturbed: list[tuple[str, int, str, Violation]] = []
        # TID -> (MTI and STAN of an answer A0, the attack, its entry in `disturbed`)
        self.retry: dict[str, tuple[tuple[str, str], str, tuple[str, int, str, Violation]]] = {}

    def exchange(self, tid: str) -> None:
        """The terminal sent a request (its answer, if any, comes with `answer`)."""
        self.codes.setdefault(tid, []).append(None)

    def answer(self, tid: str, answer: bytes | None) -> None:
        """The host's answer to the terminal's last request, before any damage on the way."""
        codes = self.codes[tid]
        try:
            codes[-1] = decode_frame(answer).get(39) if answer is not None else None
        except ProtocolError:
            codes[-1] = None
        if self._retried(tid, answer):
            return
        if tid in self.after:
            fault = self.after.pop(tid)
            for v in judge_next(tid, fault, answer):
                self.disturbed.append((tid, len(codes) - 1, codes[-1] or "", v))
                if codes[-1] == KEYS_REFUSED:
                    self.retry[tid] = (_exchange_of(answer), fault, self.disturbed[-1])

    def _retried(self, tid: str, answer: bytes | None) -> bool:
        """After an A0 under a set the stranger pushed out, the terminal sends the same request
        once more under keys the host holds (signing in first if it must): that answer is the
        one judged. True while the answer is the sign-in between."""
        if tid not in self.retry:
            return False
        which, fault, first = self.retry[tid]
        got = _exchange_of(answer)
        if got[0] == "0810":
            return True
        del self.retry[tid]
        if got == which:
            self.disturbed.remove(first)
            self.after[tid] = fault
        return False

    def caused(self, quiet: Watch) -> list[Violation]:
        return [v for tid, n, code, v in self.disturbed
                if quiet.codes.get(tid, [])[n:n + 1] != [code]]
