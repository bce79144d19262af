"""Static facts of the blind fleet: devices, app releases, merchant kinds, crash signatures, codes.

Everything a terminal can be is listed here as data; the simulation only picks from these tables.
"""

from __future__ import annotations

import functools

# The window starts on a Tuesday; the fleet pushes a regulation-driven parameter set mid-window.
WINDOW_START = "2026-11-17"

# App releases of the fleet's payment app (version, release date, what it brought).
APP_RELEASES = [
    ("3.6.2", "2024-03-11", "legacy ISO parser"),
    ("3.8.1", "2024-09-02", "legacy ISO parser, first contactless"),
    ("4.0.3", "2025-04-14", "new ISO codec (secondary bitmap fixed); fleet minimum"),
    ("4.1.2", "2025-10-20", "receipt logos, faster chip path"),
    ("4.2.0", "2026-08-03", "customer-presented QR (scan to pay)"),
    ("4.2.1", "2026-09-28", "QR refunds, new pinpad SDK calls"),
    ("4.3.0", "2026-11-10", "coupon data in field 59 (pilot)"),
]
SUPPORTED_MIN = "4.0.3"
OLD_VERSIONS = ["3.6.2", "3.8.1"]
BAD_VERSION = "4.3.0"
FEATURE_VERSION = "4.2.1"
QR_SINCE = "4.2.0"
# Share of each version among terminals with no version-bound fault.
VERSION_MIX = [("4.0.3", 6), ("4.1.2", 20), ("4.2.0", 16), ("4.2.1", 55), ("4.3.0", 3)]

# brand -> vendor SDK package (what its frames look like).
VENDOR_SDK = {
    "Huaxin": "com.huaxin.smartpos.sdk",
    "Lanpay": "com.lanpay.device.api",
    "Sunbay": "com.sunbay.hal",
    "Tianyu": "com.tianyu.emv",
    "Kaili": "com.kaili.pos.service",
}

# (brand, model, form, mem_total_mb, storage_mb, radio, firmwares, weight)
MODELS = [
    ("Huaxin", "H9", "handheld", 2048, 8192, "cell", ["HX9_2.4.1", "HX9_2.5.0"], 14),
    ("Huaxin", "H6", "countertop", 1024, 4096, "wifi", ["HX6_1.9.7", "HX6_2.0.2"], 8),
    ("Lanpay", "L300", "handheld", 1024, 4096, "cell", ["3.0.1-r5", "3.0.1-r7", "3.1.0"], 14),
    ("Lanpay", "L80", "countertop", 512, 2048, "wifi", ["1.4.4"], 5),
    ("Sunbay", "S2mini", "handheld", 2048, 16384, "cell", ["S2M-11.2", "S2M-11.4"], 12),
    ("Sunbay", "S900", "countertop", 3072, 16384, "wifi", ["S9-7.0.8"], 7),
    ("Tianyu", "T6", "handheld", 1024, 4096, "cell", ["V1.8.0", "V1.8.2", "V1.9.1"], 12),
    ("Tianyu", "T3", "countertop", 512, 2048, "wifi", ["V0.9.12"], 4),
    ("Kaili", "K10", "handheld", 3072, 32768, "cell", ["K10-OS-5.1", "K10-OS-5.2"], 9),
]
# Combinations whose vendor SDK breaks under the current app (brand, model, firmware, version,
# signature).
INCOMPATIBLE = [
    ("Tianyu", "T6", "V1.8.2", "4.2.1", "compat_emv"),
    ("Lanpay", "L300", "3.0.1-r7", "4.2.1", "compat_pinpad"),
]

# Parameter sets: current at the window start, the regulation push, and wrong variants.
PARAMS_CURRENT = "P20261103"
PARAMS_PUSH = "P20261119"
PARAMS_WRONG = ["P20261119-GD", "P20260915", "P20261103-TEST"]
# Which bad field gives which host answers (F39) and whether the app falls back to idle.
MISMATCH_EFFECT = {
    "mid": ["03", "03", "58"],
    "tid": ["97", "58", "97"],
    "keys": ["A0", "A0", "mac_fail"],
    "tpdu": ["97", "03"],
}

