"""`steadypos chaos --kill-workers`: a host of K worker processes on PostgreSQL, terminals streaming
sales through it on several connections, and host workers SIGKILLed at seeded random moments. A
terminal repeats or reverses what it heard nothing back about; after each schedule the money is
checked: every approved sale charged once, every reversed one not at all, the ledger exact."""

from __future__ import annotations

import itertools
import os
import random
import secrets as token
import shutil
import signal
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from steadypos.chaos import ops
from steadypos.chaos.invariants import Violation
from steadypos.chaos.sim import tmp_root
from steadypos.host import process
from steadypos.host.ledger import check, merchant_account
from steadypos.host.secrets import open_keys
from steadypos.host.store import Store, open_store
from steadypos.protocol import builders, mac
from steadypos.protocol.builders import Card, Station
from steadypos.protocol.codec import Message
from steadypos.protocol.codes import ResponseCode
from steadypos.protocol.crypto import WorkingKeys, unpack_key_block
from steadypos.protocol.link import Connection

LANES_PER_TERMINAL = 2  # connections of one terminal, which the workers share between them
SELL_SECONDS = 2.5  # of one schedule, during which its kills fall
MAX_KILLS = 3
READ_TIMEOUT = 3.0
SETTLE_SECONDS = 20.0  # to get an answer for what was left unanswered, once the kills stop


@dataclass(frozen=True)
class KillSchedule:
    """When (seconds into the selling) which worker (index among the live ones) is killed, and
    whether each connection reverses (else repeats) a sale it heard nothing back about."""

    seed: int
    kills: tuple[tuple[float, int], ...]
    reverses: tuple[bool, ...]

    @classmethod
    def make(cls, seed: int, lanes: int) -> KillSchedule:
        rng = random.Random(seed)
        kills = sorted((round(rng.uniform(0.2, SELL_SECONDS), 3), rng.randrange(8))
                       for _ in range(rng.randint(1, MAX_KILLS)))
        return cls(seed, tuple(kills), tuple(rng.random() < 0.5 for _ in range(lanes)))


@dataclass
class StreamedSale:
    msg: Message  # unMACed
    card: int
    amount: int
    rc: str | None = None  # None: no answer yet
    rrn: str = ""
    reversed: bool = False


@dataclass
class Lane:
    """One connection of one terminal: its sales, in order."""

    station: Station
    alg: mac.MacAlgorithm
    keys: WorkingKeys
    stans: Any  # shared with the terminal's other lane
    reverses: bool
    sales: list[StreamedSale] = field(default_factory=list)
    problems: list[Violation] = field(default_factory=list)
    conn: Connection | None = None

    def exchange(self, addr: tuple[str, int], msg: Message) -> Message:
        """Send and receive; a broken connection is closed and raises OSError."""
        try:
            if self.conn is None:
                self.conn = Connection(*addr, connect_timeout=READ_TIMEOUT,
                                       read_timeout=READ_TIMEOUT)
            return self.conn.exchange(mac.sign(msg, self.keys.mak, self.alg))
        except OSError:
            self.close()
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def settle(self, addr: tuple[str, int], sale: StreamedSale, until: float) -> None:
        """What a terminal does about a sale it heard nothing back about: the reversal (98), or
        the same request again, until the host answers."""
        msg = builders.reversal(sale.msg, "98", "") if self.reverses else sale.msg
        while time.monotonic() < until:
            try:
                resp = self.exchange(addr, msg)
            except OSError:
                time.sleep(0.05)
                continue
            if self.reverses:
                sale.reversed = resp.get(39) == ResponseCode.APPROVED
                if not sale.reversed:
                    self.problems.append(Violation("reversal-refused", f"{resp.get(39)}"))
            else:
                sale.rc, sale.rrn = resp.get(39), resp.get(37)
            return
        self.problems.append(Violation("host-stopped-serving",
                                       f"{self.station.tid} stan {sale.msg.get(11)} unanswered"))

    def sell(self, addr: tuple[str, int], cards: list[dict[str, Any]], stop: threading.Event,
             first_card: int) -> None:
        """Sell until `stop`; settle each unanswered sale before the next."""
        for n in itertools.count():
            if stop.is_set():
                return
            card = (first_card + n) % len(cards)
            amount = 100 + n % 37
            msg = builders.sale(self.station, next(self.stans), 1, amount,
                                Card.from_track2(cards[card]["track2"]))
            sale = StreamedSale(msg, card, amount)
            self.sales.append(sale)
            try:
                resp = self.exchange(addr, msg)
                sale.rc, sale.rrn = resp.get(39), resp.get(37)
            except OSError:
                self.settle(addr, sale, time.monotonic() + SETTLE_SECONDS)


