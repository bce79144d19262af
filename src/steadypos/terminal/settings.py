"""How one terminal process runs, decided once at the command line (or by the test bench, chaos or a
benchmark that builds it) and passed down: simulated device faults, a crash point, a disk fault,
the journal's sync mode. No terminal module reads the environment for these."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from steadypos.terminal.devices import FAULT_KINDS
from steadypos.terminal.journal import DISK_FAULTS, JOURNAL_SYNC_MODES, DiskFault
from steadypos.terminal.steps import STEPS


class SettingsError(ValueError):
    """A setting that cannot be: one line that names it and what it may be."""


def parse_faults(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`device=fault` items (each may hold several, comma-separated) -> {device: fault}."""
    out: dict[str, str] = {}
    for item in items:
        for part in filter(None, (p.strip() for p in item.split(","))):
            device, sep, fault = (x.strip() for x in part.partition("="))
            if not sep or device not in FAULT_KINDS:
                raise SettingsError(f"--fault {part!r}: the device is one of "
                                    f"{', '.join(FAULT_KINDS)} (as device=fault)")
            if fault not in FAULT_KINDS[device]:
                raise SettingsError(f"--fault {part!r}: {device} faults are "
                                    f"{', '.join(FAULT_KINDS[device])}")
            out[device] = fault
    return out


def parse_crash_at(text: str | None) -> str | None:
    """A journal step by name or by its 1-based number."""
    if not text:
        return None
    if text.isdigit() and 1 <= int(text) <= len(STEPS):
        return STEPS[int(text) - 1]
    if text not in STEPS:
        raise SettingsError(f"--crash-at {text!r}: a journal step ({', '.join(STEPS)}) or its "
                            f"number 1..{len(STEPS)}")
    return text


def parse_disk_fault(text: str | None) -> DiskFault | None:
    """`full:N` or `refused:N`: the Nth journal write from start-up fails."""
    if not text:
        return None
    kind, _, n = text.partition(":")
    if kind not in DISK_FAULTS or not n.isdigit() or int(n) < 1:
        raise SettingsError(f"--disk-fault {text!r}: {' or '.join(DISK_FAULTS)} and the write "
                            "that fails, e.g. full:3")
    return kind, int(n)


def parse_sync(text: str) -> str:
    mode = text.strip().upper()
    if mode not in JOURNAL_SYNC_MODES:
        raise SettingsError(f"--journal-sync {text!r}: one of {', '.join(JOURNAL_SYNC_MODES)}")
    return mode


@dataclass(frozen=True)
class TerminalSettings:
    """What the test bench may change about a terminal; the defaults are a real terminal's."""

    faults: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    crash_at: str | None = None  # SIGKILL itself right after this step is on disk
    disk_fault: DiskFault | None = None
    journal_sync: str = "FULL"  # OFF only to measure what durability costs (benchmarks)

    @classmethod
    def parse(cls, faults: list[str] | tuple[str, ...] = (), crash_at: str | None = None,
              disk_fault: str | None = None, journal_sync: str = "FULL") -> TerminalSettings:
        """From the command line's texts; SettingsError names the first one that is wrong."""
        return cls(MappingProxyType(parse_faults(faults)), parse_crash_at(crash_at),
                   parse_disk_fault(disk_fault), parse_sync(journal_sync))
