"""Issue 16 in Debian's Chromium: nobody loses typed work, and the pages read right in Arabic and French."""

from __future__ import annotations

import re

import pytest

from domain import grades
from syncclient.store import NodeStore

from .browserkit import NodeServer, login, shots_dir
from .conftest import STAFF_PASSWORD

pytestmark = pytest.mark.browser

SHEET = "/staff/grades?class=1APIC-1&subject=MATH&semester=1"
PARENT_PAGES = ["/parent", "/parent/absences", "/parent/incidents", "/parent/alerts", "/parent/exams"]
LATIN = re.compile(r"[A-Za-z]")


@pytest.fixture
def server(node):
    srv = NodeServer(node.folder).start()
    yield srv
    srv.stop()


def shot(page, name: str) -> None:
    folder = shots_dir()
    if folder is not None:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_a_restart_with_a_half_typed_sheet_keeps_the_marks(server, browser, node):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    login(page, server.url, "sec", STAFF_PASSWORD)
    page.goto(server.url + SHEET)
    page.fill("input[name=s0_1]", "15")
    page.fill("input[name=s1_1]", "9,5")
    server.stop()  # massar node serve restarts while the secretary types
    server.start()
    page.click("#sheet button.primary")
    assert "/staff/grades" in page.url and "(نقطتان)" in page.inner_text("main")
    assert node.query("SELECT pupil, score FROM grades ORDER BY pupil") == [("A100000001", 1500), ("B100000002", 950)]


