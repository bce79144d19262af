"""A small client of the TMS API over the standard library (no HTTP package needed on a device):
JSON or form bodies, a bearer token, `{"detail": ...}` errors as exceptions."""

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
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(f"{self.url}/api/v1{path}", data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read()
                return json.loads(raw) if raw else None
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
