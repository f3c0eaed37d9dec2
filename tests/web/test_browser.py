"""Debian's Chromium, headless, against a real uvicorn server: the secretary's entry and the parent terminal."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support.servers import ServerThread

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture
def server(node):
    from syncclient.web import create_app

    with ServerThread(create_app(node.folder, idle_timeout=3), server_header=False) as srv:
        yield srv.url


@pytest.fixture
def browser():
    import os

    if not os.path.exists(CHROMIUM):
        if os.environ.get("MASSAR_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing but MASSAR_REQUIRE_BROWSER is set (CI must run browser tests)")
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def login(page, base, who, password):
    page.goto(base + "/login")
    page.fill("#login", who)
    page.fill("#password", password)
    page.click("button.primary")


def test_secretary_enters_marks_and_absence_then_parent_reads_them(server, browser, node, tmp_path):
    base = server
    staff = browser.new_page(viewport={"width": 1280, "height": 800})
    login(staff, base, "sec", "correct horse")
    staff.goto(base + "/staff/grades?class=1APIC-1&subject=MATH&semester=1")
    # keyboard entry: Enter moves down the column
    staff.click("input[name=s0_1]")
    staff.keyboard.type("14")
    staff.keyboard.press("Enter")
    assert staff.evaluate("document.activeElement.name") == "s1_1"
    staff.keyboard.type("25")  # out of the 0-20 scale: flagged at once
    assert "bad" in staff.get_attribute("input[name=s1_1]", "class")
    staff.keyboard.press("Backspace")
    staff.keyboard.press("Backspace")
    staff.keyboard.type("11,5")
    staff.keyboard.press("Tab")
    assert staff.evaluate("document.activeElement.name") == "s2_1"
    staff.select_option("select[name=x2_1]", "a")
    staff.fill("input[name=s0_2]", "6")
    staff.screenshot(path=str(tmp_path / "grade-sheet-ar.png"), full_page=True)
    staff.click("#sheet button.primary")
    assert "تم حفظ ورقة النقط (4 نقطة)" in staff.inner_text("main")
    assert node.query("SELECT pupil, assessment, score, absent FROM grades ORDER BY pupil, assessment") == [
        ("A100000001", 1, 1400, 0),
        ("A100000001", 2, 600, 0),
        ("B100000002", 1, 1150, 0),
        ("C100000003", 1, None, 1),
    ]
    # roll-call: Sara absent the first two hours today
    staff.goto(base + "/staff/absences?class=1APIC-1")
    staff.check("input[name=h0][value='1']")
    staff.check("input[name=h0][value='2']")
    staff.click("main button.primary")
    assert node.query("SELECT pupil, hours FROM absences") == [("A100000001", 3)]
    staff.click("#logout button")
    assert "/login" in staff.url

    parent = browser.new_page(viewport={"width": 360, "height": 740}, is_mobile=True)
    login(parent, base, "A100000001@taalim.ma", node.passwords["A100000001"])
    assert parent.get_attribute("html", "dir") == "rtl" and parent.get_attribute("html", "lang") == "ar"
    text = parent.inner_text("main")
    assert "الرياضيات" in text and "14.00" in text and "6.00" in text
    # the table scrolls inside its box: the page itself is no wider than the phone
    assert parent.evaluate("document.documentElement.scrollWidth") <= 362
    parent.screenshot(path=str(tmp_path / "parent-results-ar.png"), full_page=True)
    parent.click("text=الغياب")
    assert "غير مبرر" in parent.inner_text("main")
    parent.click("a[hreflang=fr]")
    assert parent.get_attribute("html", "dir") == "ltr" and parent.get_attribute("html", "lang") == "fr"
    assert "Non justifiée" in parent.inner_text("main")
    parent.click("nav >> text=Alertes")
    alerts = parent.inner_text("ul.alerts")
    assert f"Absence non justifiée le {dt.date.today().isoformat()}" in alerts
    parent.screenshot(path=str(tmp_path / "parent-alerts-fr.png"), full_page=True)
    parent.click("ul.alerts li.unread button")
    assert parent.locator("ul.alerts li.unread").count() == 0
    parent.click("#logout button")
    assert "/login" in parent.url


def test_idle_parent_is_logged_out(server, browser, node, tmp_path):
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    login(page, server, "B100000002@taalim.ma", node.passwords["B100000002"])
    assert page.url.endswith("/parent")
    page.wait_for_url("**/login", timeout=8000)  # the JS timer posts the logout form after 3 s
    assert "دون نشاط" in page.inner_text("main")
    page.screenshot(path=str(tmp_path / "idle-logout.png"))
    page.goto(server + "/parent")
    assert page.url.endswith("/login")


def test_pages_work_without_javascript(server, browser, node):
    ctx = browser.new_context(java_script_enabled=False)
    page = ctx.new_page()
    login(page, server, "sec", "correct horse")
    page.goto(server + "/staff/grades?class=1APIC-1&subject=MATH&semester=1")
    page.fill("input[name=s0_1]", "30")
    page.click("#sheet button.primary")
    assert "0 و20" in page.inner_text("main")  # the server's check, next to the cell
    assert page.input_value("input[name=s0_1]") == "30"
    page.fill("input[name=s0_1]", "17")
    page.click("#sheet button.primary")
    assert node.query("SELECT score FROM grades") == [(1700,)]
    ctx.close()
