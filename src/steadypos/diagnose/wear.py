"""The wear family (printer, reader, environment episodes) split into hardware_printer,
maintenance_overdue and environment_interference by the terminal's maintenance and error trend."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from steadypos.diagnose.episodes import Episode
from steadypos.diagnose.evidence import Scored
from steadypos.diagnose.noise import threshold
from steadypos.diagnose.records import DayCounts
from steadypos.diagnose.splits import Split, SplitRule, weigh
from steadypos.diagnose.taxonomy import MAINTENANCE_DAYS, Cause
from steadypos.diagnose.tracker import TerminalRecord
from steadypos.eventlog import READ_ERRORS, CardMethod, format_ts

WEAR_CAUSES = (Cause.HARDWARE_PRINTER, Cause.MAINTENANCE_OVERDUE, Cause.ENVIRONMENT_INTERFERENCE)
# "slowly worsening": the later half of the days has at least this many errors, 1.5x the earlier
# half's error rate, 2 points more of the uses (the reader's and the printer's apart), and more
# than the earlier rate explains by chance (Poisson, TREND_ALPHA): a flat fault rate that the
# halves split unevenly is not a trend
TREND_MIN_ERRORS, TREND_FACTOR, TREND_MIN_RISE, TREND_ALPHA = 3, 1.5, 0.02, 0.05
# the reader fails: at least this many read errors, more than the fleet's usual rate explains
# (Poisson, READER_ALPHA)
READER_MIN_ERRORS, READER_ALPHA = 3, 0.01
# "after a cleaning they stop" (maintenance relieves want of care, not a broken part): at least
# RELIEF_MIN wear episodes before a service visit, at least RELIEF_EXPECTED expected after it at
# the rate before, and at most a third of that seen
RELIEF_MIN, RELIEF_EXPECTED, RELIEF_SHARE = 3, 1.5, 1 / 3
SERVICE_KINDS = frozenset(("cleaning", "inspection", "part_replaced"))


def read_errors(term: TerminalRecord) -> int:
    return sum(v for k, v in term.n.card_errors.items() if k in READ_ERRORS)


def maintenance_age(ep: Episode) -> int | None:
    """Days from the last maintenance known at the time of the episode to the episode."""
    if not ep.maint_date:
        return None
    try:
        done = date.fromisoformat(ep.maint_date[:10])
    except ValueError:
        return None
    return (date.fromisoformat(format_ts(ep.t1)[:10]) - done).days


def trends(term: TerminalRecord, swipes_apart: bool = False) -> dict[str, str]:
    """The reader's and the printer's errors, each: 'reader errors rose from a% to b% of reads'
    when they worsen over the days (later half against earlier half), else ''. `swipes_apart`:
    the terminal's swipes fail as the document's interference does (swipes_disturbed), so its
    swipe reads and their errors are the field's, not the reader's wear, and are left out."""
    days = sorted(term.days)
    if len(days) < 3:
        return {"reader": "", "printer": "", "both": ""}
    rows = [term.days[d] for d in days]
    half = len(rows) // 2
    first, last = rows[:half], rows[-half:]
    what = "chip/contactless " if swipes_apart else ""

    def reads(r: DayCounts) -> tuple[int, int]:  # (read errors, reads) counted as wear
        return ((r.read_errors - r.swipe_errors, r.reads - r.swipe_reads) if swipes_apart
                else (r.read_errors, r.reads))  # fmt: skip

    def sums(rs: list[DayCounts], printer: bool, reader: bool) -> tuple[int, int]:
        e = sum(reads(r)[0] for r in rs) * reader + sum(r.printer_faults for r in rs) * printer
        u = sum(reads(r)[1] for r in rs) * reader + sum(r.prints for r in rs) * printer
        return e, u

    # the document's "reader/printer errors" together, when the later half has both kinds
    both = sums(last, False, True)[0] > 0 and sums(last, True, False)[0] > 0
    return {
        "both": _rise(f"{what}reader and printer errors", "uses",
                      *sums(first, True, True), *sums(last, True, True)) if both else "",
        "reader": _rise(f"{what}reader errors", "reads", *sums(first, False, True),
                        *sums(last, False, True)),
        "printer": _rise("printer faults", "prints", *sums(first, True, False),
                         *sums(last, True, False)),
    }  # fmt: skip


def _rise(what: str, uses: str, errs1: int, uses1: int, errs2: int, uses2: int) -> str:
    r1 = errs1 / uses1 if uses1 else 0.0
    r2 = errs2 / uses2 if uses2 else 0.0
    before = (errs1 + 0.5) / (uses1 + 1)  # Jeffreys: none before is not a rate of zero
    if (errs2 >= TREND_MIN_ERRORS and r2 >= TREND_FACTOR * r1 and r2 - r1 >= TREND_MIN_RISE
            and errs2 >= threshold(before * uses2, TREND_ALPHA)):  # fmt: skip
        return f"{what} rose from {100 * r1:.1f}% to {100 * r2:.1f}% of {uses}"
    return ""


def failing(errors: int, uses: int, usual: float | None) -> bool:
    """More errors than the fleet's usual rate explains on this many uses (never claimed when
    the fleet is too small to have a usual rate)."""
    if usual is None:
        return False
    return errors >= max(READER_MIN_ERRORS, threshold(usual * uses, READER_ALPHA))


def swiped(ep: Episode) -> bool:
    """The episode's card read errors were all on swipes."""
    errors = [c for c in ep.card_errors if c.error in READ_ERRORS]
    return bool(errors) and all(c.method == CardMethod.SWIPE for c in errors)


