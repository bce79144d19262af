"""The wear family (printer, reader, environment episodes) split into hardware_printer,
maintenance_overdue and environment_interference by the terminal's maintenance and error trend."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from steadypos.diagnose.episodes import Episode
from steadypos.diagnose.evidence import Scored
from steadypos.diagnose.splits import Split, SplitRule, weigh
from steadypos.diagnose.taxonomy import MAINTENANCE_DAYS, Cause
from steadypos.diagnose.tracker import TerminalRecord
from steadypos.eventlog import READ_ERRORS, format_ts

WEAR_CAUSES = (Cause.HARDWARE_PRINTER, Cause.MAINTENANCE_OVERDUE, Cause.ENVIRONMENT_INTERFERENCE)
SWIPE_HEAVY = 0.6  # share of read errors on swipes: the magnetic stripe reader in particular
# "slowly worsening": the later half of the days has at least this many errors, 1.5x the earlier
# half's error rate, and 2 points more of the uses (the reader's and the printer's apart)
TREND_MIN_ERRORS, TREND_FACTOR, TREND_MIN_RISE = 4, 1.5, 0.02
# the reader fails too: at least this many read errors, at this many times the fleet's usual rate
READER_MIN_ERRORS, READER_FACTOR = 3, 2.0


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


def trends(term: TerminalRecord) -> dict[str, str]:
    """The reader's and the printer's errors, each: 'reader errors rose from a% to b% of reads'
    when they worsen over the days (later half against earlier half), else ''."""
    days = sorted(term.days)
    if len(days) < 3:
        return {"reader": "", "printer": ""}
    rows = [term.days[d] for d in days]
    half = len(rows) // 2
    first, last = rows[:half], rows[-half:]
    return {
        "reader": _rise("reader errors", "reads", sum(r.read_errors for r in first),
                        sum(r.reads for r in first), sum(r.read_errors for r in last),
                        sum(r.reads for r in last)),
        "printer": _rise("printer faults", "prints", sum(r.printer_faults for r in first),
                         sum(r.prints for r in first), sum(r.printer_faults for r in last),
                         sum(r.prints for r in last)),
    }  # fmt: skip


def _rise(what: str, uses: str, errs1: int, uses1: int, errs2: int, uses2: int) -> str:
    r1 = errs1 / uses1 if uses1 else 0.0
    r2 = errs2 / uses2 if uses2 else 0.0
    if errs2 >= TREND_MIN_ERRORS and r2 >= TREND_FACTOR * r1 and r2 - r1 >= TREND_MIN_RISE:
        return f"{what} rose from {100 * r1:.1f}% to {100 * r2:.1f}% of {uses}"
    return ""


def wear_trend(term: TerminalRecord) -> str:
    """The reader's and the printer's worsening in words ('' when neither worsens)."""
    return "; ".join(t for t in trends(term).values() if t)


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
    usual_reads: float  # the fleet's usual read errors per card read

    @property
    def reader_worn(self) -> bool:
        """Read errors well over the fleet's usual rate, on a terminal overdue for maintenance."""
        errors, reads = read_errors(self.term), self.term.n.card_reads
        return (self.overdue > 0 and errors >= READER_MIN_ERRORS
                and errors / max(1, reads) >= READER_FACTOR * self.usual_reads)  # fmt: skip

    def share(self, kind: str) -> float:
        return self.kinds[kind] / self.n

    @property
    def swipe_heavy(self) -> bool:
        reads = sum(v for k, v in self.term.n.card_errors.items() if k in READ_ERRORS)
        return bool(reads) and self.term.n.swipe_errors / reads >= SWIPE_HEAVY


WEAR_RULES: tuple[SplitRule[WearFacts], ...] = (
    # maintenance_overdue: the document's 180 days at the time of the errors "and slowly
    # worsening reader/printer errors": both signs are needed to outweigh a printer fault
    SplitRule(Cause.MAINTENANCE_OVERDUE, 2.0, lambda f: f.overdue,
              lambda f: f"last_maintenance {f.oldest_date}: {f.oldest} days before the errors"
              f" (over {MAINTENANCE_DAYS})"),
    SplitRule(Cause.MAINTENANCE_OVERDUE, 1.0,
              lambda f: float(f.oldest is None and f.term.inv.maint_null),
              lambda f: "no maintenance on record (last_maintenance null)"),
    # worn by want of care: the reader worsens (a printer that worsens alone may just be broken)
    SplitRule(Cause.MAINTENANCE_OVERDUE, 2.0, lambda f: float(bool(f.trend["reader"])),
              lambda f: f.trend["reader"]),
    SplitRule(Cause.MAINTENANCE_OVERDUE, 1.0, lambda f: float(bool(f.trend["printer"])),
              lambda f: f.trend["printer"]),
    SplitRule(Cause.MAINTENANCE_OVERDUE, 1.5, lambda f: float(f.reader_worn),
              lambda f: f"card read errors on {read_errors(f.term)} of {f.term.n.card_reads} reads"
              f" (the fleet's usual: {100 * f.usual_reads:.1f}%)"),
    SplitRule(Cause.MAINTENANCE_OVERDUE, 1.0,
              lambda f: float(bool(f.kinds["printer"] and (f.kinds["reader"] or f.reader_worn))),
              lambda f: "both the reader and the printer fail"),
    SplitRule(Cause.MAINTENANCE_OVERDUE, 1.0, lambda f: f.share("reader"),
              lambda f: f"{sum(f.term.n.card_errors.values())} card read errors,"
              f" {f.term.n.printer_faults} printer faults"),
    # hardware_printer: printer faults, episodes at the receipt screen
    SplitRule(Cause.HARDWARE_PRINTER, 3.0, lambda f: f.share("printer"),
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
    SplitRule(Cause.ENVIRONMENT_INTERFERENCE, 0.5, lambda f: float(f.swipe_heavy),
              lambda f: f"{f.term.n.swipe_errors} swipe read errors (bad_read/lrc)"),
    SplitRule(Cause.ENVIRONMENT_INTERFERENCE, 0.5, lambda f: float(f.recent), lambda f: None),
)  # fmt: skip


def split_wear(eps: list[Scored], term: TerminalRecord, usual_reads: float) -> Split:
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
        trends(term), sum(1 for s in eps if s.episode.around.swipe_burst >= 2),
        sum(1 for s in eps if s.episode.end_kind == "watchdog"), usual_reads,
    )  # fmt: skip
    return weigh(WEAR_CAUSES, WEAR_RULES, facts)