def test_an_ended_session_asks_the_password_on_the_same_page_and_saves(server, browser, node):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    login(page, server.url, "sec", STAFF_PASSWORD)
    page.goto(server.url + SHEET)
    page.fill("input[name=s0_1]", "12")
    page.select_option("select[name=x2_1]", "j")
    page.fill("input[name=r0]", "Bien")
    server.app.state.web.sessions.clock = lambda: 4_000_000_000.0  # half an hour and more went by
    page.click("#sheet button.primary")
    assert page.locator("#relogin_password").is_visible()
    assert node.query("SELECT COUNT(*) FROM grades") == [(0,)]
    shot(page, "relogin-ar-1280")
    page.fill("#relogin_password", STAFF_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/staff/grades?**")
    assert node.query("SELECT pupil, score, absent, justified, remark FROM grades ORDER BY pupil") == [
        ("A100000001", 1200, 0, 0, "Bien"),
        ("C100000003", None, 1, 1, None),
    ]


def test_keyboard_only_grade_entry_with_absences_and_arabic_digits(server, browser, node):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    login(page, server.url, "sec", STAFF_PASSWORD)
    page.goto(server.url + SHEET)
    page.focus("input[name=s0_1]")
    kb = page.keyboard
    kb.type("١٤")  # Arabic-Indic digits, as an Arabic phone keyboard types them
    kb.press("Enter")  # down the column
    kb.type("a")  # A in a score box: absent
    kb.press("Enter")
    kb.type("12,5")
    kb.press("Tab")  # along the row: this cell's absence choice...
    assert page.evaluate("document.activeElement.name") == "x2_1"
    kb.press("Tab")  # ...then the next test
    kb.type("١٢٫٧٥")
    for _ in range(12):  # Tab, Tab... along the row (score, absence, next test...) to the remark
        kb.press("Tab")
        if page.evaluate("document.activeElement.name") == "r2":
            break
    assert page.evaluate("document.activeElement.name") == "r2"
    kb.type("Travail régulier")
    kb.press("Shift+Tab")
    kb.press("Shift+Tab")
    assert page.evaluate("document.activeElement.name") == "s2_5"
    kb.type("j")  # a justified absence for the activities
    with page.expect_navigation():
        kb.press("Control+Enter")  # saves from anywhere
    rows = node.query(
        "SELECT pupil, assessment, score, absent, justified, remark FROM grades ORDER BY pupil, assessment"
    )
    assert rows == [
        ("A100000001", 1, 1400, 0, 0, None),
        ("B100000002", 1, None, 1, 0, None),
        ("C100000003", 1, 1250, 0, 0, "Travail régulier"),
        ("C100000003", 2, 1275, 0, 0, "Travail régulier"),
        ("C100000003", 5, None, 1, 1, "Travail régulier"),
    ]
    # every cell has an accessible name (its pupil and its column)
    unnamed = page.evaluate(
        """[...document.querySelectorAll('#sheet input:not([type=hidden]), #sheet select')]
             .filter(e => !(e.getAttribute('aria-labelledby') || e.labels.length)).length"""
    )
    assert unnamed == 0
    # Enter on the last remark saves too
    page.focus("input[name=r2]")
    kb.press("End")
    kb.type(".")
    with page.expect_navigation():
        kb.press("Enter")
    assert node.query("SELECT DISTINCT remark FROM grades WHERE pupil = 'C100000003'") == [("Travail régulier.",)]


def test_the_remark_column_fits_at_1280(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    login(page, server.url, "sec", STAFF_PASSWORD)
    page.goto(server.url + SHEET)
    page.fill("input[name=r0]", "sans note")
    page.click("#sheet button.primary")  # an error under the remark
    box = page.locator("input[name=r0]").bounding_box()
    assert box and box["x"] + box["width"] <= 1280
    err = page.locator("tr:first-child td:last-child b.err").bounding_box()
    assert err and err["x"] + err["width"] <= 1280
    shot(page, "grades-error-ar-1280")


def test_the_partial_semester_is_provisional_until_the_director_closes_it(server, browser, node):
    store = NodeStore.open(node.folder)
    try:
        entries = [grades.GradeEntry("A100000001", "MATH", 2, 1, grades.parse_score("16"))]
        entries += [grades.GradeEntry("B100000002", "MATH", s, 1, grades.parse_score("9")) for s in (1, 2)]
        entries += [grades.GradeEntry("A100000001", "MATH", 1, 1, grades.parse_score("12"))]
        grades.record_grades(store.db, store.term, entries)
    finally:
        store.close()
    parent = browser.new_page(viewport={"width": 360, "height": 740}, is_mobile=True)
    login(parent, server.url, "A100000001", node.passwords["A100000001"])  # no @taalim.ma
    text = parent.inner_text("main")
    assert "مؤقت" in text and "بعد إغلاق الدورة" in text
    assert "ناجح" not in text and "/ 22" not in text and "1 / 3" not in text  # no rank, no decision
    assert "بعد إغلاق الدورتين" in text
    shot(parent, "parent-results-provisional-ar-360")
    parent.click("#logout button")
    director = browser.new_page(viewport={"width": 1280, "height": 800})
    login(director, server.url, "dir", STAFF_PASSWORD)
    director.goto(server.url + "/staff/semesters")
    for _ in (1, 2):
        director.click("button[value=close]")
    shot(director, "semesters-ar-1280")
    login(parent, server.url, "A100000001", node.passwords["A100000001"])
    text = parent.inner_text("main")
    assert "مؤقت" not in text and "1 / 3" in text  # ranks now, and the annual result
    assert "المعدل السنوي" in text


def test_the_password_slip_survives_a_reload(server, browser, node):
    page = browser.new_page(viewport={"width": 360, "height": 740}, is_mobile=True)
    login(page, server.url, "sec", STAFF_PASSWORD)
    page.goto(server.url + "/staff/logins?class=1APIC-1")
    page.click("form:has(input[value=C100000003]) button")
    first = page.inner_text(".creds")
    page.reload()
    assert page.inner_text(".creds") == first
    password = re.search(r"\b([a-z0-9]{10})\b", first).group(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.locator("h1").count() == 1
    shot(page, "slip-ar-360")
    page.click("#logout button")
    login(page, server.url, "C100000003", password)
    assert page.url.endswith("/parent")


def test_the_offline_sync_page_speaks_arabic(server, browser, node):
    store = NodeStore.open(node.folder)
    try:
        store.set_setting("last_sync", "2026-03-01T10:15:00+00:00")
        store.set_setting("last_error", "central server unreachable: ConnectError: [Errno 111] Connection refused")
    finally:
        store.close()
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    login(page, server.url, "sec", STAFF_PASSWORD)
    page.goto(server.url + "/staff/sync")
    text = page.inner_text("main")
    assert "لا يوجد اتصال بالخادم المركزي منذ" in text and "سترسل تلقائيا" in text
    assert not LATIN.search(text), text
    shot(page, "sync-offline-ar-1280")
    page.click("a[hreflang=fr]")
    assert "Pas de connexion au serveur central depuis" in page.inner_text("main")
    shot(page, "sync-offline-fr-1280")


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_parent_pages_fit_a_phone(server, browser, node, lang):
    store = NodeStore.open(node.folder)
    try:
        grades.record_grades(
            store.db, store.term, [grades.GradeEntry("A100000001", "MATH", 1, 1, grades.parse_score("13.5"))]
        )
    finally:
        store.close()
    page = browser.new_page(viewport={"width": 360, "height": 740}, is_mobile=True)
    login(page, server.url, "A100000001", node.passwords["A100000001"])
    if lang == "fr":
        page.click("a[hreflang=fr]")
    for path in PARENT_PAGES:
        page.goto(server.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
        small = page.evaluate(
            """[...document.querySelectorAll('main a, main button, header a, header button')]
                 .filter(e => e.offsetParent && e.getBoundingClientRect().height < 44).length"""
        )
        assert small == 0, path  # touch targets of 44 px
        shot(page, f"parent{path.replace('/', '-')}-{lang}-360")
    page.goto(server.url + "/parent")
    avg = page.locator("td.avg").first.bounding_box()
    assert avg and avg["x"] >= 0 and avg["x"] + avg["width"] <= 360  # the average is on screen


def test_staff_header_is_compact_on_a_phone(server, browser):
    page = browser.new_page(viewport={"width": 360, "height": 740}, is_mobile=True)
    login(page, server.url, "sec", STAFF_PASSWORD)
    page.goto(server.url + "/staff/absences?class=1APIC-1")
    assert page.locator("header").bounding_box()["height"] <= 160
    shot(page, "rollcall-ar-360")
    page.goto(server.url + SHEET)
    name = page.locator("th#n0").bounding_box()
    page.evaluate(
        "document.querySelector('.scroll').scrollLeft = -1000; document.querySelector('.scroll').scrollLeft = 1000"
    )
    assert page.locator("th#n0").bounding_box()["x"] == pytest.approx(name["x"], abs=2)  # the name stays in view
    shot(page, "grades-ar-360")


def test_reading_keeps_a_parent_logged_in_and_the_logout_speaks_their_language(node, browser):
    srv = NodeServer(node.folder, idle_timeout=3).start()
    try:
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        login(page, srv.url, "B100000002", node.passwords["B100000002"])
        page.click("a[hreflang=fr]")
        for i in range(6):  # 4.8 s of reading: scrolling and moving the mouse, no click
            page.mouse.move(100 + 10 * i, 200)
            page.mouse.wheel(0, 40)
            page.wait_for_timeout(800)
        page.click("nav a[href='/parent/absences']")  # the server kept the session too
        assert page.url.endswith("/parent/absences")
        page.wait_for_url("**/login", timeout=8000)  # then 3 s without anything: logged out
        text = page.inner_text("main")
        assert "inactivité" in text or "sans activité" in text, text
        assert page.get_attribute("html", "lang") == "fr"
    finally:
        srv.stop()


def test_registration_keeps_the_birth_place_typed_after_the_date(server, browser, node):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    login(page, server.url, "sec", STAFF_PASSWORD)
    page.goto(server.url + "/staff/register")
    page.select_option("#class", "1APIC-2")
    page.fill("#last_name", "FILALI")
    page.fill("#first_name", "NOUR")
    page.check("input[value=F]")
    page.focus("#birth_date")
    page.keyboard.type("02/04/2013")
    page.keyboard.press("Tab")
    page.keyboard.type("Fès")
    page.click("form.card button.primary")
    assert node.query("SELECT birth_date, birth_place FROM pupils WHERE last_name = 'FILALI'") == [
        ("2013-04-02", "Fès")
    ]
    shot(page, "register-ar-1280")


def test_staff_pages_fit_and_have_touch_targets_in_both_languages(server, browser, node):
    """No sideways page at 1280 or 360 px, 44 px targets on a phone; MASSAR_SCREENSHOTS=DIR keeps pictures."""
    for width in (1280, 360):
        phone = width == 360
        page = browser.new_page(viewport={"width": width, "height": 800}, is_mobile=phone, has_touch=phone)
        login(page, server.url, "dir", STAFF_PASSWORD)
        for lang in ("ar", "fr"):
            page.goto(f"{server.url}/lang/{lang}?next=/staff")
            for name, path in [
                ("home", "/staff"),
                ("grades", SHEET),
                ("rollcall", "/staff/absences?class=1APIC-1"),
                ("justify", "/staff/justify?class=1APIC-1"),
                ("incidents", "/staff/incidents?class=1APIC-1"),
                ("register", "/staff/register"),
                ("sync", "/staff/sync"),
            ]:
                page.goto(server.url + path)
                assert page.evaluate("document.documentElement.scrollWidth") <= width, (path, lang, width)
                if width == 360:  # touch targets of 44 px on the phone
                    small = page.evaluate(
                        """[...document.querySelectorAll('a.btn, button, nav a, main input:not([type=hidden]), main select')]
                             .filter(e => e.offsetParent && e.getBoundingClientRect().height < 43.5)
                             .map(e => e.outerHTML.slice(0, 80))"""
                    )
                    assert small == [], (path, lang, small)
                shot(page, f"staff-{name}-{lang}-{width}")
        page.close()