def contact_worn(term: TerminalRecord, usual: float | None) -> bool:
    """The chip and contactless reads fail too, well over the fleet's usual rate: worn
    contacts and heads, not a magnetic field (which spoils the swipes only)."""
    errors = read_errors(term) - term.n.swipe_errors
    return failing(errors, term.n.card_reads - term.n.swipe_reads, usual)


def swipes_disturbed(term: TerminalRecord, usual_swipes: float | None,
                     usual_reads: float | None) -> bool:  # fmt: skip
    """The document's interference: swipe read errors (bad_read/lrc) more than the fleet's usual
    swipe error rate explains, while the chip and contactless reads fail no more than usual."""
    n = term.n
    return failing(n.swipe_errors, n.swipe_reads, usual_swipes) and not contact_worn(
        term, usual_reads)  # fmt: skip


def overdue(ep: Episode) -> bool:
    """The last maintenance known at the episode was over the document's 180 days before it."""
    age = maintenance_age(ep)
    return age is not None and age > MAINTENANCE_DAYS


def relief(eps: list[Scored], term: TerminalRecord) -> str:
    """The wear episodes stopped after a service visit (cleaning, inspection, a part), in words."""
    for visit in term.maintenance:
        if visit.kind not in SERVICE_KINDS:
            continue
        before = sum(1 for s in eps if s.episode.t1 < visit.t)
        flows_after = term.n.flows - visit.flows
        if before < RELIEF_MIN or visit.flows <= 0 or flows_after <= 0:
            continue
        expected = before / visit.flows * flows_after
        after = len(eps) - before
        if expected >= RELIEF_EXPECTED and after <= RELIEF_SHARE * expected:
            return (f"{before} episodes before the {visit.kind} on {format_ts(visit.t)[:10]},"
                    f" {after} in the {flows_after} flows after it")  # fmt: skip
    return ""


def wear_trend(term: TerminalRecord, swipes_apart: bool = False) -> str:
    """The reader's and the printer's worsening in words ('' when neither worsens)."""
    return "; ".join(t for t in trends(term, swipes_apart).values() if t)


