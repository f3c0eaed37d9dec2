"""Roll-call mistakes can be corrected (issue 16.4), and a roll call saved from an older page loses nothing (15.1)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

from .conftest import TODAY
from .forms import form_fields, with_values

DAY = (TODAY - dt.timedelta(days=1)).isoformat()
ROLL = f"/staff/absences?class=1APIC-1&day={DAY}"


def roll(client):
    return form_fields(client.get(ROLL).text, "roll")


def ticks(fields, row, hours):
    """The form with row `row` ticked at exactly these hours (no full-day box)."""
    kept = [(k, v) for k, v in fields if k not in (f"h{row}", f"f{row}")]
    return kept + [(f"h{row}", str(h)) for h in hours]


def absences(node):
    return node.query("SELECT pupil, hours, justified FROM absences ORDER BY pupil")


def alert(node, pupil):
    rows = node.query("SELECT detail, read_at FROM _alerts WHERE pupil = ? AND kind = 'absence'", [pupil])
    return [(json.loads(d), r) for d, r in rows]


def test_a_wrong_tick_is_corrected_kept_in_the_history_and_the_alert_withdrawn(client, node):
    client.login("sec")
    client.post("/staff/absences", ticks(ticks(roll(client), 0, [1, 2]), 1, [1, 2, 3]))
    assert absences(node) == [("A100000001", 3, 0), ("B100000002", 7, 0)]
    assert alert(node, "A100000001")[0][0] == {"hours": 3}
    # the parent reads the alert, then the secretary sees Sara was there after all, and Omar left at 2
    with sqlite3.connect(node.folder / "node.sqlite") as conn:
        conn.execute("UPDATE _alerts SET read_at = '2026-01-01'")
    assert alert(node, "A100000001")[0][1] == "2026-01-01"
    r = client.post("/staff/absences", ticks(ticks(roll(client), 0, []), 1, [3]))
    assert r.status_code == 200
    assert absences(node) == [("B100000002", 4, 0)]
    assert node.query("SELECT pupil, before, after, by FROM _absence_corrections ORDER BY pupil") == [
        ("A100000001", 3, 0, "sec"),
        ("B100000002", 7, 4, "sec"),
    ]
    # the parents are told again: withdrawn for Sara, corrected for Omar
    assert alert(node, "A100000001") == [({"hours": 0, "corrected": 1, "was": 3}, None)]
    assert alert(node, "B100000002") == [({"hours": 4, "corrected": 1, "was": 7}, None)]
    page = client.get(ROLL).text
    assert "سجل التصحيحات" in page and "اليوم كاملا" not in page.split("سجل التصحيحات")[1]
    client.logout()
    client.login("A100000001")
    assert "سُحب غياب يوم" in client.get("/parent/alerts").text


def test_a_justified_hour_stays_justified_when_another_is_removed(client, node):
    client.login("sec")
    client.post("/staff/absences", ticks(roll(client), 0, [1, 2]))
    client.post(
        "/staff/justify", [("class", "1APIC-1"), ("pupil", "A100000001"), ("day", DAY), ("reason", "طبيب"), ("h", "1")]
    )
    assert absences(node) == [("A100000001", 3, 1)]
    client.post("/staff/absences", ticks(roll(client), 0, [1]))
    assert node.query("SELECT hours, justified, reason FROM absences") == [(1, 1, "طبيب")]


def test_a_roll_call_from_an_older_page_changes_only_what_it_ticked(make_client, node):
    one, two = make_client(), make_client()
    one.login("sec")
    two.login("prof")
    old = roll(two)
    one.post("/staff/absences", ticks(roll(one), 0, [1, 2]))
    # the teacher, on the page opened before, marks Omar absent: Sara's absence stays
    assert two.post("/staff/absences", ticks(old, 1, [4])).status_code == 200
    assert absences(node) == [("A100000001", 3, 0), ("B100000002", 8, 0)]
    # and ticking Sara differently from that old page is a conflict showing both
    r = two.post("/staff/absences", ticks(old, 0, [5]))
    assert r.status_code == 409 and "الساعات: 1, 2" in r.text and "الساعات: 5" in r.text
    assert absences(node) == [("A100000001", 3, 0), ("B100000002", 8, 0)]
    again = form_fields(r.text, "roll")
    assert ("h0", "5") in again and ("h1", "4") in again  # what was ticked, and the other's change shown
    assert two.post("/staff/absences", again).status_code == 200
    assert absences(node) == [("A100000001", 16, 0), ("B100000002", 8, 0)]


def test_an_unchanged_roll_call_writes_nothing(client, node):
    client.login("sec")
    client.post("/staff/absences", ticks(roll(client), 0, [1]))
    before = node.query("SELECT COUNT(*) FROM _outbox")
    r = client.post("/staff/absences", roll(client))
    assert r.status_code == 200 and node.query("SELECT COUNT(*) FROM _outbox") == before
    assert "لم يتغير أي غياب" in r.text


def test_the_full_day_box_and_the_code_are_on_the_page(client, node):
    client.login("sec")
    fields = with_values(roll(client), f1="1")
    client.post("/staff/absences", fields)
    assert absences(node) == [("B100000002", 255, 0)]
    page = client.get(ROLL).text
    assert 'aria-labelledby="n1 c9"' in page and "B100000002" in page
