"""The year-flow pages through the web app: council, orientation, year end, the parents' side, SMS counts."""

from __future__ import annotations

import datetime as dt

import pytest

from domain import council
from domain.pupils import Term
from syncclient.store import NodeStore
from tests.web.conftest import SCHOOL, Client

TODAY = dt.date.today()


def _in_3apic(node, pupil: str = "D100000004") -> None:
    """Move a pupil who has a parent login into a 3APIC class (orientation concerns 3APIC)."""
    store = node.store()
    try:
        year = store.term.year
        store.db.conn.execute("INSERT INTO classes VALUES (?, ?, '3APIC-1', '3APIC')", [SCHOOL, year])
        store.db.conn.execute("UPDATE enrolments SET class = '3APIC-1' WHERE pupil = ? AND year = ?", [pupil, year])
    finally:
        store.close()


@pytest.mark.parametrize("lang", ["ar", "fr"])
@pytest.mark.parametrize("url", ["/staff/council?class=1APIC-1", "/staff/orientation?class=1APIC-1", "/staff/year"])
def test_director_pages_render_in_both_languages(client: Client, url, lang):
    client.login("dir")
    client.get(f"/lang/{lang}")
    page = client.get(url)
    assert page.status_code == 200 and f'lang="{lang}"' in page.text


@pytest.mark.parametrize("url", ["/staff/council", "/staff/year"])
def test_only_the_director_decides(client: Client, url):
    client.login("prof")
    assert client.get(url).status_code == 403


def test_council_decisions_from_the_page_reach_the_parent(client: Client, node, make_client):
    client.login("dir")
    page = client.get("/staff/council?class=1APIC-1")
    assert "A100000001" in page.text and "B100000002" in page.text
    rows = [("class", "1APIC-1"), ("p0", "A100000001"), ("d0", "pass"), ("n0", "effort constant")]
    rows += [("p1", "B100000002"), ("d1", "repeat"), ("n1", "")]
    assert client.post("/staff/council", rows).status_code == 200
    assert sorted(node.query("SELECT pupil, decision, note FROM council_decisions")) == [
        ("A100000001", "pass", "effort constant"),
        ("B100000002", "repeat", None),
    ]
    # a pupil of another class posted with this class's form changes nothing
    bad = client.post("/staff/council", [("class", "1APIC-1"), ("p0", "D100000004"), ("d0", "pass")])
    assert bad.status_code == 404 and node.query("SELECT COUNT(*) FROM council_decisions") == [(2,)]

    parent = make_client()
    parent.login("A100000001")
    parent.get("/lang/fr")
    assert "Passe (décision du conseil)" in parent.get("/parent").text


def test_orientation_wishes_decision_and_appeal(client: Client, node, make_client):
    _in_3apic(node)
    store = node.store()
    try:
        store.db.conn.execute(
            "INSERT INTO orientation_rounds VALUES (?, 'final', ?, ?, 10)",
            [store.term.year, (TODAY - dt.timedelta(days=1)).isoformat(), (TODAY + dt.timedelta(days=5)).isoformat()],
        )
    finally:
        store.close()
    parent = make_client()
    parent.login("D100000004")
    page = parent.get("/parent/orientation")
    assert page.status_code == 200 and "TCSF" in page.text
    parent.post("/parent/orientation", {"action": "wishes", "c1": "TCSF", "c2": "TCTF", "c3": ""})
    assert node.query("SELECT round, rank, choice FROM orientation_wishes ORDER BY rank") == [
        ("final", 1, "TCSF"),
        ("final", 2, "TCTF"),
    ]
    twice = parent.post("/parent/orientation", {"action": "wishes", "c1": "TCSF", "c2": "TCSF"})
    assert twice.status_code == 400 and node.query("SELECT COUNT(*) FROM orientation_wishes") == [(2,)]

    client.login("dir")
    rows = [("class", "3APIC-1"), ("p0", "D100000004"), ("s0", "TCTF"), ("n0", "profil technique")]
    client.post("/staff/orientation", rows)
    assert node.query("SELECT decision, note FROM orientation_decisions") == [("TCTF", "profil technique")]
    counts = client.get("/staff/orientation").text
    assert "3APIC-1" in counts and "TCTF" in counts

    assert "profil technique" in parent.get("/parent/orientation").text
    parent.post("/parent/orientation", {"action": "appeal", "note": "nous souhaitons TCSF"})
    assert node.query("SELECT appeal_note, appealed_on FROM orientation_decisions") == [
        ("nous souhaitons TCSF", TODAY.isoformat())
    ]
    assert "nous souhaitons TCSF" in client.get("/staff/orientation?class=3APIC-1").text


