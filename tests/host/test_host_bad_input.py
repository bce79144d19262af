"""A host database that is not one, and a port that is not one: one line, exit 2, no traceback,
and no file left behind (no keys file beside a database the host could not open)."""

from __future__ import annotations

from pathlib import Path

from support.cli import refused

from steadypos.cli import app


def _refused(args: list[str]) -> str:
    return refused(app, args)


def test_a_corrupt_host_database(tmp_path: Path) -> None:
    db = tmp_path / "host.db"
    db.write_bytes(b"\x00garbage, not SQLite" * 300)
    assert "cannot open the host database" in _refused(["host", "--db", str(db), "--port", "0"])
    assert "restore it from a backup" in _refused(["ledger", "check", "--db", str(db)])
    assert {p.name for p in tmp_path.iterdir()} == {"host.db"}


def test_a_port_out_of_range(tmp_path: Path) -> None:
    for option in ("--port", "--tls-port"):
        line = _refused(["host", "--db", str(tmp_path / "host.db"), option, "70000"])
        assert f"{option} 70000 is not a port" in line
    assert list(tmp_path.iterdir()) == []
