"""The browser side of the pages' tests: the app on a real port and a headless Chromium (Debian's
/usr/bin/chromium, never a downloaded one) for one test module, logging in, screenshots."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from tmskit import PASSWORD, Tms

from steadypos.tms.server import listen

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DOCS = Path(__file__).resolve().parents[2] / "docs"

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(),
                                    reason="no Chromium at /usr/bin/chromium (apt-get install "
                                           "chromium); the tests never download a browser")


@pytest.fixture(scope="module")
def live(tms: Tms) -> Iterator[str]:
    """The app on a real port (uvicorn in a thread), for the browser."""
    sock = listen("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(tms.client.app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def page(live: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800},
                                      locale="zh-CN", base_url=live)
        yield context.new_page()
        browser.close()


def log_in(page: Any, path: str) -> None:
    """Open `path`, logging in as admin first when the browser has no session yet (each test
    stands alone: under xdist the tests of this module may run in different workers)."""
    page.goto(path)
    if page.locator("input[name=password]").count():
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("#login")
        page.wait_for_url(f"**{path}")


def shoot(page: Any, name: str, tmp: Path) -> None:
    folder = DOCS if os.environ.get("STEADYPOS_SCREENSHOTS") == "1" else tmp
    page.screenshot(path=str(folder / f"tms-{name}.png"), full_page=True)