def test_round_closed_means_no_wishes_from_the_terminal(node, make_client):
    _in_3apic(node)
    parent = make_client()
    parent.login("D100000004")
    assert parent.post("/parent/orientation", {"action": "wishes", "c1": "TCSF"}).status_code == 400
    assert node.query("SELECT COUNT(*) FROM orientation_wishes") == [(0,)]


def test_year_end_on_the_page_and_last_years_results_stay_readable(client: Client, node, make_client):
    store = node.store()
    try:
        year = store.term.year
        for pupil, _ in store.db.execute("SELECT pupil, class FROM enrolments WHERE year = ?", [year]).fetchall():
            council.decide(store.db, Term(SCHOOL, year), pupil, "pass", today=TODAY)
    finally:
        store.close()
    client.login("dir")
    client.post("/staff/year", {"action": "close"})
    page = client.get("/staff/year?class=1APIC-1").text
    assert "2APIC-1" in page
    client.post("/staff/year", [("action", "confirm"), ("p0", "A100000001"), ("c0", "2APIC-3")])
    refused = client.post("/staff/year", {"action": "open"})
    assert refused.status_code == 409
    client.post("/staff/year", {"action": "confirm"})
    client.post("/staff/year", {"action": "open"})
    start = int(year[:4]) + 1
    following = f"{start}/{start + 1}"
    reopened = NodeStore.open(node.folder)
    try:
        assert reopened.term.year == following
    finally:
        reopened.close()
    assert node.query("SELECT class FROM enrolments WHERE pupil = 'A100000001' AND year = ?", [following]) == [
        ("2APIC-3",)
    ]
    parent = make_client()
    parent.login("A100000001")
    now = parent.get("/parent")
    assert now.status_code == 200 and f'href="/parent?year={year}"' in now.text
    assert parent.get(f"/parent?year={year}").status_code == 200
    assert parent.get("/parent?year=1999/2000").status_code == 404


def test_sync_page_counts_the_sms_outbox_and_reports_need_a_token(client: Client, node):
    store = node.store()
    try:
        store.db.conn.execute(
            "UPDATE guardians SET phone = '+212612345678', sms_consent = 1 WHERE pupil = 'A100000001'"
        )
        n = store.db.execute("SELECT COUNT(*) FROM guardians WHERE pupil = 'A100000001'").fetchone()[0]
        if n == 0:
            store.db.conn.execute(
                "INSERT INTO guardians VALUES (?, 'A100000001', 1, 'Mère', 'mother', '+212612345678', 'ar', 1)",
                [SCHOOL],
            )
        store.db.conn.execute(
            "INSERT INTO incidents (school, pupil, day, n, description) VALUES (?, 'A100000001', ?, 1, 'x')",
            [SCHOOL, TODAY.isoformat()],
        )
    finally:
        store.close()
    client.login("sec")
    page = client.get("/staff/sync").text
    assert '<dd id="sms-queued">1</dd>' in page and '<dd id="sms-sent">0</dd>' in page
    (ident,) = node.query("SELECT id FROM _sms_outbox")[0]
    assert client.get(f"/sms/dlr?id={ident}&t=forged&s=1").status_code == 404
    assert node.query("SELECT state FROM _sms_outbox") == [("queued",)]


def test_reenrolment_at_the_secretariat_confirms_the_years_proposal(client: Client, node):
    store = node.store()
    try:
        term = store.term
        for pupil, _ in store.db.execute("SELECT pupil, class FROM enrolments WHERE year = ?", [term.year]).fetchall():
            council.decide(store.db, term, pupil, "pass", today=TODAY)
        from domain import year_end

        year_end.close_year(store.db, term)
        year_end.confirm(store.db, term, {"B100000002": None})  # creates next year's 2APIC-1
    finally:
        store.close()
    client.login("sec")
    page = client.get("/staff/reenrol?class=1APIC-1")
    assert page.status_code == 200 and "<option selected>2APIC-1</option>" in page.text  # B, as confirmed
    rows = node.query("SELECT pupil FROM enrolments WHERE year = ? AND class = '1APIC-1' ORDER BY pupil", [term.year])
    form = [("class", "1APIC-1")]
    for i, (pupil,) in enumerate(rows):
        form += [(f"p{i}", pupil), (f"n{i}", "2APIC-1" if pupil == "A100000001" else "")]
    assert client.post("/staff/reenrol", form).status_code == 200
    assert node.query("SELECT next_class, confirmed FROM year_outcomes WHERE pupil = 'A100000001'") == [("2APIC-1", 1)]
