"""Event log v1 (docs/flash-exit-diagnosis.md): event types, their values and keys, the time format.

The one schema shared by the terminal's writer, the fleet simulator and the diagnosis reader. Of the
project it imports only steadypos.clock, the time format (the bottom floor). Values are
`StrEnum`s: equal to their JSON text.
"""

from __future__ import annotations

import json
from enum import StrEnum

from steadypos.clock import format_ts as format_ts  # the log's time format: the one clock format
from steadypos.clock import now_ts as now_ts


class EventType(StrEnum):
    INVENTORY = "inventory"
    APP = "app"
    SCREEN = "screen"
    CARD = "card"
    PIN = "pin"
    TXN = "txn"
    NET = "net"
    HEALTH = "health"
    PARAMS = "params"
    OPERATOR = "operator"
    TRAINING = "training"
    MAINTENANCE = "maintenance"


class AppEvent(StrEnum):
    START = "start"
    EXIT = "exit"


class ExitReason(StrEnum):
    NORMAL = "normal"
    CRASH = "crash"
    ANR = "anr"
    KILLED = "killed"
    POWER_LOSS = "power_loss"
    WATCHDOG = "watchdog"


class Screen(StrEnum):
    IDLE = "idle"
    AMOUNT = "amount"
    CARD = "card"
    PIN = "pin"
    ONLINE = "online"
    RESULT = "result"
    RECEIPT = "receipt"
    SETTINGS = "settings"


class CardMethod(StrEnum):
    SWIPE = "swipe"
    CHIP = "chip"
    CONTACTLESS = "contactless"
    QR = "qr"


class CardError(StrEnum):
    BAD_READ = "bad_read"
    LRC = "lrc"
    CHIP_MUTE = "chip_mute"
    NO_CODE = "no_code"
    WRONG_METHOD = "wrong_method"


class PinOutcome(StrEnum):
    ENTERED = "entered"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"


class TxnKind(StrEnum):
    SALE = "sale"
    VOID = "void"
    REFUND = "refund"
    BALANCE = "balance"
    REVERSAL = "reversal"
    SIGN_IN = "sign_in"
    SETTLE = "settle"


class TxnPhase(StrEnum):
    SENT = "sent"
    RESPONSE = "response"
    TIMEOUT = "timeout"
    CONN_FAIL = "conn_fail"
    MAC_FAIL = "mac_fail"


class NetEvent(StrEnum):
    UP = "up"
    DOWN = "down"
    CONNECT_FAIL = "connect_fail"
    RESET = "reset"


class Power(StrEnum):
    AC = "ac"
    BATTERY = "battery"
    UNSTABLE = "unstable"


class PrinterState(StrEnum):
    OK = "ok"
    PAPER_OUT = "paper_out"
    JAM = "jam"
    HEAD_FAULT = "head_fault"


class ParamsEvent(StrEnum):
    APPLIED = "applied"
    MISMATCH = "mismatch"


class OperatorEvent(StrEnum):
    LOGIN = "login"
    LOGOUT = "logout"


class MaintenanceKind(StrEnum):
    CLEANING = "cleaning"
    INSPECTION = "inspection"
    PART_REPLACED = "part_replaced"
    SOFTWARE_UPDATE = "software_update"


# Screens of a payment flow: leaving `idle` for one of these starts a flow.
FLOW_SCREENS: frozenset[str] = frozenset(
    {Screen.AMOUNT, Screen.CARD, Screen.PIN, Screen.ONLINE, Screen.RECEIPT}
)
# Card errors that are the reader failing a card (not the operator's wrong method). A QR scan
# that found no code (`no_code`) is not among them: the scanner had nothing to read (a code not
# shown, the wrong screen held up), which is how the counter uses the terminal, not its reader.
READ_ERRORS: frozenset[str] = frozenset({CardError.BAD_READ, CardError.LRC, CardError.CHIP_MUTE})
# Network events that are trouble (not `up`).
NET_TROUBLE: frozenset[str] = frozenset({NetEvent.DOWN, NetEvent.CONNECT_FAIL, NetEvent.RESET})
# Printer states that are a fault of the printer (paper out is the operator's to fix).
PRINTER_FAULTS: frozenset[str] = frozenset({PrinterState.JAM, PrinterState.HEAD_FAULT})

COMMON_KEYS = ("ts", "tid", "type")
# The keys of each type, as the document lists them (optional ones included).
KEYS: dict[EventType, tuple[str, ...]] = {
    EventType.INVENTORY: ("brand", "model", "firmware", "app_version", "params_version", "mid",
                          "last_maintenance"),
    EventType.APP: ("event", "app_version", "reason", "exception", "frames"),
    EventType.SCREEN: ("screen",),
    EventType.CARD: ("method", "ok", "error"),
    EventType.PIN: ("outcome",),
    EventType.TXN: ("kind", "stan", "phase", "rc", "amount", "latency_ms"),
    EventType.NET: ("event", "signal_dbm", "latency_ms"),
    EventType.HEALTH: ("mem_free_mb", "mem_total_mb", "cpu_temp_c", "battery_pct", "power",
                       "printer", "signal_dbm", "storage_free_mb"),
    EventType.PARAMS: ("event", "version", "field"),
    EventType.OPERATOR: ("event", "operator"),
    EventType.TRAINING: ("operator", "course"),
    EventType.MAINTENANCE: ("kind",),
}  # fmt: skip
TYPES: frozenset[str] = frozenset(EventType)

_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def encode(ts: str, tid: str, type_: EventType | str, keys: dict[str, object]) -> str:
    """One event as a compact JSON line (no newline): ts, tid, type first, then its keys."""
    return _compact({"ts": ts, "tid": tid, "type": type_, **keys})
