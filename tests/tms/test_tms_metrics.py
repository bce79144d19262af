"""`GET /metrics` on the TMS in Prometheus text format: its counters move with traffic (API
requests by route and status, heartbeats stored) and the fleet's gauges follow the database
(terminals by status, open incidents by cause)."""

from __future__ import annotations

from datetime import timedelta

from incidentkit import beat
from prometheus_client.parser import text_string_to_metric_families
from tmskit import DeviceApi, Tms, active

from steadypos.tms.models import utcnow


def scrape(tms: Tms) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = tms.client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def test_the_counters_move_with_traffic(tms: Tms) -> None:
    (tid, token), = active(tms, tms.merchant())
    before = scrape(tms)
    beats = ("steadypos_tms_heartbeats_total", ())
    route = ("steadypos_tms_requests_total",
             (("method", "POST"), ("route", "/api/v1/heartbeats"), ("status", "202")))
    active_n = ("steadypos_tms_terminals", (("status", "active"),))
    hot = ("steadypos_tms_open_incidents", (("cause", "overheat_reading"), ("severity", "low")))
    api = DeviceApi(tms.client, token)
    for m in (3, 2, 1):
        beat(api, tid, utcnow() - timedelta(minutes=m), cpu_temp_c=90)
    after = scrape(tms)
    assert after[beats] == before[beats] + 3
    assert after[route] == before.get(route, 0) + 3
    assert after[active_n] == before[active_n]  # the terminal was made before the first scrape
    assert after[hot] == before.get(hot, 0) + 1
    hist = ("steadypos_tms_request_seconds_count", (("route", "/api/v1/heartbeats"),))
    assert after[hist] == before.get(hist, 0) + 3
