"""Per-terminal state machine over event log v1: one handler per event type, episodes and the
counts around them. Memory per terminal is bounded (small rings of recent readings and counters);
it does not grow with the number of events."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from steadypos.diagnose.ambient import MAX_TROUBLE, AmbientEvents
from steadypos.diagnose.episodes import END_IDLE, END_RESTART, Episode, OpenFlow, surroundings
from steadypos.diagnose.evidence import EpisodeEvidence, score_episode
from steadypos.diagnose.records import (
    CardFailure,
    Crash,
    DayCounts,
    FlowCard,
    Inventory,
    NetSample,
    OperatorCounts,
    Reading,
    SessionCounts,
    Tallies,
    VersionChange,
    Visit,
)
from steadypos.diagnose.taxonomy import CRASH_REASONS
from steadypos.eventlog import (
    FLOW_SCREENS,
    READ_ERRORS,
    AppEvent,
    CardMethod,
    EventType,
    PinOutcome,
    Screen,
    TxnPhase,
    format_ts,
)

MAX_CRASHES = 2000  # crash records kept per terminal
MAX_FRAMES = 8
# Plain strs on the hot path: looking up an enum member costs several times the compare.
_EXIT = str(AppEvent.EXIT)
_START = str(AppEvent.START)
_SWIPE = str(CardMethod.SWIPE)
_CANCELLED = str(PinOutcome.CANCELLED)
_AMOUNT = str(Screen.AMOUNT)
_CARD = str(Screen.CARD)
_IDLE = str(Screen.IDLE)
_RECEIPT = str(Screen.RECEIPT)
_RESULT = str(Screen.RESULT)
_CONN_FAIL = str(TxnPhase.CONN_FAIL)
_MAC_FAIL = str(TxnPhase.MAC_FAIL)
_RESPONSE = str(TxnPhase.RESPONSE)
_SENT = str(TxnPhase.SENT)
_TIMEOUT = str(TxnPhase.TIMEOUT)
_FLOW_SCREENS = frozenset(map(str, FLOW_SCREENS))
_READ_ERRORS = frozenset(map(str, READ_ERRORS))
_CRASH_REASONS = frozenset(map(str, CRASH_REASONS))


def _frames(value: object) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(f) for f in value[:MAX_FRAMES])
    if isinstance(value, str) and value:
        return (value,)
    return ()


def _ts(ev: dict, t: float) -> str:
    ts = ev.get("ts")
    return ts if isinstance(ts, str) else format_ts(t)


class TerminalRecord(AmbientEvents):
    """Everything remembered about one terminal: inventory, the open flow, rings and counts."""

    __slots__ = (
        "tid", "inv", "app_version", "first_t", "last_t", "out_of_order", "flow", "health",
        "net", "cards", "mismatch_t", "operator", "session_open", "session_version", "n",
        "sessions", "days", "ops", "trained", "maintenance", "versions", "params_applied",
        "trouble", "crashes", "episodes", "evidence", "first_maint", "first_maint_t",
        "held",
    )  # fmt: skip

    def __init__(self, tid: str, t: float) -> None:
        self.tid = tid
        self.inv = Inventory()
        self.app_version: str | None = None
        self.first_t = t
        self.last_t = t
        self.out_of_order = 0
        self.flow: OpenFlow | None = None
        self.health: deque[Reading] = deque(maxlen=16)
        self.net: deque[NetSample] = deque(maxlen=16)
        self.cards: deque[CardFailure] = deque(maxlen=32)
        self.mismatch_t = -1e18
        self.operator: str | None = None
        self.session_open = False
        self.session_version: str | None = None
        self.n = Tallies()
        self.sessions: dict[str, SessionCounts] = {}
        self.days: dict[int, DayCounts] = {}  # epoch day -> counts
        self.ops: dict[str, OperatorCounts] = {}
        self.trained: set[str] = set()
        self.maintenance: list[Visit] = []
        self.versions: list[VersionChange] = []
        self.params_applied: list[tuple[float, str]] = []
        self.trouble: list[float] = []  # times of network trouble (for merchant clustering)
        self.crashes: list[Crash] = []
        self.episodes: list[Episode] = []
        self.evidence: list[EpisodeEvidence] = []  # each episode's, read once its log has ended
        self.first_maint: str | None = None  # the first last_maintenance date the log gave
        self.first_maint_t: float | None = None  # when, if a maintenance event gave it
        self.held: tuple[float, dict, Handler] | None = None  # the last event, not yet applied

    # ----------------------------------------------------------------- flow bookkeeping
    def _start_flow(self, t: float, ts: str) -> OpenFlow:
        flow = self.flow = OpenFlow(t, ts, self.operator)
        self.n.flows += 1
        self.day(t).flows += 1
        op = self.operator
        if op is not None:
            row = self.ops.get(op)
            if row is None:
                row = self.ops[op] = OperatorCounts()
            row.flows += 1
        return flow

    def _end_flow(self, t: float, ts: str, kind: str, exception: str | None = None,
                  frames: tuple[str, ...] = ()) -> None:  # fmt: skip
        flow, self.flow = self.flow, None
        if flow is None or flow.closed:
            return
        op = flow.operator
        last = self.versions[-1].t if self.versions else None
        ep = Episode(
            self.tid, flow.t0, t, flow.ts0, ts, flow.screen or _CARD, kind, exception,
            frames, self.app_version, op, None if op is None else op in self.trained,
            tuple(flow.phases), tuple(flow.rcs), tuple(flow.cards), tuple(flow.pins),
            flow.printer, surroundings(t, flow.t0, self.health, self.net, self.cards,
                                      self.mismatch_t),
            self.inv.last_maintenance, None if last is None else t - last, flow.damaged,
        )  # fmt: skip
        self.episodes.append(ep)
        if op is not None and op in self.ops:
            self.ops[op].episodes += 1

    # ----------------------------------------------------------------- event handlers
    def on_screen(self, t: float, ev: dict) -> None:
        screen = ev.get("screen")
        flow = self.flow
        if screen in _FLOW_SCREENS:
            if flow is None or ((flow.had_result or flow.cancelled)  # flow.closed, inlined
                                and screen in (_AMOUNT, _CARD)):
                flow = self._start_flow(t, _ts(ev, t))
            flow.screen = screen  # type: ignore[assignment]
            if screen == _RECEIPT:
                self.day(t).prints += 1
        elif screen == _RESULT:
            if flow is not None:
                flow.had_result = True
                self.n.results += 1
        elif screen == _IDLE and flow is not None:
            self._end_flow(t, _ts(ev, t), END_IDLE)

    def on_card(self, t: float, ev: dict) -> None:
        flow = self.flow
        if flow is None or flow.closed:
            flow = self._start_flow(t, _ts(ev, t))
            flow.screen = _CARD
        method = str(ev.get("method") or "")
        ok = ev.get("ok")
        error = ev.get("error")
        n = self.n
        n.card_reads += 1
        day = self.day(t)
        day.reads += 1
        if method == _SWIPE:
            n.swipe_reads += 1
            day.swipe_reads += 1
        if ok is False or (error and ok is not True):
            error = str(error or "bad_read")
            n.card_errors[error] = n.card_errors.get(error, 0) + 1
            flow.cards.append(FlowCard(method, error))
            self.cards.append(CardFailure(t, method, error))
            if error in _READ_ERRORS:
                day.read_errors += 1
                if method == _SWIPE:
                    n.swipe_errors += 1
                    day.swipe_errors += 1

    def on_pin(self, t: float, ev: dict) -> None:
        outcome = str(ev.get("outcome"))
        outcomes = self.n.pin_outcomes
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if self.flow is not None:
            if outcome == _CANCELLED:
                self.flow.cancelled = True
            self.flow.pins.append(outcome)

    def on_txn(self, t: float, ev: dict) -> None:
        phase = ev.get("phase")
        n = self.n
        if phase == _SENT:
            n.txns += 1
        elif phase == _RESPONSE:
            rc = ev.get("rc")
            if rc is not None:
                rc = str(rc).upper()
                n.rc[rc] = n.rc.get(rc, 0) + 1
                if self.flow is not None:
                    self.flow.rcs.append(rc)
        elif phase in (_TIMEOUT, _CONN_FAIL, _MAC_FAIL):
            if phase == _TIMEOUT:
                n.timeouts += 1
            elif phase == _CONN_FAIL:
                n.conn_fails += 1
            else:
                n.mac_fails += 1
            if phase != _MAC_FAIL and len(self.trouble) < MAX_TROUBLE:
                self.trouble.append(t)
            if self.flow is not None:
                self.flow.phases.append(phase)  # type: ignore[arg-type]

    def on_app(self, t: float, ev: dict) -> None:
        event = ev.get("event")
        version = ev.get("app_version")
        version = str(version) if version is not None else None
        if event == _START:
            self._start(t, ev, version)
        elif event == _EXIT:
            self._exit(t, ev, version)

    def _start(self, t: float, ev: dict, version: str | None) -> None:
        self.n.starts += 1
        if self.flow is not None:
            self._end_flow(t, _ts(ev, t), END_RESTART)
        if self.session_open:
            self._close_session(False)  # no exit logged: counted, not as a crash
        if version is not None and version != self.app_version:
            if self.app_version is not None:
                self.versions.append(VersionChange(t, self.app_version, version, self.n.flows))
            self.app_version = version
        self.session_open = True
        self.session_version = self.app_version

    def _exit(self, t: float, ev: dict, version: str | None) -> None:
        reason = str(ev.get("reason") or "unknown")
        exits = self.n.exits
        exits[reason] = exits.get(reason, 0) + 1
        if version is not None and self.app_version is None:
            self.app_version = version
        exception = ev.get("exception")
        exception = str(exception) if exception else None
        frames = _frames(ev.get("frames"))
        crashed = reason in _CRASH_REASONS
        if crashed and len(self.crashes) < MAX_CRASHES:
            self.crashes.append(Crash(t, reason, exception, frames, version or self.app_version,
                                      self.flow is not None))  # fmt: skip
        if reason != "normal" and self.flow is not None:
            self._end_flow(t, _ts(ev, t), reason, exception, frames)
        if self.session_open:
            self.session_version = version or self.session_version
            self._close_session(crashed)
        elif crashed:
            self.session_version = version or self.app_version
            self._close_session(True)

    def _close_session(self, crashed: bool) -> None:
        key = self.session_version or self.app_version or "unknown"
        row = self.sessions.get(key)
        if row is None:
            row = self.sessions[key] = SessionCounts()
        row.sessions += 1
        if crashed:
            row.crashed += 1
        self.session_open = False

    def finish(self) -> None:
        """End of input: an unfinished flow is not an episode; an open session is counted;
        episodes before the first maintenance date was logged take that date, unless a
        `maintenance` event after them gave it (a log with no inventory: their last maintenance
        is unknown, not that later visit)."""
        self.flow = None
        if self.session_open:
            self._close_session(False)
        first, since = self.first_maint, self.first_maint_t
        for ep in self.episodes:
            if ep.maint_date is None and (since is None or ep.t1 >= since):
                ep.maint_date = first
        # read here, where the terminal's log ends (in its worker under --workers), not when the
        # fleet is judged: an episode's evidence is its own; the rings served the episodes only
        self.evidence = [score_episode(ep) for ep in self.episodes]
        self.health.clear()
        self.net.clear()
        self.cards.clear()


Handler = Callable[[TerminalRecord, float, dict], None]
HANDLERS: dict[str, Handler] = {
    EventType.HEALTH: TerminalRecord.on_health,
    EventType.SCREEN: TerminalRecord.on_screen,
    EventType.TXN: TerminalRecord.on_txn,
    EventType.CARD: TerminalRecord.on_card,
    EventType.PIN: TerminalRecord.on_pin,
    EventType.NET: TerminalRecord.on_net,
    EventType.APP: TerminalRecord.on_app,
    EventType.INVENTORY: TerminalRecord.on_inventory,
    EventType.PARAMS: TerminalRecord.on_params,
    EventType.OPERATOR: TerminalRecord.on_operator,
    EventType.TRAINING: TerminalRecord.on_training,
    EventType.MAINTENANCE: TerminalRecord.on_maintenance,
}
# Plain-str keys: a dict lookup with the log's own strings hashes and compares as fast as it can.
_HANDLERS: dict[str, Handler] = {str(k): v for k, v in HANDLERS.items()}


class Tracker:
    """Feeds events to their terminal's state machine (terminals may be interleaved freely).

    Each terminal's last event is held back one step: a line that comes before it in time was
    swapped with it on the way (it is applied first), and the same line twice is applied once.
    """

    def __init__(self) -> None:
        self.terminals: dict[str, TerminalRecord] = {}
        self.bad_values = 0
        self.duplicates = 0

    def feed(self, t: float, ev: dict) -> None:
        """Take one event (unknown types are ignored)."""
        handler = _HANDLERS.get(ev["type"])
        if handler is None:
            return
        tid = ev["tid"]
        term = self.terminals.get(tid)
        if term is None:
            term = self.terminals[tid] = TerminalRecord(tid, t)
        held = term.held
        term.held = (t, ev, handler)
        if held is None:
            return
        held_t = held[0]
        if t > held_t or (t == held_t and ev != held[1]):
            # the held event goes now (_apply inlined: this runs once per line)
            if held_t < term.last_t:
                term.out_of_order += 1
            else:
                term.last_t = held_t
            try:
                held[2](term, held_t, held[1])
            except (TypeError, ValueError, AttributeError, KeyError):
                self.bad_values += 1
            return
        term.held = held
        if t < held_t:
            term.out_of_order += 1
            self._apply(term, t, ev, handler)  # swapped with the held one: it goes first
        else:
            self.duplicates += 1

    def damaged(self, tid: str, t: float | None) -> None:
        """A torn line of this terminal: the flow it fell in may have lost its end."""
        term = self.terminals.get(tid)
        if term is not None and term.flow is not None:
            term.flow.damaged = True

    def _apply(self, term: TerminalRecord, t: float, ev: dict, handler: Handler) -> None:
        """Apply one event; count it when a known type had values it could not use."""
        if t < term.last_t:
            term.out_of_order += 1
        else:
            term.last_t = t
        try:
            handler(term, t, ev)
        except (TypeError, ValueError, AttributeError, KeyError):
            self.bad_values += 1

    def finish(self) -> list[TerminalRecord]:
        for term in self.terminals.values():
            if term.held is not None:
                self._apply(term, *term.held)
                term.held = None
            term.finish()
        return [self.terminals[k] for k in sorted(self.terminals)]