# name: open hour, close hour, terminals (lo, hi), staffing, peak flows an hour per terminal,
# median sale (fen), spread, spots (where the terminal stands), busy peaks (hour, weight, width),
# off-peak level.
MERCHANT_KINDS = {
    "restaurant": (10.5, 22.0, (1, 3), "split", 7, 9800, 0.55, ["indoor", "kitchen"],
                   [(12.3, 1.0, 0.8), (18.8, 1.0, 1.0)], 0.08),
    "convenience": (7.0, 23.0, (1, 2), "two_shift", 8, 2350, 0.8, ["indoor"],
                    [(8.0, 0.7, 0.7), (12.5, 0.5, 0.8), (18.5, 1.0, 1.2), (21.5, 0.4, 0.7)], 0.3),
    "supermarket": (8.0, 22.0, (3, 7), "lanes", 9, 8600, 0.75, ["indoor", "indoor", "gate"],
                    [(10.5, 0.5, 1.2), (18.0, 1.0, 1.6)], 0.25),
    "pharmacy": (8.5, 21.0, (1, 2), "single", 4, 5600, 0.7, ["indoor"],
                 [(10.0, 0.7, 1.5), (19.0, 0.8, 1.2)], 0.35),
    "fuel": (6.0, 22.5, (2, 4), "two_shift", 8, 26000, 0.35, ["outdoor", "indoor"],
             [(7.7, 1.0, 0.9), (17.6, 1.0, 1.1)], 0.35),
    "boutique": (10.0, 21.5, (1, 1), "single", 2, 39000, 0.6, ["indoor"],
                 [(15.0, 0.8, 2.2), (19.5, 1.0, 1.0)], 0.1),
    "market": (5.5, 13.5, (1, 1), "owner", 7, 2800, 0.7, ["outdoor"],
               [(7.0, 1.0, 1.0), (10.5, 0.4, 1.0)], 0.2),
}
MERCHANT_WEIGHTS = {"restaurant": 22, "convenience": 22, "supermarket": 10, "pharmacy": 12,
                    "fuel": 8, "boutique": 12, "market": 14}

COURSES = ["basic_sale", "void_refund", "settlement", "qr_scan_pay"]
NEW_FEATURE_COURSE = "qr_scan_pay"

APP = "cn.hengpay.pos"
_LOOP = ["android.os.Handler.dispatchMessage(Handler.java:106)",
         "android.os.Looper.loop(Looper.java:223)",
         "android.app.ActivityThread.main(ActivityThread.java:7656)"]
_POOL = ["java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1167)",
         "java.lang.Thread.run(Thread.java:923)"]

