"""The bench's world, shared by host_throughput.py, host_floor.py and host_instructions.py: the
demo data plus a terminal and a card per client, the clients' terminals and their sale
template, and a fresh database seeded with that world by the sources under test.

    python benchmarks/bench_world.py --seed URL KEYS CLIENTS   (what fresh_db runs)
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import iso8583
import psycopg

from steadypos.cards import track2_of
from steadypos.host.demo_data import DEMO_ISSUER_MK, demo_data, seed
from steadypos.host.secrets import open_keys
from steadypos.host.store import open_store
from steadypos.protocol import mac
from steadypos.protocol.builders import Station
from steadypos.protocol.crypto import WorkingKeys
from steadypos.protocol.frame import PREFIX_LEN
from steadypos.protocol.spec import SPEC


def _luhn(body: str) -> str:
    total = sum(sum(divmod(int(d) * (2 - i % 2), 10)) for i, d in enumerate(reversed(body)))
    return body + str(-total % 10)


def bench_world(clients: int) -> dict[str, list[dict[str, object]]]:
    """The demo world plus one terminal and one card for each client: a real terminal has one
    connection, and a card pays at one counter at a time (several host processes lock both)."""
    world = demo_data()
    mid = str(world["terminals"][0]["mid"])
    for i in range(clients):
        world["terminals"].append({"tid": f"B{i:07d}", "mid": mid, "tmk": f"{i:032X}",
                                   "mac": "x919"})
        pan = _luhn(f"62220299{i:07d}")
        world["cards"].append({"pan": pan, "expiry": "3012", "pin": "123456",
                               "track2": track2_of(pan, "3012"), "kind": "magstripe",
                               "status": "active", "balance": 10**9})
    return world


def bench_terminals(world: dict[str, list[dict[str, object]]]) -> list[Terminal]:
    """The clients' terminals (not signed in yet)."""
    return [Terminal(Station(str(t["tid"]), str(t["mid"])), bytes.fromhex(str(t["tmk"])),
                     mac.MacAlgorithm(t["mac"])) for t in world["terminals"]
            if str(t["tid"]).startswith("B")]



@dataclass
class Template:
    """A packed sale whose STAN and MAC are rewritten per send."""

    frame: bytearray
    stan_at: int

    @classmethod
    def of(cls, frame: bytes) -> Template:
        _, enc = iso8583.decode(frame[PREFIX_LEN:], SPEC)
        at = PREFIX_LEN
        for key in ["t", "p"] + sorted((k for k in enc if k.isdigit()), key=int):
            if key == "11":
                return cls(bytearray(frame), at + len(enc[key]["len"]))
            at += len(enc[key]["len"]) + len(enc[key]["data"])
        raise ValueError("no STAN in the template")

    def with_stan(self, stan: int, mak: bytes, alg: mac.MacAlgorithm) -> bytes:
        self.frame[self.stan_at:self.stan_at + 3] = bytes.fromhex(f"{stan:06d}")
        # The terminal's registered MAC over MTI .. the byte before F64.
        self.frame[-8:] = mac.compute(mak, bytes(self.frame[PREFIX_LEN:-8]), alg)
        return bytes(self.frame)


@dataclass
class Terminal:
    station: Station
    tmk: bytes
    alg: mac.MacAlgorithm
    keys: WorkingKeys | None = None
    batch: int = 1
    stans: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


def _pg_schema(url: str) -> tuple[str, str]:
    """A fresh schema in the PostgreSQL database of `url`, and the URL that uses it."""
    name = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    return name, f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{name}"


def _drop_pg_schema(url: str, name: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {name} CASCADE")


@contextlib.contextmanager
def fresh_db(db: str | None, clients: int, env: dict[str, str]) -> Iterator[tuple[str, str]]:
    """(database URL, key file) of a fresh database seeded with the bench world (SQLite when db
    is None), seeded by the sources under test; removed after."""
    with tempfile.TemporaryDirectory(prefix="steadypos-bench-") as tmp:
        schema = None
        if db is None:
            url = str(Path(tmp) / "host.db")
        else:
            schema, url = _pg_schema(db)
        try:
            subprocess.run([sys.executable, __file__, "--seed", url, f"{tmp}/host.keys",
                            str(clients)], check=True, env=env)
            yield url, f"{tmp}/host.keys"
        finally:
            if schema is not None and db is not None:
                _drop_pg_schema(db, schema)


def _seed(url: str, keys: str, clients: int) -> None:
    store = open_store(url)
    seed(store, open_keys(keys, DEMO_ISSUER_MK), bench_world(clients))  # type: ignore[arg-type]
    store.close()


def env_for(src: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src
    return env


def sources(given: list[str]) -> list[tuple[str, str | None]]:
    """(name, PYTHONPATH or None) of each code version to measure."""
    if not given:
        return [("this tree", None)]
    out = []
    for item in given:
        name, sep, path = item.partition("=")
        if not sep or not (Path(path) / "steadypos").is_dir():
            raise SystemExit(f"error: --src {item!r}: give NAME=PATH with PATH/steadypos")
        out.append((name, str(Path(path).resolve())))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", nargs=3, required=True, metavar=("URL", "KEYS", "CLIENTS"))
    args = ap.parse_args()
    _seed(args.seed[0], args.seed[1], int(args.seed[2]))


if __name__ == "__main__":
    main()