@dataclass
class RunFigures:
    seed: int
    kills: int = 0
    sales: int = 0  # approved and not reversed
    violations: list[Violation] = field(default_factory=list)


def schema_url(base: str, schema: str) -> str:
    """`base` with its connections using `schema` first."""
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"


def worker_pids(supervisor: int) -> list[int]:
    """The live child processes of `supervisor` (its host workers), oldest pid first."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == str(supervisor) and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return sorted(found)


def _sign_in(addr: tuple[str, int], t: dict[str, Any]) -> WorkingKeys:
    station = Station(t["tid"], t["mid"])
    conn = Connection(*addr, connect_timeout=READ_TIMEOUT, read_timeout=30.0)
    try:
        resp = conn.exchange(builders.sign_in(station, 1, 1))
    finally:
        conn.close()
    if resp.get(39) != "00":
        raise RuntimeError(f"sign-in of {t['tid']} answered {resp.get(39)}")
    return unpack_key_block(bytes.fromhex(t["tmk"]), bytes.fromhex(resp.get(62)))


def _lanes(addr: tuple[str, int], sched: KillSchedule) -> list[Lane]:
    lanes: list[Lane] = []
    for t in ops.demo_terminals():
        keys, stans = _sign_in(addr, t), itertools.count(2)
        for _ in range(LANES_PER_TERMINAL):
            lanes.append(Lane(Station(t["tid"], t["mid"]), mac.MacAlgorithm(t["mac"]), keys,
                              stans, sched.reverses[len(lanes) % len(sched.reverses)]))
    return lanes


def _kill(supervisor: int, sched: KillSchedule, started: float) -> int:
    """SIGKILL the workers the schedule names, when it names them: how many died."""
    killed = 0
    for at, which in sched.kills:
        time.sleep(max(0.0, started + at - time.monotonic()))
        pids = worker_pids(supervisor)
        if pids:
            os.kill(pids[which % len(pids)], signal.SIGKILL)
            killed += 1
    return killed


def _balances(store: Store, accounts: list[str]) -> list[int]:
    return [store.balance(a) for a in accounts]


def check_money(store: Store, lanes: list[Lane], card_accounts: list[str], opening: list[int],
           merchants: dict[str, int]) -> list[Violation]:
    """The money after a schedule, against what each connection saw."""
    out = [v for lane in lanes for v in lane.problems]
    kinds = Counter((kind, ref) for _, kind, ref, _ in store.postings())
    spent = [0] * len(card_accounts)
    took: Counter[str] = Counter()
    rrns: Counter[str] = Counter()
    for lane in lanes:
        for s in lane.sales:
            ref = f"{lane.station.tid}/000001/{int(s.msg.get(11)):06d}"
            stands = s.rc == ResponseCode.APPROVED and not s.reversed
            want = 1 if stands else kinds[("reversal", ref)]
            if kinds[("sale", ref)] != want or kinds[("reversal", ref)] > 1:
                out.append(Violation("posted-once", f"{ref}: {kinds[('sale', ref)]} sale, "
                                     f"{kinds[('reversal', ref)]} reversal postings"))
            if stands:
                spent[s.card] += s.amount
                took[lane.station.mid] += s.amount
                rrns[s.rrn] += 1
    now = _balances(store, card_accounts)
    out += [Violation("card-balance", f"{a}: {o} - {d} != {n}")
            for a, o, d, n in zip(card_accounts, opening, spent, now, strict=True) if o - d != n]
    out += [Violation("merchant-balance", f"{mid}: +{took[mid]} expected")
            for mid, before in merchants.items()
            if store.balance(merchant_account(mid)) - before != took[mid]]
    out += [Violation("rrn-unique", f"{r} given {n} times") for r, n in rrns.items() if n > 1]
    out += [Violation("ledger", p) for p in check(store).problems]
    return out


def run(base_url: str, workers: int, seed: int) -> RunFigures:
    """One schedule on a fresh schema of the database at `base_url`."""
    sched = KillSchedule.make(seed, LANES_PER_TERMINAL * len(ops.demo_terminals()))
    schema = f"chaos_kills_{seed}_{token.token_hex(3)}"
    root = Path(tempfile.mkdtemp(prefix="steadypos-kills-", dir=tmp_root()))
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url, keys = schema_url(base_url, schema), root / "host.keys"
    try:
        with open(root / "host.stderr", "wb") as err:
            proc, host, port = process.start(process.steadypos_argv(
                "host", "--db", url, "--keys", str(keys), "--port", "0", "--workers",
                str(workers), "--seed-demo"), stderr=err)
        try:
            figures = _sell_and_kill(proc.pid, (host, port), url, keys, sched)
        finally:
            status = process.stop(proc)
        if status != 0:
            figures.violations.append(Violation("host-exit", f"supervisor exited {status}"))
        return figures
    finally:
        with psycopg.connect(base_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
        shutil.rmtree(root, ignore_errors=True)


def _sell_and_kill(supervisor: int, addr: tuple[str, int], url: str, keys: Path,
                   sched: KillSchedule) -> RunFigures:
    cards = ops.demo_cards()
    secrets = open_keys(keys)
    store = open_store(url)
    try:
        rows = [store.card(secrets.pan_ref(c["pan"])) for c in cards]
        accounts = [r.account for r in rows if r is not None]
        merchants = {t["mid"]: store.balance(merchant_account(t["mid"]))
                     for t in ops.demo_terminals()}
        opening = _balances(store, accounts)
        lanes = _lanes(addr, sched)
        stop = threading.Event()
        threads = [threading.Thread(target=lane.sell, args=(addr, cards, stop, i), daemon=True)
                   for i, lane in enumerate(lanes)]
        for t in threads:
            t.start()
        figures = RunFigures(sched.seed, kills=_kill(supervisor, sched, time.monotonic()))
        time.sleep(max(0.0, SELL_SECONDS - sched.kills[-1][0]))
        stop.set()
        for t in threads:
            t.join(SETTLE_SECONDS + 2 * READ_TIMEOUT)
        for lane in lanes:
            lane.close()
        figures.violations += check_money(store, lanes, accounts, opening, merchants)
        figures.sales = sum(1 for lane in lanes for s in lane.sales
                            if s.rc == ResponseCode.APPROVED and not s.reversed)
        return figures
    finally:
        store.close()


@dataclass
class KillCampaign:
    runs: list[RunFigures] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"schedules": len(self.runs), "kills": sum(r.kills for r in self.runs),
                "sales": sum(r.sales for r in self.runs), "seconds": round(self.seconds, 1),
                "violations": [{"seed": r.seed, "invariant": v.invariant, "detail": v.detail}
                               for r in self.runs for v in r.violations]}


def campaign(base_url: str, workers: int, first_seed: int, runs: int,
             progress: Any = None) -> KillCampaign:
    """Schedules first_seed .. first_seed + runs - 1 (each replays from its own seed)."""
    out = KillCampaign()
    started = time.monotonic()
    for seed in range(first_seed, first_seed + runs):
        out.runs.append(run(base_url, workers, seed))
        if progress is not None:
            progress(out.runs[-1])
    out.seconds = time.monotonic() - started
    return out