# Crash signatures: (exception, frames innermost first). `{sdk}` is the brand's vendor package.
SIGNATURES = {
    "defect_field59": (
        "java.lang.NullPointerException: Attempt to invoke virtual method 'java.lang.String "
        f"{APP}.iso.TlvField.value()' on a null object reference",
        [f"{APP}.iso.Field59Parser.couponBlock(Field59Parser.java:88)",
         f"{APP}.iso.Field59Parser.parse(Field59Parser.java:41)",
         f"{APP}.flow.OnlineStep.onResponse(OnlineStep.java:203)",
         f"{APP}.net.HostChannel$1.run(HostChannel.java:117)", *_POOL]),
    "defect_anr": (
        "ANR: Input dispatching timed out (Waiting because the focused window has not finished "
        "processing the input events)",
        ["android.database.sqlite.SQLiteConnection.nativeExecuteForLastInsertedRowId("
         "Native Method)",
         "android.database.sqlite.SQLiteDatabase.insertWithOnConflict(SQLiteDatabase.java:1760)",
         f"{APP}.db.TxnDao.insertPending(TxnDao.java:64)",
         f"{APP}.flow.CardStep.onCardRead(CardStep.java:152)", *_LOOP]),
    "compat_emv": (
        "java.lang.IllegalStateException: ICC not powered (sw=6F00)",
        ["{sdk}.EmvKernel.nativeReadRecord(Native Method)",
         "{sdk}.EmvKernel.readRecord(EmvKernel.java:412)",
         "{sdk}.EmvKernel.processOptions(EmvKernel.java:288)",
         f"{APP}.card.ChipReader.readApplication(ChipReader.java:97)",
         f"{APP}.flow.CardStep.onCardInserted(CardStep.java:118)", *_LOOP]),
    "compat_pinpad": (
        "signal 11 (SIGSEGV), code 1 (SEGV_MAPERR), fault addr 0x0000000c",
        ["libvpinpad.so (pp_get_pin_block+452)",
         "{sdk}.PinpadNative.getPinBlock(Native Method)",
         "{sdk}.PinpadService.getPinBlock(PinpadService.java:233)",
         f"{APP}.pin.PinStep.requestPin(PinStep.java:76)",
         f"{APP}.flow.SaleFlow.onCardAccepted(SaleFlow.java:141)", *_LOOP]),
    "outdated_bitmap": (
        "java.lang.ArrayIndexOutOfBoundsException: length=64; index=64",
        [f"{APP}.iso.BitmapCodec.unpack(BitmapCodec.java:39)",
         f"{APP}.iso.IsoMessage.parse(IsoMessage.java:152)",
         f"{APP}.flow.OnlineStep.onResponse(OnlineStep.java:171)",
         f"{APP}.net.HostChannel$1.run(HostChannel.java:98)", *_POOL]),
    "oom_receipt": (
        "java.lang.OutOfMemoryError: Failed to allocate a 4194316 byte allocation with {free} "
        "free bytes and {free_kb}KB until OOM",
        ["dalvik.system.VMRuntime.newNonMovableArray(Native Method)",
         "android.graphics.Bitmap.nativeCreate(Native Method)",
         "android.graphics.Bitmap.createBitmap(Bitmap.java:1113)",
         f"{APP}.print.ReceiptRenderer.render(ReceiptRenderer.java:58)",
         f"{APP}.flow.ReceiptStep.print(ReceiptStep.java:44)", *_POOL]),
    "oom_card": (
        "java.lang.OutOfMemoryError: pthread_create (1040KB stack) failed: Try again",
        ["java.lang.Thread.nativeCreate(Native Method)", "java.lang.Thread.start(Thread.java:887)",
         f"{APP}.card.CardPoller.start(CardPoller.java:31)",
         f"{APP}.flow.CardStep.enter(CardStep.java:60)", *_LOOP]),
    "thermal": (
        "android.os.DeadSystemException",
        ["android.os.Parcel.readException(Parcel.java:2379)",
         "android.app.ActivityManagerProxy.attachApplication(ActivityManagerNative.java:2105)",
         *_LOOP]),
    "idle_noise": (
        "java.lang.IllegalArgumentException: View=DecorView not attached to window manager",
        ["android.view.WindowManagerGlobal.findViewLocked(WindowManagerGlobal.java:534)",
         "android.app.Dialog.dismissDialog(Dialog.java:370)",
         f"{APP}.ui.NoticeBanner$2.run(NoticeBanner.java:44)", *_LOOP]),
}

# Ordinary issuer declines and how often a normal card meets them.
DECLINES = [("51", 0.012), ("05", 0.004), ("61", 0.003), ("54", 0.002), ("14", 0.001)]


@functools.cache
def vtuple(version: str) -> tuple[int, ...]:
    """'4.2.1' -> (4, 2, 1), to compare releases."""
    return tuple(int(x) for x in version.split("."))
