"""Two people on one sheet: a save changes only the cells its page showed differently (issue 15, point 1)."""

from __future__ import annotations

import threading

from .forms import form_fields, with_values

SHEET = "/staff/grades?class=1APIC-1&subject=MATH&semester=1"


def marks(node):
    return node.query("SELECT pupil, assessment, score FROM grades WHERE subject = 'MATH' ORDER BY pupil, assessment")


def test_an_older_page_does_not_delete_marks_saved_since(make_client, node):
    secretary, teacher = make_client(), make_client()
    secretary.login("sec")
    teacher.login("prof")
    old_page = form_fields(teacher.get(SHEET).text, "sheet")
    page = form_fields(secretary.get(SHEET).text, "sheet")
    r = secretary.post("/staff/grades", with_values(page, s0_1="12", s1_1="13", s2_1="14"))
    assert r.status_code == 200
    # the teacher saves one mark in another cell from the page opened before
    r = teacher.post("/staff/grades", with_values(old_page, s0_2="9"))
    assert r.status_code == 200
    assert marks(node) == [
        ("A100000001", 1, 1200),
        ("A100000001", 2, 900),
        ("B100000002", 1, 1300),
        ("C100000003", 1, 1400),
    ]


def test_a_cell_changed_since_is_a_conflict_showing_both_values(make_client, node):
    secretary, teacher = make_client(), make_client()
    secretary.login("sec")
    teacher.login("prof")
    old_page = form_fields(teacher.get(SHEET).text, "sheet")
    secretary.post("/staff/grades", with_values(form_fields(secretary.get(SHEET).text, "sheet"), s0_1="12"))
    r = teacher.post("/staff/grades", with_values(old_page, s0_1="15", s1_1="8"))
    assert r.status_code == 409
    assert "«12»" in r.text and "«15»" in r.text  # both values on the page
    assert marks(node) == [("A100000001", 1, 1200)]  # nothing of the conflicting save was written
    again = form_fields(r.text, "sheet")
    assert dict(again)["s0_1"] == "15" and dict(again)["s1_1"] == "8"  # what the teacher typed is kept
    # saving again, knowingly, keeps the teacher's values
    assert teacher.post("/staff/grades", again).status_code == 200
    assert marks(node) == [("A100000001", 1, 1500), ("B100000002", 1, 800)]


def test_an_untouched_cell_changed_since_is_refreshed_on_a_conflict_page(make_client, node):
    secretary, teacher = make_client(), make_client()
    secretary.login("sec")
    teacher.login("prof")
    old_page = form_fields(teacher.get(SHEET).text, "sheet")
    secretary.post("/staff/grades", with_values(form_fields(secretary.get(SHEET).text, "sheet"), s0_1="12", s2_1="17"))
    r = teacher.post("/staff/grades", with_values(old_page, s0_1="15"))
    assert r.status_code == 409
    again = dict(form_fields(r.text, "sheet"))
    assert again["s2_1"] == "17.00"  # the secretary's mark, now shown, will not be reverted
    assert teacher.post("/staff/grades", list(again.items())).status_code == 200
    assert marks(node) == [("A100000001", 1, 1500), ("C100000003", 1, 1700)]


def test_clearing_a_cell_someone_else_filled_is_a_conflict(make_client, node):
    secretary, teacher = make_client(), make_client()
    secretary.login("sec")
    teacher.login("prof")
    teacher_page = form_fields(teacher.get(SHEET).text, "sheet")
    secretary.post("/staff/grades", with_values(form_fields(secretary.get(SHEET).text, "sheet"), s0_1="12"))
    teacher.post("/staff/grades", with_values(teacher_page, s0_1="11"))  # conflict, nothing written
    assert marks(node) == [("A100000001", 1, 1200)]
    fresh = form_fields(teacher.get(SHEET).text, "sheet")
    assert teacher.post("/staff/grades", with_values(fresh, s0_1="")).status_code == 200
    assert marks(node) == []


def test_a_page_waiting_for_the_database_does_not_stop_the_event_loop(app, client):
    """SQLite work runs in worker threads: while one page waits for the database, others are answered."""
    client.login("sec")
    web = app.state.web
    done = threading.Event()
    with web._db_lock:  # the database is busy (a long save, say)
        waiting = threading.Thread(target=lambda: (client.get("/staff"), done.set()), daemon=True)
        waiting.start()
        assert not done.wait(0.3)  # the staff page waits for the database...
        assert client.get("/static/app.css").status_code == 200  # ...while the loop still serves others
    assert done.wait(10)
    waiting.join(10)
