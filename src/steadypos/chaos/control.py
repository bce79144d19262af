"""The proxy's control interface: minimal HTTP/1.1 + JSON on asyncio streams (one request per
connection), and `call()`, a small client for it."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import logging
from http import HTTPStatus
from typing import Any, Protocol

from steadypos.chaos.toxics import KINDS, Toxic

log = logging.getLogger("steadypos.chaos")

MAX_HEAD = 8192
MAX_BODY = 65536
READ_TIMEOUT = 10.0

ROUTES = """\
GET    /toxics        the toxics in force, with remaining and injected
POST   /toxics        add a toxic (JSON object) or several (JSON list, all or none)
GET    /toxics/NAME   one toxic
DELETE /toxics/NAME   remove one toxic
DELETE /toxics        remove all toxics
GET    /injected      frames hit, by kind
GET    /kinds         the kinds of toxic and their parameters
GET    /status        addresses, seed, frames, injected, toxics"""


class Controlled(Protocol):
    """What the control interface drives: the fault proxy (which serves it, so this module names
    no proxy and imports nothing of it)."""

    listen: tuple[str, int]
    upstream: tuple[str, int]
    port: int
    seed: int

    def add(self, toxic: Toxic) -> Toxic: ...
    def remove(self, name: str) -> bool: ...
    def clear(self) -> None: ...
    def toxics(self) -> list[Toxic]: ...
    def status(self) -> list[dict[str, Any]]: ...

    @property
    def injected(self) -> dict[str, int]: ...

    @property
    def frames(self) -> dict[str, int]: ...


class _HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def handle(proxy: Controlled, method: str, path: str, body: bytes) -> tuple[int, Any]:
    """One request: (HTTP status, JSON-ready body or None)."""
    path = path.split("?", 1)[0].rstrip("/") or "/"
    parts = path.strip("/").split("/")
    if parts[0] == "toxics" and len(parts) <= 2:
        name = parts[1] if len(parts) == 2 else None
        if method == "GET":
            items = proxy.status()
            if name is None:
                return HTTPStatus.OK, items
            found = [t for t in items if t["name"] == name]
            if not found:
                raise _HttpError(HTTPStatus.NOT_FOUND, f"no toxic named {name!r}")
            return HTTPStatus.OK, found[0]
        if method == "DELETE":
            if name is None:
                proxy.clear()
                return HTTPStatus.NO_CONTENT, None
            if not proxy.remove(name):
                raise _HttpError(HTTPStatus.NOT_FOUND, f"no toxic named {name!r}")
            return HTTPStatus.NO_CONTENT, None
        if method == "POST" and name is None:
            return _add(proxy, body)
        raise _HttpError(HTTPStatus.METHOD_NOT_ALLOWED, f"{method} {path} is not supported")
    if method != "GET":
        raise _HttpError(HTTPStatus.METHOD_NOT_ALLOWED, f"{method} {path} is not supported")
    if path == "/injected":
        return HTTPStatus.OK, proxy.injected
    if path == "/kinds":
        return HTTPStatus.OK, {k.name: {"directions": list(k.directions),
                                        "default_direction": k.default_direction,
                                        "params": list(k.params), "summary": k.summary}
                               for k in KINDS.values()}
    if path == "/status":
        return HTTPStatus.OK, {
            "listen": [proxy.listen[0], proxy.port], "upstream": list(proxy.upstream),
            "seed": proxy.seed, "frames": proxy.frames, "injected": proxy.injected,
            "toxics": proxy.status()}
    if path == "/":
        return HTTPStatus.OK, {"routes": ROUTES.splitlines()}
    raise _HttpError(HTTPStatus.NOT_FOUND, f"no route {path}")


def _add(proxy: Controlled, body: bytes) -> tuple[int, Any]:
    try:
        data = json.loads(body or b"null")
    except ValueError as exc:
        raise _HttpError(HTTPStatus.BAD_REQUEST, f"body is not JSON: {exc}") from exc
    many = isinstance(data, list)
    try:
        toxics = [Toxic.from_dict(d) for d in (data if many else [data])]
    except (ValueError, TypeError) as exc:
        raise _HttpError(HTTPStatus.BAD_REQUEST, str(exc)) from exc
    taken = {t.name for t in proxy.toxics()}
    names = [t.name for t in toxics]
    clash = sorted({n for n in names if n in taken or names.count(n) > 1})
    if clash:
        raise _HttpError(HTTPStatus.CONFLICT, f"toxic names already in force: {', '.join(clash)}")
    added = [proxy.add(t).to_dict() for t in toxics]
    return HTTPStatus.CREATED, added if many else added[0]


async def _serve(proxy: Controlled, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
    try:
        try:
            status, payload = await asyncio.wait_for(_request(proxy, reader), READ_TIMEOUT)
        except _HttpError as exc:
            status, payload = exc.status, {"error": str(exc)}
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ValueError, UnicodeDecodeError):
            status, payload = HTTPStatus.BAD_REQUEST, {"error": "malformed request"}
        body = b"" if payload is None else json.dumps(payload).encode() + b"\n"
        head = (f"HTTP/1.1 {int(status)} {HTTPStatus(status).phrase}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
        writer.write(head.encode("latin-1") + body)
        await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        return
    finally:
        writer.close()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await writer.wait_closed()


async def _request(proxy: Controlled, reader: asyncio.StreamReader) -> tuple[int, Any]:
    head = await reader.readuntil(b"\r\n\r\n")  # LimitOverrunError past MAX_HEAD
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if line:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    if not 0 <= length <= MAX_BODY:
        raise _HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body of {length} bytes")
    body = await reader.readexactly(length)
    log.debug("control %s %s", method, path)
    return handle(proxy, method.upper(), path, body)


async def start_control(proxy: Controlled, host: str = "127.0.0.1",
                        port: int = 0) -> asyncio.Server:
    """Serve the control interface of `proxy` on the running loop."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve(proxy, reader, writer)

    return await asyncio.start_server(serve, host, port, limit=MAX_HEAD)


def call(port: int, method: str, path: str, body: Any = None, host: str = "127.0.0.1",
         timeout: float = 5.0) -> tuple[int, Any]:
    """One request to a proxy's control interface: (status, decoded JSON or None)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, json.loads(raw) if raw else None
    finally:
        conn.close()
