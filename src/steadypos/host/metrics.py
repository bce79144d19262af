"""The host's Prometheus metrics (`steadypos host --metrics-port N`, prometheus-client): requests
by MTI and response code, reversals, group-commit sizes and a latency histogram, counted by the
writer thread once a group is committed (what was answered, not what was attempted)."""

from __future__ import annotations

import collections
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from steadypos.protocol.codec import Message

REVERSAL_MTI = "0400"
NO_ANSWER = "none"  # the request was closed without a response (commit failed, not a request)
GROUP_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class HostMetrics:
    """One registry per host (tests build several hosts in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("steadypos_host_requests", "Requests by MTI and response code",
                                ["mti", "rc"], registry=self.registry)
        self.reversals = Counter("steadypos_host_reversals", "Reversals by response code",
                                 ["rc"], registry=self.registry)
        self.latency = Histogram("steadypos_host_request_seconds",
                                 "From taking up a request's group to its commit", ["mti"],
                                 registry=self.registry)
        self.group_size = Histogram("steadypos_host_group_commit_size",
                                    "Requests per group commit", buckets=GROUP_BUCKETS,
                                    registry=self.registry)

    def committed(self, answered: list[tuple[Message, Message | None]], seconds: float) -> None:
        """One group: its (request, response) pairs and how long it took."""
        self.group_size.observe(len(answered))
        # Counted per (MTI, rc) first: one labels() lookup and one inc() per kind, not per
        # request (each costs microseconds, and a group holds up to 256 requests).
        by_kind: collections.Counter[tuple[str, str]] = collections.Counter(
            (req.mti, (resp.get(39) if resp is not None else None) or NO_ANSWER)
            for req, resp in answered)
        by_mti: collections.Counter[str] = collections.Counter()
        for (mti, rc), n in by_kind.items():
            self.requests.labels(mti, rc).inc(n)
            by_mti[mti] += n
            if mti == REVERSAL_MTI:
                self.reversals.labels(rc).inc(n)
        for mti, n in by_mti.items():
            latency = self.latency.labels(mti)
            for _ in range(n):  # each request took the group's time
                latency.observe(seconds)

    def serve(self, bind: str, port: int) -> WSGIServer:
        """`GET /metrics` on (bind, port) in a daemon thread; port 0: a free one."""
        server, _ = start_http_server(port, addr=bind, registry=self.registry)
        return server
