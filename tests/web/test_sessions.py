"""Nobody loses typed work: sessions survive restarts, an ended session asks for the password and saves."""

from __future__ import annotations

from syncclient.web import create_app

from .conftest import STAFF_PASSWORD
from .forms import form_fields, with_values

SHEET = "/staff/grades?class=1APIC-1&subject=MATH&semester=1"


def marks(node):
    return node.query("SELECT pupil, assessment, score FROM grades ORDER BY pupil, assessment")


def test_a_session_survives_a_restart_of_the_node(node, make_client):
    first = make_client(create_app(node.folder, secret_key=b"k" * 32))
    first.login("sec")
    page = form_fields(first.get(SHEET).text, "sheet")
    # the node restarts: a new app on the same database; the browser keeps its cookie
    second = make_client(create_app(node.folder, secret_key=b"k" * 32))
    second.c.cookies.update(first.c.cookies)
    assert second.get("/staff").url.path == "/staff"
    r = second.post("/staff/grades", with_values(page, s0_1="13"), csrf=None)
    assert r.status_code == 200 and r.url.path == "/staff/grades"
    assert marks(node) == [("A100000001", 1, 1300)]


def test_the_session_table_holds_no_usable_session_id(client, node):
    client.login("sec")
    sid_hashes = [r[0] for r in node.query("SELECT id FROM _web_sessions")]
    assert len(sid_hashes) == 1 and len(sid_hashes[0]) == 64
    assert client.c.cookies.get("massar_session") and sid_hashes[0] not in client.c.cookies.get("massar_session")


def test_an_ended_session_asks_for_the_password_on_save_and_saves_what_was_typed(app, client, node):
    clock = [1000.0]
    app.state.web.sessions.clock = lambda: clock[0]
    client.login("sec")
    page = form_fields(client.get(SHEET).text, "sheet")
    clock[0] += 1801  # more than the staff idle time went by while typing
    typed = with_values(page, s0_1="14", x1_1="a", r0="Bien")
    r = client.post("/staff/grades", typed)
    assert r.status_code == 401 and 'name="relogin_password"' in r.text
    assert marks(node) == []  # nothing saved yet...
    kept = form_fields(r.text)
    assert ("s0_1", "14") in kept and ("x1_1", "a") in kept and ("r0", "Bien") in kept  # ...nothing lost
    assert dict(kept)["relogin_login"] == "sec"
    # a wrong password shows the same page again, still holding the marks
    r = client.post("/staff/grades", with_values(kept, relogin_password="wrong"))
    assert r.status_code == 401 and ("s0_1", "14") in form_fields(r.text)
    r = client.post("/staff/grades", with_values(form_fields(r.text), relogin_password=STAFF_PASSWORD))
    assert r.status_code == 200 and r.url.path == "/staff/grades"
    assert node.query("SELECT pupil, assessment, score, absent, remark FROM grades ORDER BY pupil") == [
        ("A100000001", 1, 1400, 0, "Bien"),
        ("B100000002", 1, None, 1, None),
    ]
    assert client.get("/staff").url.path == "/staff"  # and the secretary is logged in again


def test_a_page_asked_for_after_the_session_ended_opens_after_login(app, client):
    clock = [1000.0]
    app.state.web.sessions.clock = lambda: clock[0]
    client.login("sec")
    clock[0] += 1801
    r = client.get(SHEET)
    assert r.url.path == "/login"
    r = client.post("/login", {"login": "sec", "password": STAFF_PASSWORD})
    assert r.url.path == "/staff/grades" and "subject=MATH" in str(r.url)
