"""Our terminal over TLS (pos-link-v1.1 §8), through its CLI: init stores the certificate paths
(checked, never the contents), sign-in + sale + settlement run over the host's TLS listener, a
refused certificate is "cannot connect, not charged" with no reversal left, and no key material
reaches the journal, the key store or the event log."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from rig import CARD, MID, TERM, TID, HostRig, TerminalRig

from steadypos.host.embedded import EmbeddedHost
from steadypos.host.sqlite_store import read_only
from steadypos.protocol import certs, tls


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> certs.Pki:
    return certs.write_test_pki(tmp_path_factory.mktemp("pki"), [TID, "T0000002"])


@pytest.fixture
def tls_host(tmp_path: Path, pki: certs.Pki) -> Iterator[EmbeddedHost]:
    ctx = tls.server_context(pki.host_cert, pki.host_key, pki.ca_cert)
    with EmbeddedHost(tmp_path / "host.db", tls=ctx) as h:
        yield h


def _rig(tmp_path: Path, host: EmbeddedHost) -> TerminalRig:
    return TerminalRig(tmp_path, HostRig(host.db), proxy=None)  # type: ignore[arg-type]


def _init_args(host: EmbeddedHost, pki: certs.Pki, tid: str = TID, **tls_files: Path) -> list[str]:
    files = {"--tls-ca": pki.ca_cert, "--tls-cert": pki.cert(tid), "--tls-key": pki.key(tid)}
    files.update({f"--tls-{k}": v for k, v in tls_files.items()})
    args = ["--host", "127.0.0.1", "--port", str(host.tls_port), "--tid", TID, "--mid", MID,
            "--tmk", TERM["tmk"], "--timeout", "5"]
    return args + [str(x) for kv in files.items() for x in kv]


def _config(journal: Path) -> dict[str, str]:
    with closing(read_only(journal)) as conn:
        return dict(conn.execute("SELECT key, value FROM config").fetchall())


def _secret_bytes(pki: certs.Pki) -> list[bytes]:
    """What must never be written by the terminal: each private key, whole and line by line."""
    out = []
    for key in (pki.key(TID), pki.host_key):
        pem = key.read_bytes()
        out += [pem] + [line for line in pem.splitlines() if len(line) > 20]
    return out + [b"PRIVATE KEY"]


def test_sign_in_sale_and_settlement_over_tls(tmp_path: Path, tls_host: EmbeddedHost,
                                              pki: certs.Pki) -> None:
    t = _rig(tmp_path, tls_host)
    ran = t.cli("init", *_init_args(tls_host, pki))
    assert ran.code == 0 and "over TLS" in ran.data["message"], ran.output
    cfg = _config(t.journal)
    assert (cfg["tls_ca"], cfg["tls_cert"], cfg["tls_key"]) == tuple(
        str(p.resolve()) for p in (pki.ca_cert, pki.cert(TID), pki.key(TID)))
    before = t.host.card_balance(CARD)
    assert t.cli("sign-in").code == 0
    sale = t.sale("12.34")
    assert sale.code == 0 and sale.data["rc"] == "00", sale.output
    assert t.host.card_balance(CARD) == before - 1234
    settle = t.cli("settle")
    assert settle.code == 0 and settle.data["balanced"] is True, settle.output
    assert [r["kind"] for r in t.host.txns()] == ["sale", "settle"]  # sign-ins are not kept
    assert t.view().txn(int(sale.data["stan"]), "sale")["state"] == "approved"
    assert any(e["type"] == "net" and e.get("event") == "up" for e in t.events())
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.parent != pki.folder]
    assert t.journal in written and len(written) >= 4
    for path in written:
        data = path.read_bytes()
        for secret in _secret_bytes(pki):
            assert secret not in data, f"{path.name} holds key material"


def test_a_refused_certificate_is_cannot_connect_not_charged(
        tmp_path: Path, tls_host: EmbeddedHost, pki: certs.Pki) -> None:
    """Signed in, then given a certificate of another CA: the sale's reversal record is stored
    before connecting, the TLS 1.3 handshake is refused, and the record goes: nothing charged,
    nothing pending, the host never saw the sale."""
    t = _rig(tmp_path, tls_host)
    assert t.cli("init", *_init_args(tls_host, pki)).code == 0
    assert t.cli("sign-in").code == 0
    foreign = certs.write_test_pki(tmp_path / "foreign", [TID])
    good = _config(t.journal)
    t.set_config(tls_cert=str(foreign.cert(TID)), tls_key=str(foreign.key(TID)))
    before, host_rows = t.host.card_balance(CARD), len(t.host.txns())
    ran = t.sale("50.00")
    assert ran.code == 1 and ran.data["result"] == "failed", ran.output
    assert ran.data["reversal_pending"] is False
    view = t.view()
    assert view.reversals == [] and view.txns[-1]["state"] == "failed"
    assert t.host.card_balance(CARD) == before and len(t.host.txns()) == host_rows
    t.set_config(tls_cert=good["tls_cert"], tls_key=good["tls_key"])
    assert t.sale("1.00").code == 0  # nothing pending blocks the next sale


def test_certificate_files_gone_after_init(tmp_path: Path, tls_host: EmbeddedHost,
                                           pki: certs.Pki) -> None:
    t = _rig(tmp_path, tls_host)
    key = tmp_path / "copy.key"
    key.write_bytes(pki.key(TID).read_bytes())
    assert t.cli("init", *_init_args(tls_host, pki, key=key)).code == 0
    key.unlink()
    before = t.host.card_balance(CARD)
    ran = t.sale("5.00")
    assert ran.code == 1 and ran.data["reversal_pending"] is False, ran.output
    assert "TLS" in ran.data["message"] and str(key) in ran.data["message"]
    assert t.host.card_balance(CARD) == before and t.cli("journal").code == 0


BAD_INIT: dict[str, Any] = {
    "ca_only": "go together",
    "cert_of_another_tid": "is for TID T0000002",
    "missing_key": "no such file",
    "key_of_another_cert": "cannot be used",
}


@pytest.mark.parametrize("case", sorted(BAD_INIT))
def test_init_refuses_bad_tls_files(tmp_path: Path, tls_host: EmbeddedHost, pki: certs.Pki,
                                    case: str) -> None:
    t = _rig(tmp_path, tls_host)
    args = _init_args(tls_host, pki)
    if case == "ca_only":
        args = args[:args.index("--tls-cert")]
    elif case == "cert_of_another_tid":
        args = _init_args(tls_host, pki, tid="T0000002")
    elif case == "missing_key":
        args = _init_args(tls_host, pki, key=tmp_path / "nope.key")
    else:
        args = _init_args(tls_host, pki, key=pki.key("T0000002"))
    ran = t.cli("init", *args)
    assert ran.code == 2 and ran.data["error"] == "usage", ran.output
    assert BAD_INIT[case] in ran.data["message"]
    assert not t.journal.exists()
