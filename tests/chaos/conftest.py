"""Fixtures of the fault proxy's tests: the echoing upstream, proxies in front of it and clients of
them, each stopped after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from proxykit import Client, Upstream

from steadypos.chaos.proxy import FaultProxy, Toxic


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    u = Upstream()
    yield u
    u.close()


@pytest.fixture
def make_proxy(upstream: Upstream) -> Iterator[Callable[..., FaultProxy]]:
    made: list[FaultProxy] = []

    def make(*toxics: Toxic, seed: int = 1, control: bool = False) -> FaultProxy:
        p = FaultProxy(upstream=("127.0.0.1", upstream.port), listen=("127.0.0.1", 0), seed=seed,
                       control=("127.0.0.1", 0) if control else None)
        for t in toxics:
            p.add(t)
        made.append(p.start())
        return p

    yield make
    for p in made:
        p.stop()


@pytest.fixture
def client_of() -> Iterator[Callable[[FaultProxy], Client]]:
    clients: list[Client] = []

    def connect(p: FaultProxy) -> Client:
        clients.append(Client(p.port))
        return clients[-1]

    yield connect
    for c in clients:
        c.close()
