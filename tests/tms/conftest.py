"""Fixtures of the TMS tests: one app per test module on each database backend (SQLite in a
temporary folder; PostgreSQL in a fresh schema, skipped with a reason when no server answers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser import live, page  # noqa: F401 - the pages' tests' fixtures
from support.pg import pg_schema
from tmskit import Tms


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def tms(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tms]:
    root = tmp_path_factory.mktemp("tms")
    if request.param == "sqlite":
        tms = Tms.start(str(root / "host.db"), root / "ca", "sqlite")
        yield tms
        tms.ctx.engine.dispose()
        return
    with pg_schema("tms_test") as url:
        tms = Tms.start(url, root / "ca", "postgresql", host_keys=root / "host.keys")
        yield tms
        tms.ctx.engine.dispose()
