"""The host's Prometheus metrics (`steadypos host --metrics-port N`, prometheus-client): requests
by MTI and response code, reversals, group-commit sizes and a latency histogram, counted by the
writer thread once a group is committed (what was answered, not what was attempted)."""

from __future__ import annotations

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
        for req, resp in answered:
            rc = (resp.get(39) if resp is not None else None) or NO_ANSWER
            self.requests.labels(req.mti, rc).inc()
            self.latency.labels(req.mti).observe(seconds)
            if req.mti == REVERSAL_MTI:
                self.reversals.labels(rc).inc()

    def serve(self, bind: str, port: int) -> WSGIServer:
        """`GET /metrics` on (bind, port) in a daemon thread; port 0: a free one."""
        server, _ = start_http_server(port, addr=bind, registry=self.registry)
        return server
