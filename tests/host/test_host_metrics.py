"""`steadypos host --metrics-port`: a scrape before and after traffic shows the counters move by
exactly what was answered (approved, declined by code, reversed, latency and group sizes)."""

from __future__ import annotations

import subprocess
import urllib.request
from pathlib import Path

from hostproc import DemoTerminal
from prometheus_client.parser import text_string_to_metric_families
from support.processes import child_env, host_process
from support.world import rich_cards

from steadypos.host.process import steadypos_argv
from steadypos.protocol import builders

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Samples:
    with urllib.request.urlopen(url, timeout=10) as resp:
        text = resp.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_counters_move_with_sales_declines_and_reversals(tmp_path: Path) -> None:
    with host_process(tmp_path / "host.db", extra=("--metrics-port", "0")) as h:
        line = h.next_line()
        assert line.startswith("metrics on http://127.0.0.1:"), line
        url = line.split()[-1]
        with DemoTerminal(h.host, h.port, 0) as t:
            t.sign_in()
            before = scrape(url)
            sale = t.sale(100, rich_cards()[0])
            assert t.exchange(sale).get(39) == "00"
            declined = t.exchange(t.sale(999_999_999_999, rich_cards()[0])).get(39)
            assert declined != "00"
            assert t.exchange(builders.reversal(sale, "98")).get(39) == "00"
        after = scrape(url)
    assert moved(before, after, "steadypos_host_requests_total", mti="0200", rc="00") == 1
    assert moved(before, after, "steadypos_host_requests_total", mti="0200", rc=declined) == 1
    assert moved(before, after, "steadypos_host_requests_total", mti="0400", rc="00") == 1
    assert moved(before, after, "steadypos_host_reversals_total", rc="00") == 1
    assert moved(before, after, "steadypos_host_request_seconds_count", mti="0200") == 2
    assert moved(before, after, "steadypos_host_group_commit_size_count") == 3


def test_metrics_port_with_several_workers_is_a_usage_error(tmp_path: Path) -> None:
    run = subprocess.run(steadypos_argv("host", "--db", str(tmp_path / "h.db"), "--workers", "2",
                                        "--port", "0", "--metrics-port", "0"),
                         capture_output=True, text=True, timeout=60, env=child_env())
    assert run.returncode == 2
    assert "--metrics-port" in run.stderr and len(run.stderr.strip().splitlines()) == 1
