"""The pages in a real headless Chromium (Debian's /usr/bin/chromium, never a downloaded one):
log in, approve an application, assign and ship a terminal, see it become active after a device
activates; the language switch; screenshots of the main pages (into docs/ with
STEADYPOS_SCREENSHOTS=1, for the README; into the test's folder otherwise)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import browser
from browser import log_in, shoot
from tmskit import PASSWORD, Tms, active, application

from steadypos.terminal.activate import activate

pytestmark = browser.needs_chromium


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
