"""Helpers of the TMS tests: an app on SQLite or on a fresh PostgreSQL schema, users, valid
applications, and the onboarding steps as API calls."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from steadypos.tms.actors import Actor
from steadypos.tms.app import create_app, open_context
from steadypos.tms.context import TmsContext
from steadypos.tms.identifiers import USCC_ALPHABET, uscc_check_char
from steadypos.tms.schemas.users import UserIn
from steadypos.tms.services import users
from steadypos.tms.settings import Settings

PASSWORD = "correct horse battery"
_serial = itertools.count(1)


def licence(n: int | None = None) -> str:
    """A valid unified social credit code (check character computed), different per call."""
    n = next(_serial) if n is None else n
    body = "9131000" + "".join(USCC_ALPHABET[(n // 31**i) % 31] for i in range(10))
    return body + uscc_check_char(body)


def application(**over: Any) -> dict[str, Any]:
    data = {"legal_name": "上海稳付餐饮有限公司", "licence_no": licence(),
            "contact_name": "王芳", "contact_phone": "13912345678",
            "address": "上海市浦东新区世纪大道 100 号", "settlement_account": "6222021001122334455",
            "terminals_requested": 2}
    data.update(over)
    return data


@dataclass
class Tms:
    """One app for a test module, with an admin and an ops user."""

    ctx: TmsContext
    client: TestClient
    backend: str
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def start(cls, db: str, ca_dir: Path, backend: str, **settings: Any) -> Tms:
        ctx = open_context(Settings.for_db(db, ca_dir, **settings))
        tms = cls(ctx, TestClient(create_app(ctx)), backend)
        tms.user("admin", "admin")
        tms.user("ops", "ops")
        return tms

    def user(self, username: str, role: str, mid: str | None = None) -> dict[str, str]:
        with self.ctx.sessions() as db:
            users.create(db, Actor("test", "admin"),
                         UserIn(username=username, password=PASSWORD, role=role,  # type: ignore[arg-type]
                                mid=mid))
            db.commit()
        self.headers[username] = self.login(username)
        return self.headers[username]

    def login(self, username: str, password: str = PASSWORD) -> dict[str, str]:
        r = self.client.post("/api/v1/auth/token",
                             data={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def call(self, method: str, path: str, as_user: str | None = "ops",
             **kw: Any) -> Any:
        headers = self.headers[as_user] if as_user else {}
        return self.client.request(method, f"/api/v1{path}", headers=headers, **kw)

    def ok(self, method: str, path: str, status: int = 200, as_user: str | None = "ops",
           **kw: Any) -> Any:
        r = self.call(method, path, as_user, **kw)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def merchant(self, **over: Any) -> str:
        """A new approved merchant's MID."""
        app_id = self.ok("POST", "/applications", 201, None, json=application(**over))["id"]
        return str(self.ok("POST", f"/applications/{app_id}/approve")["mid"])

    def terminal(self, mid: str, serial: str | None = None, **over: Any) -> str:
        body = {"mid": mid, "serial": serial or f"SN{secrets.token_hex(5).upper()}",
                "brand": "PAX", "model": "A920", "firmware": "PayDroid 8.1", **over}
        return str(self.ok("POST", "/terminals", 201, json=body)["tid"])

    def shipped(self, mid: str, serial: str | None = None) -> tuple[str, str, str]:
        """(TID, serial, activation code) of a new shipped terminal."""
        serial = serial or f"SN{secrets.token_hex(5).upper()}"
        tid = self.terminal(mid, serial)
        code = self.ok("POST", f"/terminals/{tid}/ship",
                       json={"carrier": "SF Express", "tracking_no": "SF1234567890"})
        return tid, serial, code["activation_code"]


def active(tms: Tms, mid: str, n: int = 1, register: bool = False,
           **over: Any) -> list[tuple[str, str]]:
    """`n` terminals of `mid` as activation leaves them (active, with a terminal token), made
    directly in the database: (TID, token) each. With `register` the host's registry knows them
    too (SQLite only)."""
    from steadypos.tms.identifiers import next_tid
    from steadypos.tms.models import FleetTerminal, utcnow
    from steadypos.tms.services.auth import issue_terminal

    made = []
    with tms.ctx.sessions() as db:
        for _ in range(n):
            tid = next_tid(db)
            db.add(FleetTerminal(**{"tid": tid, "mid": mid, "serial": f"SN{tid}", "brand": "PAX",
                               "model": "A920", "firmware": "PayDroid 8.1",
                               "mac_algorithm": "x919", "status": "active",
                               "activated_at": utcnow(), **over}))
            db.flush()
            made.append((tid, issue_terminal(db, tid)))
        db.commit()
    if register:
        for tid, _ in made:
            tms.ctx.host.register(tid, mid, secrets.token_bytes(16), "x919")
    return made


@dataclass
class DeviceApi:
    """The terminal side's TMS client (terminal/fleet.Api) over the test client."""

    client: TestClient
    token: str

    def _send(self, method: str, path: str, **kw: Any) -> Any:
        from steadypos.terminal.tmsclient import TmsCallError

        r = self.client.request(method, f"/api/v1{path}",
                                headers={"Authorization": f"Bearer {self.token}",
                                         **kw.pop("headers", {})}, **kw)
        if r.status_code >= 400:
            raise TmsCallError(f"{method} {path}: {r.status_code} {r.json()['detail']}",
                               r.status_code)
        return r

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        r = self._send(method, path, json=body)
        return r.json() if r.content else None

    def request(self, method: str, path: str, data: bytes | None = None,
                content_type: str | None = None) -> bytes:
        headers = {"Content-Type": content_type} if content_type else {}
        return bytes(self._send(method, path, content=data, headers=headers).content)
