"""The pages in a real headless Chromium (Debian's /usr/bin/chromium, never a downloaded one):
log in, approve an application, assign and ship a terminal, see it become active after a device
activates; the language switch; screenshots of the main pages (into docs/ with
STEADYPOS_SCREENSHOTS=1, for the README; into the test's folder otherwise)."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from tmskit import PASSWORD, Tms, active, application

from steadypos.terminal.activate import activate
from steadypos.tms.server import listen

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DOCS = Path(__file__).resolve().parents[2] / "docs"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="no Chromium at /usr/bin/chromium (apt-get install "
                                       "chromium); the tests never download a browser")


@pytest.fixture(scope="module")
def live(tms: Tms) -> Iterator[str]:
    """The app on a real port (uvicorn in a thread), for the browser."""
    tms.needs_host()  # the page flow ends with a device activating, at the host's registry
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


def test_approve_ship_and_see_the_device_activate(tms: Tms, page: Any, live: str,
                                                  tmp_path: Path) -> None:
    app_id = tms.ok("POST", "/applications", 201, None,
                    json=application(legal_name="杭州西湖茶馆有限公司"))["id"]
    page.goto("/ui/terminals")
    assert page.locator("h1").inner_text() == "登录"  # not logged in: the login page
    shoot(page, "login", tmp_path)
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login")
    page.wait_for_url("**/ui/terminals")
    page.goto("/ui/")
    waiting = int(page.inner_text("#count-waiting"))
    assert waiting >= 1
    page.goto("/ui/applications")
    row = page.locator(f"#application-{app_id}")
    assert "杭州西湖茶馆有限公司" in row.inner_text()
    shoot(page, "applications", tmp_path)
    row.locator("button[name=approve]").click()
    page.wait_for_url("**/ui/applications")
    page.goto("/ui/applications?status=approved")
    page.locator(f"#application-{app_id} a[href^='/ui/merchants/']").click()
    page.wait_for_url(re.compile(r".*/ui/merchants/\d{15}$"))
    page.fill("#assign-form input[name=serial]", "SN-UI-0001")
    page.fill("#assign-form input[name=brand]", "PAX")
    page.fill("#assign-form input[name=model]", "A920")
    page.fill("#assign-form input[name=firmware]", "PayDroid 8.1")
    page.click("#assign")
    page.wait_for_url(re.compile(r".*/ui/terminals/\w{8}$"))
    tid = page.url.rsplit("/", 1)[1]
    assert page.inner_text("#status") == "已分配"
    page.fill("#ship-form input[name=carrier]", "顺丰速运")
    page.fill("#ship-form input[name=tracking_no]", "SF1234567890")
    page.click("#ship")
    code = page.inner_text("#activation-code")
    assert re.fullmatch(r"(\w{4}-){3}\w{4}", code) and page.inner_text("#status") == "已发货"
    done = activate(tmp_path / "device.db", live, "SN-UI-0001", code)  # the device, elsewhere
    assert done["tid"] == tid
    page.goto(f"/ui/terminals/{tid}")
    assert page.inner_text("#status") == "已激活"
    assert page.inner_text("#activated-at").endswith("Z")
    assert "激活" in page.locator("table").last.inner_text()  # the history shows it
    shoot(page, "terminal", tmp_path)
    page.goto("/ui/")
    assert tid in page.inner_text("main") and int(page.inner_text("#count-active")) >= 1
    shoot(page, "dashboard", tmp_path)


def test_language_switch_and_the_other_pages(tms: Tms, page: Any, tmp_path: Path) -> None:
    active(tms, tms.merchant())  # the filter below must find one active terminal
    log_in(page, "/ui/terminals")
    assert page.locator("nav a.on").inner_text() == "终端"
    page.click("#lang-switch")
    page.wait_for_url("**/ui/terminals")
    assert page.locator("nav a.on").inner_text() == "Terminals"
    page.select_option("select[name=status]", "active")
    page.click("form.filters button")
    rows = page.locator("table.terminals tbody tr")
    assert rows.count() >= 1 and "active" in rows.first.inner_text()
    shoot(page, "terminals-en", tmp_path)
    for name in ("merchants", "users"):
        page.goto(f"/ui/{name}")
        assert page.locator("nav a.on").inner_text() == name.capitalize()
        shoot(page, f"{name}-en", tmp_path)
    page.click("#lang-switch")
    assert page.locator("nav a.on").inner_text() == "用户"
