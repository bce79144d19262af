"""`GET /metrics` of the TMS (Prometheus text format, prometheus-client): requests by route,
method and status with a latency histogram, counted in the process; and from the database at
each scrape, so that every worker reports the same: terminals by status, heartbeats stored,
pending reversals, open incidents by cause and severity."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from steadypos.tms.context import TmsContext
from steadypos.tms.fleet_models import Heartbeat
from steadypos.tms.models import FleetTerminal
from steadypos.tms.ops_models import Incident, IncidentState


class FleetCollector(Collector):
    def __init__(self, ctx: TmsContext) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        by_status = GaugeMetricFamily("steadypos_tms_terminals", "Terminals by status",
                                      labels=["status"])
        incidents = GaugeMetricFamily("steadypos_tms_open_incidents",
                                      "Open incidents (triggered or acknowledged) by cause",
                                      labels=["cause", "severity"])
        with self.ctx.sessions() as db:
            for status, n in db.execute(select(FleetTerminal.status, func.count())
                                        .group_by(FleetTerminal.status)):
                by_status.add_metric([status], n)
            for cause, severity, n in db.execute(
                    select(Incident.cause, Incident.severity, func.count())
                    .where(Incident.status != IncidentState.RESOLVED,
                           Incident.merged_into.is_(None))
                    .group_by(Incident.cause, Incident.severity)):
                incidents.add_metric([cause, severity], n)
            beats = db.scalar(select(func.count()).select_from(Heartbeat)) or 0
            pending = db.scalar(select(func.coalesce(func.sum(FleetTerminal.pending_reversals),
                                                     0))) or 0
        yield by_status
        yield incidents
        yield CounterMetricFamily("steadypos_tms_heartbeats", "Heartbeats stored", beats)
        yield GaugeMetricFamily("steadypos_tms_pending_reversals",
                                "Reversals the terminals report pending", pending)


def install(app: FastAPI, ctx: TmsContext, api: str = "/api/v1") -> None:
    """A registry of this app's own (tests build many apps in one process) and the route."""
    registry = CollectorRegistry()
    requests = Counter("steadypos_tms_requests", "API requests", ["route", "method", "status"],
                       registry=registry)
    latency = Histogram("steadypos_tms_request_seconds", "API request latency", ["route"],
                        registry=registry)
    registry.register(FleetCollector(ctx))

    @app.middleware("http")
    async def measure(request: Request,
                      call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        if request.url.path.startswith(api + "/"):  # by route template: TIDs are unbounded
            path = api + getattr(request.scope.get("route"), "path", "/unmatched")
            requests.labels(path, request.method, str(response.status_code)).inc()
            latency.labels(path).observe(time.perf_counter() - start)
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
