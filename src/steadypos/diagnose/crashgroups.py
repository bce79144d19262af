"""Crash groups, Sentry-style: a fingerprint of exception + first in-app frames, and where the
group's crashes fall (terminals, app versions, brand/models, firmwares)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from steadypos.diagnose.records import Crash

PLATFORM_PREFIXES = (
    "java.", "javax.", "android.", "androidx.", "kotlin.", "kotlinx.", "dalvik.", "com.android.",
    "sun.", "libcore.", "com.google.", "org.apache.", "okhttp3.", "libc", "/system/",
)  # fmt: skip
# An innermost frame outside the app and the platform, or naming one of these, is the vendor's.
VENDOR_HINTS = ("sdk", "vendor", "driver", "dal.", ".hal", "firmware", "device", "jni", "native")
NO_EXCEPTION = "(no exception)"


def frame_prefix(frame: str) -> str:
    """The package a frame belongs to ('com.x.pay.Flow.run' -> 'com.x.')."""
    parts = frame.split(".")
    return ".".join(parts[:2]) + "." if len(parts) > 2 else frame


def is_platform(frame: str) -> bool:
    return frame.startswith(PLATFORM_PREFIXES)


@dataclass(frozen=True)
class Fingerprint:
    """How a crash is grouped, and whether its innermost frame is in vendor/SDK code."""

    key: str
    in_app: tuple[str, ...]
    vendor_frame: str  # "" when the innermost frame is the app's or the platform's


def fingerprint(app_prefix: str | None, exception: str | None,
                frames: tuple[str, ...]) -> Fingerprint:  # fmt: skip
    in_app = tuple(f for f in frames if app_prefix and f.startswith(app_prefix))[:2]
    top = in_app or frames[:2]
    key = (exception or NO_EXCEPTION) + (" @ " + " < ".join(top) if top else "")
    vendor = ""
    if frames:
        inner = frames[0]
        own = bool(app_prefix) and inner.startswith(app_prefix or "")
        hinted = any(h in inner.lower() for h in VENDOR_HINTS)
        if not own and (not is_platform(inner) or hinted):
            vendor = inner
    return Fingerprint(key, top, vendor)


def app_prefix(crashes: list[Crash]) -> str | None:
    """The app's own package: the non-platform prefix present in most crashes."""
    prefixes: Counter = Counter()
    for crash in crashes:
        prefixes.update({frame_prefix(f) for f in crash.frames if not is_platform(f)})
    return prefixes.most_common(1)[0][0] if prefixes else None


@dataclass
class CrashGroup:
    """Crashes sharing a fingerprint: exception + first in-app frames."""

    fingerprint: str
    exception: str
    frames: tuple[str, ...]
    vendor_frame: str  # innermost frame in a vendor/SDK package ("" when not)
    first_t: float
    last_t: float
    count: int = 0
    terminals: Counter = field(default_factory=Counter)  # tid -> crashes
    versions: Counter = field(default_factory=Counter)
    models: Counter = field(default_factory=Counter)  # "brand model"
    combos: Counter = field(default_factory=Counter)  # "brand model firmware"

    @property
    def vendor(self) -> bool:
        return bool(self.vendor_frame)

    @property
    def main_version(self) -> str:
        return self.versions.most_common(1)[0][0]

    def add(self, tid: str, crash: Crash, model: str, combo: str) -> None:
        self.count += 1
        self.terminals[tid] += 1
        self.versions[crash.version or "?"] += 1
        self.models[model] += 1
        self.combos[combo] += 1
        self.first_t = min(self.first_t, crash.t)
        self.last_t = max(self.last_t, crash.t)