@dataclass
class WearFacts:
    term: TerminalRecord
    n: int  # wear episodes
    kinds: Counter  # printer / reader / environment
    overdue: float  # share of them with the last maintenance over 180 days before
    oldest: int | None  # the longest time since maintenance at one of them (days)
    oldest_date: str | None  # that maintenance's date
    recent: bool  # maintenance known and within 180 days at every one of them
    trend: dict[str, str]  # "reader" / "printer" -> how its errors rose ('' when they did not)
    bursts: int  # episodes right after a burst of swipe errors
    resets: int  # watchdog resets among them
    usual_reads: float | None  # the fleet's usual read errors per card read (None: unmeasured)
    relieved: str  # how the episodes stopped after a service visit ('' when they did not)

    @property
    def contact_worn(self) -> bool:
        """The chip and contactless reads fail too, well over the fleet's usual rate: worn
        contacts and heads, not a magnetic field (which spoils the swipes only)."""
        return contact_worn(self.term, self.usual_reads)

    @property
    def reader_failing(self) -> bool:
        """Read errors of any kind well over the fleet's usual rate."""
        return failing(read_errors(self.term), self.term.n.card_reads, self.usual_reads)

    @property
    def reader_worn(self) -> bool:
        """A worn reader on a terminal overdue for maintenance."""
        return self.overdue > 0 and self.contact_worn

    def share(self, kind: str) -> float:
        return self.kinds[kind] / self.n

    @property
    def printer_alone(self) -> float:
        """The printer episodes' share, weighed by half on a terminal overdue for maintenance:
        the document's maintenance_overdue names printer errors too, so there they tell the two
        causes apart no more than the maintenance date and the trend do."""
        return self.share("printer") * (0.5 if self.overdue >= 0.5 else 1.0)

    @property
    def swipe_only(self) -> bool:
        """The document's interference: read errors on swipes while the other reads are fine."""
        return self.term.n.swipe_errors >= READER_MIN_ERRORS and not self.contact_worn


