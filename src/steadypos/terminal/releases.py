"""Releases of the terminal app: a package (JSON) is a version of the terminal's own behaviour,
which can carry a fault so that tests and the demo roll out a bad one. The terminal verifies a
package (sha256 and the TMS's Ed25519 signature over its manifest), installs it dormant beside
the journal, runs its self-check, and only then switches to it; a package that fails any of these
is refused and the working release stays active.

Layout beside the journal J: `J.releases/<version>/package.json` (installed), `J.releases/active`
(the running version; absent: the built-in app)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from steadypos import __version__
from steadypos.terminal.steps import STEPS

FORMAT = "steadypos-release-v1"
MAX_PACKAGE = 1 << 20


class Fault(StrEnum):
    """What a release can be built with."""

    CRASH = "crash"  # passes its self-check, then crashes in the field at a payment step
    BOOT = "boot"  # cannot start: its self-check fails and no terminal switches to it


class ReleaseError(Exception):
    """The package was refused; nothing changed on the terminal."""


class ReleaseDefect(RuntimeError):
    """The running release's fault firing: a crash of the app, as a flash-exit is."""


def manifest(version: str, sha256: str) -> bytes:
    """What the TMS signs and the terminal verifies."""
    return f"{FORMAT}\nversion={version}\nsha256={sha256}\n".encode()


def build(version: str, fault: Fault | None = None, crash_rate: float = 0.5,
          crash_step: str = "request_sent") -> bytes:
    """A package; with `fault` CRASH a share `crash_rate` of its sessions crash at
    `crash_step`, with BOOT it cannot start."""
    behaviour: dict[str, Any] = {"boot": "fail" if fault == Fault.BOOT else "ok"}
    if fault == Fault.CRASH:
        behaviour["crash"] = {"step": crash_step, "rate": crash_rate}
    body = {"format": FORMAT, "version": version, "behaviour": behaviour}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Package:
    version: str
    behaviour: dict[str, Any]

    @property
    def crash_rate(self) -> float:
        crash = self.behaviour.get("crash")
        return float(crash["rate"]) if crash else 0.0

    def self_check(self) -> str | None:
        """Why the release cannot run, or None when it starts and every hook is sound."""
        if self.behaviour.get("boot") != "ok":
            return "the release does not start (boot check failed)"
        crash = self.behaviour.get("crash")
        if crash is not None:
            rate = crash.get("rate")
            if crash.get("step") not in STEPS or not isinstance(rate, int | float) \
                    or not 0 <= rate <= 1:
                return "its crash behaviour names no journal step or no rate in 0..1"
        return None


def parse(raw: bytes, version: str) -> Package:
    try:
        body = json.loads(raw)
    except ValueError:
        raise ReleaseError("the package is not JSON") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise ReleaseError(f"the package is not a {FORMAT} package")
    if body.get("version") != version or not isinstance(body.get("behaviour"), dict):
        raise ReleaseError(f"the package says version {body.get('version')!r}, not {version}")
    return Package(version, body["behaviour"])


def verify(raw: bytes, version: str, sha256: str, signature: str, public_pem: str) -> Package:
    """The package, once its bytes match `sha256` and the TMS's signature verifies."""
    if len(raw) > MAX_PACKAGE:
        raise ReleaseError(f"the package is larger than {MAX_PACKAGE} bytes")
    digest = hashlib.sha256(raw).hexdigest()
    if digest != sha256:
        raise ReleaseError(f"sha256 {digest[:16]}... does not match the offered "
                           f"{sha256[:16]}...")
    try:
        key = serialization.load_pem_public_key(public_pem.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ReleaseError("the TMS release key is not Ed25519")
        key.verify(base64.b64decode(signature, validate=True), manifest(version, sha256))
    except (InvalidSignature, ValueError):
        raise ReleaseError("the Ed25519 signature does not verify: not a genuine "
                           "release") from None
    return parse(raw, version)


@dataclass(frozen=True)
class Installed:
    """The releases beside one journal."""

    journal: Path

    @property
    def folder(self) -> Path:
        return self.journal.with_name(self.journal.name + ".releases")

    def _write(self, path: Path, data: bytes) -> None:
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def install_dormant(self, package: Package, raw: bytes) -> None:
        target = self.folder / package.version
        target.mkdir(parents=True, exist_ok=True)
        self._write(target / "package.json", raw)

    def switch(self, version: str) -> None:
        """Run `version` from the next start; the one running now is kept for a rollback."""
        if not (self.folder / version / "package.json").exists():
            raise ReleaseError(f"release {version} is not installed")
        running = self.active()
        self._write(self.folder / "previous", (running.version if running else "").encode())
        self._write(self.folder / "active", version.encode())

    def rollback(self) -> str:
        """Back to the release that ran before the last switch (or the built-in app)."""
        try:
            previous = (self.folder / "previous").read_text().strip()
        except OSError:
            previous = ""
        if previous:
            self._write(self.folder / "active", previous.encode())
        else:
            (self.folder / "active").unlink(missing_ok=True)
        return self.running_version()

    def active(self) -> Package | None:
        try:
            version = (self.folder / "active").read_text().strip()
            return parse((self.folder / version / "package.json").read_bytes(), version)
        except (OSError, ReleaseError):
            return None  # none switched to, or damaged: the built-in app runs

    def running_version(self) -> str:
        package = self.active()
        return package.version if package else __version__


def prepare(journal: Path, raw: bytes, version: str, sha256: str, signature: str,
            public_pem: str) -> Package:
    """Verify, install dormant and self-check: the package, ready to switch to; ReleaseError
    (nothing switched) saying why it was refused."""
    package = verify(raw, version, sha256, signature, public_pem)
    Installed(journal).install_dormant(package, raw)
    problem = package.self_check()
    if problem:
        raise ReleaseError(f"self-check failed: {problem}")
    return package


def fault_hook(journal: Path, rng: random.Random | None = None) -> Callable[[str], None] | None:
    """For one session: the step hook that crashes it, when the running release's fault draws
    this session; None when the session runs clean."""
    package = Installed(journal).active()
    if package is None or not package.crash_rate:
        return None
    if (rng or random.SystemRandom()).random() >= package.crash_rate:
        return None
    step = package.behaviour["crash"]["step"]

    def hook(done: str) -> None:
        if done == step:
            raise ReleaseDefect(f"release {package.version} crashed after {step}")

    return hook
