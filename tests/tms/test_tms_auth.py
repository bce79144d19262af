"""Users, tokens and sessions: argon2 hashes, expiry, logout, disabling, the login throttle,
CSRF on the pages' forms, and `steadypos tms create-user`."""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from tmskit import PASSWORD, Tms

from steadypos.host.process import steadypos_argv
from steadypos.tms.models import Token, TokenKind, User, utcnow
from steadypos.tms.services import auth


def test_passwords_and_tokens_are_stored_only_hashed(tms: Tms) -> None:
    headers = tms.login("ops")
    clear = headers["Authorization"].split()[1]
    with tms.ctx.sessions() as db:
        user = db.scalar(select(User).where(User.username == "ops"))
        assert user is not None and user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        digests = set(db.scalars(select(Token.digest)))
        assert clear not in digests and len(digests) >= 2


def test_tokens_expire_and_logout_revokes(tms: Tms) -> None:
    headers = tms.login("ops")
    assert tms.client.get("/api/v1/auth/me", headers=headers).json()["role"] == "ops"
    clear = headers["Authorization"].split()[1]
    with tms.ctx.sessions() as db:
        later = utcnow() + tms.ctx.settings.token_ttl + timedelta(seconds=1)
        assert auth.resolve(db, clear, (TokenKind.API,)) is not None
        assert auth.resolve(db, clear, (TokenKind.API,), now=later) is None
        assert auth.resolve(db, clear, (TokenKind.SESSION,)) is None  # not a page session
    assert tms.client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    r = tms.client.get("/api/v1/auth/me", headers=headers)
    assert r.status_code == 401 and r.json() == {"detail": "token unknown, expired or revoked"}


def test_only_admins_make_users_and_merchants_need_a_mid(tms: Tms) -> None:
    body = {"username": "carol", "password": "long enough pw", "role": "ops"}
    assert tms.call("POST", "/users", json=body).status_code == 403
    made = tms.ok("POST", "/users", 201, as_user="admin", json=body)
    assert made["role"] == "ops" and "password" not in made
    assert tms.call("POST", "/users", as_user="admin", json=body).status_code == 409
    r = tms.call("POST", "/users", as_user="admin",
                 json={"username": "dave", "password": "long enough pw", "role": "merchant"})
    assert r.status_code == 422 and "mid" in r.json()["detail"]
    r = tms.call("POST", "/users", as_user="admin",
                 json={"username": "dave", "password": "long enough pw", "role": "merchant",
                       "mid": "898600000009999"})
    assert r.status_code == 422 and r.json()["detail"].startswith("mid: ")


def test_a_disabled_user_is_out_at_once(tms: Tms) -> None:
    headers = tms.user("erin", "ops")
    user_id = tms.ok("GET", "/auth/me", as_user="erin") and next(
        u["id"] for u in tms.ok("GET", "/users", as_user="admin")["items"]
        if u["username"] == "erin")
    assert tms.ok("POST", f"/users/{user_id}/disable", as_user="admin")["disabled"] is True
    assert tms.client.get("/api/v1/auth/me", headers=headers).status_code == 401
    r = tms.client.post("/api/v1/auth/token", data={"username": "erin", "password": PASSWORD})
    assert r.status_code == 401


def test_login_is_throttled_after_repeated_failures(tms: Tms) -> None:
    tms.user("frank", "ops")
    for _ in range(tms.ctx.settings.max_failures):
        r = tms.client.post("/api/v1/auth/token", data={"username": "frank", "password": "no"})
        assert r.status_code == 401
    r = tms.client.post("/api/v1/auth/token", data={"username": "frank", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert r.json()["detail"].startswith("too many failed logins")
    # Another user is not locked out by frank's failures.
    assert tms.client.post("/api/v1/auth/token",
                           data={"username": "ops", "password": PASSWORD}).status_code == 200


def test_page_forms_need_the_sessions_csrf_token(tms: Tms) -> None:
    login = tms.client.get("/ui/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', login.text)
    assert csrf is not None
    bad = tms.client.post("/ui/login", data={"username": "ops", "password": PASSWORD,
                                             "csrf": "forged"}, follow_redirects=False)
    assert bad.status_code == 403
    tms.client.get("/ui/login")  # a fresh login cookie
    cookie_csrf = tms.client.cookies.get("tms_login_csrf")
    ok = tms.client.post("/ui/login", data={"username": "ops", "password": PASSWORD,
                                            "csrf": cookie_csrf}, follow_redirects=False)
    assert ok.status_code == 303
    session = ok.headers["set-cookie"]
    assert "tms_session=" in session and "HttpOnly" in session and "SameSite=lax" in session
    mid = tms.merchant()
    r = tms.client.post("/ui/terminals", data={"mid": mid, "serial": "SNCSRF1", "brand": "PAX",
                                               "model": "A920", "firmware": "1"},
                        follow_redirects=False)
    assert r.status_code == 403
    assert tms.ok("GET", "/terminals", params={"q": "SNCSRF1"})["total"] == 0
    tms.client.cookies.clear()


def test_create_user_command(tmp_path: Path) -> None:
    db = tmp_path / "host.db"
    secret = tmp_path / "pw"
    secret.write_text("a long admin password\n")
    def argv(username: str) -> list[str]:
        return steadypos_argv("tms", "create-user", "--db", str(db), "--username", username,
                              "--role", "admin", "--password-file", str(secret))

    done = subprocess.run(argv("root"), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "user root (admin) created" in done.stdout
    assert "a long admin password" not in done.stdout + done.stderr
    again = subprocess.run(argv("root"), capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "taken" in again.stderr
    secret.write_text("short\n")
    short = subprocess.run(argv("x2"), capture_output=True, text=True, timeout=60)
    assert short.returncode == 2 and "password" in short.stderr


def test_a_username_postgresql_cannot_store_is_just_a_failed_login(tms: Tms) -> None:
    for name in ("a\x00b", "x" * 500):
        r = tms.client.post("/api/v1/auth/token", data={"username": name, "password": "pw"})
        assert r.status_code == 401, r.text