WEAR_RULES: tuple[SplitRule[WearFacts], ...] = (
    # maintenance_overdue: the document's 180 days at the time of the errors "and slowly
    # worsening reader/printer errors": both signs are needed to outweigh a printer fault
    SplitRule(Cause.MAINTENANCE_OVERDUE, 2.0, lambda f: f.overdue,
              lambda f: f"last_maintenance {f.oldest_date}: {f.oldest} days before the errors"
              f" (over {MAINTENANCE_DAYS})"),
    # (a null last_maintenance is no date at all, not one over 180 days: it is not counted)
    # the document's two signs at once: errors on a terminal overdue whose reader fails beyond
    # the fleet's usual, chip and contactless reads too (episodes of kind "worn", verdicts._score)
    SplitRule(Cause.MAINTENANCE_OVERDUE, 3.0, lambda f: f.share("worn"),
              lambda f: f"{f.kinds['worn']} of {f.n} episodes: reader/printer errors over"
              f" {MAINTENANCE_DAYS} days after the last maintenance, on a worn reader (chip and"
              " contactless reads failing beyond the fleet's usual)"),
    # worn by want of care: the reader worsens (a printer that worsens alone may just be broken)
    SplitRule(Cause.MAINTENANCE_OVERDUE, 2.0, lambda f: float(bool(f.trend["reader"])),
              lambda f: f.trend["reader"]),
    SplitRule(Cause.MAINTENANCE_OVERDUE, 1.5, lambda f: float(bool(f.trend["printer"])),
              lambda f: f.trend["printer"]),
    SplitRule(Cause.MAINTENANCE_OVERDUE, 1.5,
              lambda f: float(bool(f.trend["both"]) and not f.trend["reader"]
                              and not f.trend["printer"]),
              lambda f: f.trend["both"]),
    SplitRule(Cause.MAINTENANCE_OVERDUE, 1.5, lambda f: float(bool(f.relieved)),
              lambda f: f.relieved),
    SplitRule(Cause.MAINTENANCE_OVERDUE, 1.5, lambda f: float(f.reader_worn),
              lambda f: f"card read errors on {read_errors(f.term)} of {f.term.n.card_reads} reads,"
              f" chip and contactless ones too (the fleet's usual:"
              f" {100 * (f.usual_reads or 0):.1f}%)"),
    SplitRule(Cause.MAINTENANCE_OVERDUE, 1.0,
              lambda f: float(bool(f.kinds["printer"] and (f.kinds["reader"] or f.reader_failing))),
              lambda f: "both the reader and the printer fail"),
    SplitRule(Cause.MAINTENANCE_OVERDUE, 1.0, lambda f: f.share("reader"),
              lambda f: f"{sum(f.term.n.card_errors.values())} card read errors,"
              f" {f.term.n.printer_faults} printer faults"),
    # hardware_printer: printer faults, episodes at the receipt screen
    SplitRule(Cause.HARDWARE_PRINTER, 3.0, lambda f: f.printer_alone,
              lambda f: f"{f.kinds['printer']} of {len(f.term.episodes)} episodes broke at the"
              " receipt screen"),
    SplitRule(Cause.HARDWARE_PRINTER, 0.5,
              lambda f: float(f.kinds["printer"] > 0 and f.term.n.printer_faults > 0),
              lambda f: f"printer jam/head_fault in {f.term.n.printer_faults} health readings"),
    # environment_interference: watchdog resets with normal readings, bursts of swipe errors
    SplitRule(Cause.ENVIRONMENT_INTERFERENCE, 3.0, lambda f: f.share("environment"),
              lambda f: f"{f.resets} watchdog resets with normal cpu_temp_c, memory and power"
              if f.resets else None),
    SplitRule(Cause.ENVIRONMENT_INTERFERENCE, 1.0, lambda f: f.share("reader"), lambda f: None),
    SplitRule(Cause.ENVIRONMENT_INTERFERENCE, 1.5, lambda f: f.bursts / f.n,
              lambda f: f"{f.term.n.swipe_errors} swipe read errors (bad_read/lrc); {f.bursts}"
              f" of {f.n} episodes right after a burst of them"),
    SplitRule(Cause.ENVIRONMENT_INTERFERENCE, 1.0, lambda f: float(f.swipe_only),
              lambda f: f"{f.term.n.swipe_errors} swipe read errors (bad_read/lrc) while chip and"
              " contactless reads are fine"),
    SplitRule(Cause.ENVIRONMENT_INTERFERENCE, 0.5, lambda f: float(f.recent), lambda f: None),
)  # fmt: skip


# maintenance known and within 180 days at every episode: the document's first sign of
# maintenance_overdue is absent, so however the errors rise they are not its (81955 T00224: an
# interference terminal serviced 127 days before, its reader's errors rising, was called it)
DUE_RULES = tuple(r for r in WEAR_RULES if r.cause != Cause.MAINTENANCE_OVERDUE)


def split_wear(eps: list[Scored], term: TerminalRecord, usual_reads: float | None,
               disturbed: bool = False) -> Split:  # fmt: skip
    """The wear family's split; `disturbed`: the terminal's swipes fail as the document's
    interference does (swipes_disturbed), so its worsening is measured without them."""
    ages = [maintenance_age(s.episode) for s in eps]
    known = [a for a in ages if a is not None]
    oldest = max(known) if known else None
    oldest_date = next((s.episode.maint_date for s, a in zip(eps, ages, strict=True)
                        if a == oldest), None) if known else None  # fmt: skip
    facts = WearFacts(
        term, max(1, len(eps)), Counter(s.kind for s in eps),
        sum(1 for a in known if a > MAINTENANCE_DAYS) / max(1, len(eps)),
        oldest, oldest_date,
        bool(known) and len(known) == len(ages) and max(known) <= MAINTENANCE_DAYS,
        trends(term, disturbed), sum(1 for s in eps if s.episode.around.swipe_burst >= 2),
        sum(1 for s in eps if s.episode.end_kind == "watchdog"), usual_reads, relief(eps, term),
    )  # fmt: skip
    return weigh(WEAR_CAUSES, DUE_RULES if facts.recent else WEAR_RULES, facts)
