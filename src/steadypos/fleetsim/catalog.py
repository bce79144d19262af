"""What the simulated fleet is made of: the window, app versions, parameter sets, models, and the
crash signatures (exception + frames) each cause leaves."""

from __future__ import annotations

from datetime import UTC, datetime

START = datetime(2026, 11, 16, tzinfo=UTC)  # a Monday; shops open 01:00-13:30 UTC (09:00 CST)
CURRENT_VERSION = "4.2.1"
PREVIOUS_VERSION = "4.1.3"
BAD_RELEASE = "4.3.0"
OUTDATED_VERSIONS = ("3.6.2", "3.4.0", "3.8.1")
CURRENT_PARAMS = "P20261101"
OLD_PARAMS = "P20260901"
APP_PKG = "com.steadypos.pay"

# (brand, model, firmwares, mem_total_mb)
MODELS = (
    ("PAX", "A920", ("PayDroid_7.1.2_V02.3.11", "PayDroid_7.1.2_V02.5.04"), 1024),
    ("PAX", "A920Pro", ("PayDroid_10_V12.1.07",), 2048),
    ("Newland", "N910", ("N910_V3.2.5", "N910_V3.3.0"), 1024),
    ("Newland", "ME31", ("ME31_V1.8.7",), 1024),
    ("Sunmi", "P2", ("P2_2.4.11", "P2_2.5.02"), 2048),
    ("Centerm", "K9", ("K9_5.1.3",), 1024),
    ("Landi", "A8", ("A8_OS_2.0.9",), 2048),
)
BAD_COMBO = ("Newland", "ME31", "ME31_V1.9.2b", 1024)  # the firmware the app does not fit

SOFTWARE_CRASHES = (
    (
        "java.lang.NullPointerException",
        (
            f"{APP_PKG}.flow.OnlineStep.onResponse",
            f"{APP_PKG}.flow.FlowEngine.next",
            "android.os.Handler.dispatchMessage",
            "android.os.Looper.loop",
        ),
        "online",
    ),
    (
        "java.lang.IndexOutOfBoundsException",
        (
            f"{APP_PKG}.ui.PinPadView.onKey",
            f"{APP_PKG}.flow.PinStep.collect",
            "android.view.View.dispatchKeyEvent",
        ),
        "pin",
    ),
)
COMPAT_CRASH = (
    "java.lang.IllegalStateException",
    (
        "com.newland.mtype.module.common.emv.EmvModuleImpl.readRecord",
        "com.newland.me.DeviceDriver.transmit",
        f"{APP_PKG}.device.CardReader.read",
        f"{APP_PKG}.flow.CardStep.run",
    ),
)
OUTDATED_CRASH = (
    "java.lang.IllegalStateException",
    (f"{APP_PKG}.iso.LegacyPacker.pack", f"{APP_PKG}.flow.OnlineStep.send"),
)
OOM = (
    "java.lang.OutOfMemoryError",
    ("android.graphics.Bitmap.nativeCreate", f"{APP_PKG}.print.ReceiptRenderer.render"),
)
RANDOM_CRASHES = (
    ("java.util.ConcurrentModificationException", (f"{APP_PKG}.sync.TmsClient.poll",)),
    ("java.lang.RuntimeException", (f"{APP_PKG}.ui.MainActivity.onResume",)),
    ("android.os.DeadObjectException", ("android.os.BinderProxy.transact",)),
)
