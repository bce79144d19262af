"""A small client of the TMS API over the standard library (no HTTP package needed on a device):
JSON, form or raw bodies, a bearer token, `{"detail": ...}` errors as exceptions. The terminal
talks to the TMS only through it: it never imports the TMS."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class TmsCallError(Exception):
    """The TMS answered with an error (`status` set) or could not be reached (`status` 0)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class TmsClient:
    def __init__(self, url: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             form: dict[str, str] | None = None) -> Any:
        """`path` under /api/v1; the decoded JSON answer (None for 204)."""
        data, kind = None, None
        if body is not None:
            data, kind = json.dumps(body).encode(), "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            kind = "application/x-www-form-urlencoded"
        raw = self.request(method, path, data, kind)
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            raise TmsCallError(f"{method} {path}: the TMS's answer is not JSON") from None

    def request(self, method: str, path: str, data: bytes | None = None,
                content_type: str | None = None) -> bytes:
        """`path` under /api/v1 with a raw body; the answer's raw bytes."""
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(f"{self.url}/api/v1{path}", data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                answer: bytes = response.read()
                return answer
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read()).get("detail", exc.reason)
            except (ValueError, AttributeError):
                detail = exc.reason
            raise TmsCallError(f"{method} {path}: {exc.code} {detail}", exc.code) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise TmsCallError(f"cannot reach the TMS at {self.url}: {exc}") from None

    def login(self, username: str, password: str) -> TmsClient:
        answer = self.call("POST", "/auth/token", form={"username": username,
                                                        "password": password})
        self.token = answer["access_token"]
        return self
