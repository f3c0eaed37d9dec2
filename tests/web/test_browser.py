"""Debian's Chromium, headless, against a real uvicorn server: the secretary's entry and the parent terminal."""

from __future__ import annotations

import datetime as dt

import pytest

from .browserkit import NodeServer, login

pytestmark = pytest.mark.browser


@pytest.fixture
def server(node):
    srv = NodeServer(node.folder, idle_timeout=3).start()
    yield srv.url
    srv.stop()


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
    staff.keyboard.press("Tab")  # Tab goes along the row: the absence choice of that cell
    assert staff.evaluate("document.activeElement.name") == "x1_1"
    staff.select_option("select[name=x2_1]", "a")
    staff.fill("input[name=s0_2]", "6")
    staff.screenshot(path=str(tmp_path / "grade-sheet-ar.png"), full_page=True)
    staff.click("#sheet button.primary")
    assert "تم حفظ ورقة النقط (4 نقط)" in staff.inner_text("main")
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
    assert f"Absence non justifiée le {dt.date.today():%d/%m/%Y}" in alerts
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


def test_secretary_records_a_departure_on_the_arabic_leave_page(server, browser, node, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    login(page, server, "sec", "correct horse")
    page.goto(server + "/staff")
    page.click("a[href='/staff/leave']")
    assert page.get_attribute("html", "dir") == "rtl"
    assert "تسجيل مغادرة تلميذ" in page.inner_text("h1")
    page.select_option("#pupil", "D100000004")
    day = dt.date.today() - dt.timedelta(days=2)
    page.fill("#left_on", day.strftime("%d/%m/%Y"))
    page.check("input[name=kind][value=transfer]")
    page.fill("#to_school", "OT2001")
    page.screenshot(path=str(tmp_path / "leave-ar.png"), full_page=True)
    page.click("#leave button.primary")
    assert "تم تسجيل مغادرة التلميذ D100000004." in page.inner_text("main")
    assert "انتقال إلى مؤسسة أخرى" in page.inner_text("table")
    assert node.query("SELECT pupil, left_on, kind, to_school FROM departures") == [
        ("D100000004", day.isoformat(), "transfer", "OT2001")
    ]
