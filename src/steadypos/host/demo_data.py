"""The deterministic demo world: terminals, cards, QR codes and balances for `--seed-demo`."""

from __future__ import annotations

import hashlib
from typing import Any

from steadypos.cards import check_digit
from steadypos.host import registry
from steadypos.host.ledger import FUNDING, transfer
from steadypos.host.records import DEFAULT_TXN_LIMIT, CardRow, QrRow
from steadypos.host.secrets import HostSecrets
from steadypos.host.store import Store
from steadypos.masking import mask_pan
from steadypos.protocol import emv

DEMO_ISSUER_MK = bytes.fromhex("0123456789ABCDEF0123456789ABCDEF")


def _luhn_complete(body: str) -> str:
    return body + check_digit(body)


def _tmk(tid: str) -> str:
    return hashlib.sha256(f"steadypos demo tmk {tid}".encode()).hexdigest()[:32].upper()


def _qr_code(seed: str) -> str:
    """An 18-digit one-time payment code, starting with 28 like the wallets' codes."""
    digest = int(hashlib.sha256(f"steadypos qr {seed}".encode()).hexdigest(), 16)
    return f"28{digest % 10**16:016d}"


def _card(n: int, pin: str, balance: int, kind: str = "magstripe", status: str = "active",
          expiry: str = "3012") -> dict[str, Any]:
    pan = _luhn_complete(f"622202{n:012d}")
    card: dict[str, Any] = {
        "pan": pan, "pin": pin, "expiry": expiry,
        "track2": f"{pan}D{expiry}101{n % 1000:03d}00000",
        "balance": balance, "kind": kind, "status": status,
    }
    if kind == "chip":
        card["psn"] = "01"
        card["icc_mk"] = emv.icc_master_key(DEMO_ISSUER_MK, pan, "01").hex().upper()
    return card


def demo_data() -> dict[str, list[dict[str, Any]]]:
    """Always the same data: tests, the demo and outside tools rely on it."""
    # T0000004 is a legacy 1.0 terminal of merchant A: registered with the weak pos_ecb MAC.
    terminals = [
        {"tid": "T0000001", "mid": "898310012345678", "tmk": _tmk("T0000001"), "mac": "x919"},
        {"tid": "T0000002", "mid": "898310012345678", "tmk": _tmk("T0000002"), "mac": "x919"},
        {"tid": "T0000003", "mid": "898310087654321", "tmk": _tmk("T0000003"), "mac": "x919"},
        {"tid": "T0000004", "mid": "898310012345678", "tmk": _tmk("T0000004"),
         "mac": "pos_ecb"},
    ]
    cards = [_card(100 + i, f"{(i * 111111 + 123456) % 1000000:06d}", 100_000 + 250_000 * i)
             for i in range(6)]
    cards += [
        _card(200, "246810", 850),  # low balance: insufficient funds
        _card(300, "135790", 500_000, status="expired", expiry="2401"),
        _card(400, "112233", 500_000, status="blocked"),
        _card(500, "654321", 2_000_000, kind="chip"),
        _card(501, "999000", 2_000_000, kind="chip"),
    ]
    qr_codes = [{"code": _qr_code(f"demo {i}"), "wallet": f"W{i % 2 + 1:03d}", "balance": 0}
                for i in range(5)]
    wallet_balance = {"W001": 1_000_000, "W002": 300_000}
    for q in qr_codes:
        q["balance"] = wallet_balance[str(q["wallet"])]
    return {"terminals": terminals, "cards": cards, "qr_codes": qr_codes}


def seed(store: Store, secrets: HostSecrets, data: dict[str, list[dict[str, Any]]] | None = None,
         txn_limit: int = DEFAULT_TXN_LIMIT) -> None:
    """Load the demo world; a no-op for rows that are already there."""
    data = data or demo_data()
    store.begin()
    try:
        store.ensure_account(FUNDING, "funding")
        for t in data["terminals"]:
            if store.terminal(t["tid"]) is None:
                registry.register_terminal(store, secrets, tid=t["tid"], mid=t["mid"],
                                           tmk=bytes.fromhex(t["tmk"]),
                                           mac=registry.MacAlgorithm(t["mac"]),
                                           txn_limit=txn_limit)
        for c in data["cards"]:
            ref = secrets.pan_ref(c["pan"])
            if store.card(ref) is not None:
                continue
            status = "blocked" if c["status"] == "blocked" else c["status"]
            row = CardRow(0, ref, mask_pan(c["pan"]), c["expiry"], status, c["kind"],
                          c.get("psn", "00"), secrets.pin_verifier(c["pan"], c["pin"]),
                          track_verifier=secrets.track_verifier(c["track2"]))
            row.id = store.add_card(row)
            store.ensure_account(row.account, "card")
            transfer(store, "opening", f"card {row.pan_masked}", FUNDING, row.account,
                     c["balance"])
        funded: set[str] = set()
        for q in data["qr_codes"]:
            ref = secrets.code_ref(q["code"])
            if store.qr(ref) is None:
                store.add_qr(QrRow(ref, q["wallet"], False))
            account = f"wallet:{q['wallet']}"
            if q["wallet"] not in funded and store.balance(account) == 0:
                store.ensure_account(account, "wallet")
                transfer(store, "opening", f"wallet {q['wallet']}", FUNDING, account, q["balance"])
            funded.add(q["wallet"])
        store.commit()
    except BaseException:
        store.rollback()
        raise
