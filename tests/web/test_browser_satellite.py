"""A satellite school's parent reads at the host school's terminal, in Arabic, in Debian's Chromium (issue 12).

Real parts end to end: a central server (uvicorn), the satellite's node and the
host's node syncing with it over HTTP, `attach` at the centre, the host's web app
in a thread, and a parent signing in with CODE@taalim.ma at the host's terminal.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import sample
from domain.codes import school_year_of
from protocol.auth import node_key_from_token
from server.app import create_app
from server.satellites import attach
from server.schools import add_school
from server.store import open_central
from syncclient.session import SyncSession
from syncclient.store import NodeStore
from tests.support.servers import ServerThread

from .browserkit import NodeServer, login, shots_dir
from .conftest import STAFF_PASSWORD

pytestmark = pytest.mark.browser

HOST, SATELLITE = "HOST01", "SAT01"


def _sync(store: NodeStore) -> None:
    session = SyncSession(store)
    try:
        session.run()
    finally:
        session.close()


def _node(folder: Path, code: str, name: str, url: str, token: str, year: str) -> NodeStore:
    return NodeStore.init(
        folder, code, name=name, year=year, server=url, node_key=node_key_from_token(code, token).hex()
    )


@pytest.fixture
def host_terminal(tmp_path: Path, run_massar):
    """(host web server, satellite pupil, parent's password, a day the pupil was absent)."""
    central_folder = tmp_path / "central"
    db = open_central(central_folder, create=True)
    tokens = {
        HOST: add_school(db, HOST, "École Centrale Imlil"),
        SATELLITE: add_school(db, SATELLITE, "Satellite Tizi"),
    }
    db.conn.close()
    central = ServerThread(create_app(central_folder), lifespan="on").start()
    url = f"http://127.0.0.1:{central.port}"
    today = dt.date.today()
    year = school_year_of(today)
    opened: list[NodeStore] = []
    web: NodeServer | None = None
    try:
        satellite = _node(tmp_path / "sat", SATELLITE, "Satellite Tizi", url, tokens[SATELLITE], year)
        host = _node(tmp_path / "host", HOST, "École Centrale Imlil", url, tokens[HOST], year)
        opened += [satellite, host]
        school = sample.make_school(satellite.db, satellite.term, seed=7, pupils=12, classes=6, level_mix="primary")
        sample.semester_grades(satellite.db, satellite.term, school, 1, seed=7)
        pupil = school.pupils[0]
        absent_on = today - dt.timedelta(days=1)
        with_absence = sample.absences(satellite.db, satellite.term, school, days=[absent_on], rate=0.9, seed=7)
        assert with_absence
        pupil = satellite.db.execute(
            "SELECT pupil FROM absences WHERE day = ? AND hours != 0 ORDER BY pupil", [absent_on.isoformat()]
        ).fetchone()[0]
        _sync(satellite)
        host_school = sample.make_school(host.db, host.term, seed=8, pupils=12, classes=6, level_mix="primary")
        sample.semester_grades(host.db, host.term, host_school, 1, seed=8)
        _sync(host)
        db = open_central(central_folder)
        attach(db, SATELLITE, HOST)
        db.conn.close()
        _sync(host)
        for store in opened:
            store.close()
        opened.clear()
        run_massar(
            "node", "add-staff", "--login", "sec", "--role", "secretary", "--password", STAFF_PASSWORD,
            data=tmp_path / "host",
        )  # fmt: skip
        web = NodeServer(tmp_path / "host").start()
        yield web, pupil, absent_on
    finally:
        for store in opened:
            store.close()
        if web is not None:
            web.stop()
        central.stop()


def test_a_satellite_parent_reads_at_the_host_terminal_in_arabic(host_terminal, browser) -> None:
    web, pupil, absent_on = host_terminal
    # The host's secretary prints the satellite parent's slip (accounts never travel: issued where he reads).
    page = browser.new_page(viewport={"width": 1024, "height": 900})
    login(page, web.url, "sec", STAFF_PASSWORD)
    page.goto(web.url + "/staff/logins")
    satellite_classes = page.locator(f"p.satellite-classes[data-satellite={SATELLITE}]")
    assert "مدرسة فرعية Satellite Tizi" in satellite_classes.inner_text()
    row = None
    for link in satellite_classes.locator("a").all():
        page.goto(web.url + str(link.get_attribute("href")))
        if page.locator(f"tr:has-text('{pupil}')").count():
            row = page.locator(f"tr:has-text('{pupil}')")
            break
    assert row is not None, "the satellite pupil is in none of its classes on the logins page"
    row.locator("button").click()
    page.wait_for_url("**/staff/logins/slip?**")
    codes = page.locator("dl.creds code").all_inner_texts()
    assert codes[0] == f"{pupil}@taalim.ma"
    password = codes[1]
    page.click("button.logout")
    page = browser.new_page(viewport={"width": 412, "height": 900})
    login(page, web.url, f"{pupil}@taalim.ma", password)
    page.wait_for_url("**/parent")
    assert page.locator("html").get_attribute("lang") == "ar"
    banner = page.locator("p.satellite")
    assert banner.get_attribute("data-satellite") == SATELLITE
    text = banner.inner_text()
    assert "مدرسة فرعية" in text and "Satellite Tizi" in text and "محينة إلى غاية" in text
    # The bulletin: the satellite's marks of semester 1, read here.
    assert page.locator("table.bulletin tbody tr").count() > 0
    folder = shots_dir()
    if folder is not None:
        page.screenshot(path=str(folder / "satellite-results-ar.png"), full_page=True)
    page.goto(web.url + "/parent/absences")
    assert page.locator("p.satellite").count() == 1
    assert absent_on.strftime("%d/%m/%Y") in page.inner_text("main")
    page.goto(web.url + "/parent/alerts")
    assert page.locator("p.satellite").count() == 1
    assert absent_on.strftime("%d/%m/%Y") in page.inner_text("main")  # the absence raised an alert here
    # In French too, the same marking.
    page.goto(web.url + "/parent")
    page.click("a.lang")
    page.wait_for_url("**/parent")
    assert "École satellite : Satellite Tizi" in page.locator("p.satellite").inner_text()
