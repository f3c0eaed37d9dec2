"""A device writes only its own school's rows: a row outside its scope is refused alone, with a code and
a reason, while the rest of the push applies; the node sets refused changes aside in a visible list."""

from __future__ import annotations

import json

import pytest

from protocol import capabilities
from protocol.messages import SyncRequest, SyncResponse, decode_message, encode_message
from protocol.records import Change
from protocol.tables import BY_NAME
from server.ingest import Refusals, check_scope
from syncclient.session import SyncSession

from .helpers import (
    SCHOOL_TABLES,
    fill_school,
    next_counter,
    node_key,
    post_signed,
    rows,
    sync,
)


def _row(db, table: str, where: str, params: list) -> tuple:
    spec = BY_NAME[table]
    return tuple(
        db.execute(f"SELECT {', '.join(spec.column_names)} FROM {table} WHERE {where} LIMIT 1", params).fetchone()
    )


def _change(node, table: str, row: tuple | None, key: tuple | None = None, k: int = 0) -> Change:
    spec = BY_NAME[table]
    seq = node.db.execute("SELECT seq FROM _clock").fetchone()[0] + 1 + k
    hlc = node.db.execute("SELECT hlc FROM _clock").fetchone()[0] + 1 + k
    key = key if key is not None else tuple(row[i] for i in spec.key_indexes)
    return Change(table, key, row, node.school, seq, hlc)


@pytest.fixture
def two_schools(central, make_node):
    a, b = make_node("SA01"), make_node("SB02")
    fill_school(a, seed=1, pupils=20, absence_days=3)
    fill_school(b, seed=2, pupils=20, absence_days=3)
    sync(a)
    sync(b)
    return a, b


def _cases(a, b) -> dict[str, list[Change]]:
    b_grade = _row(b.db, "grades", "score IS NOT NULL", [])
    a_grade = _row(a.db, "grades", "score IS NOT NULL", [])
    b_pupil = _row(b.db, "pupils", "1", [])
    b_class = _row(b.db, "classes", "1", [])
    a_new_absence = (a_grade[0], a_grade[2], "2024-10-07", 2, 0, None, None, "surveillant1")
    subject = _row(a.db, "subjects", "1", [])
    return {
        # An edit of SB02's grade (its row says SB02).
        "foreign_row": [_change(a, "grades", (*b_grade[:6], (b_grade[6] + 25) % 2000, *b_grade[7:]))],
        # One legitimate own change plus one foreign row: neither may be applied.
        "mixed": [
            _change(a, "absences", a_new_absence),
            _change(a, "grades", (*b_grade[:6], 0, *b_grade[7:]), k=1),
        ],
        # SB02's pupil claimed for SA01: the row says SA01, the record belongs to SB02.
        "stolen_record": [_change(a, "pupils", (b_pupil[0], "SA01", *b_pupil[2:]))],
        # A tombstone for SB02's grade.
        "foreign_delete": [_change(a, "grades", None, key=tuple(b_grade[i] for i in BY_NAME["grades"].key_indexes))],
        # A national table is published by the centre only.
        "national_table": [_change(a, "subjects", (subject[0], "مادة مزورة", "Matière falsifiée", subject[3]))],
        "new_national_row": [_change(a, "exam_calendar", ("FAKE-1", "local", "3APIC", "2024/2025", "2025-01-06", "2025-01-07", "امتحان", "Examen"))],
        # A provisional code only SB02 may give (TMP-SB02-n), squatted by SA01 before SB02 uses it.
        "squat": [_change(a, "pupils", ("TMP-SB02-77", "SA01", "Squat", "Test", None, None, "M", "2012-01-01", None, 1))],
        # A delete of SB02's class.
        "foreign_class_delete": [_change(a, "classes", None, key=tuple(b_class[i] for i in BY_NAME["classes"].key_indexes))],
    }  # fmt: skip


EXPECTED = {
    "foreign_row": ["other_school"],
    "mixed": ["other_school"],
    "stolen_record": ["foreign_pupil"],
    "foreign_delete": ["foreign_pupil"],
    "national_table": ["national_table"],
    "new_national_row": ["national_table"],
    "squat": ["foreign_code"],
    "foreign_class_delete": ["other_school"],
}


@pytest.mark.parametrize("case", list(EXPECTED))
def test_a_row_outside_the_school_scope_is_refused_alone_and_the_rest_applies(central, two_schools, case: str) -> None:
    a, b = two_schools
    changes = _cases(a, b)[case]
    body = encode_message(SyncRequest("SA01", capabilities.SUPPORTED, 0, changes, changes[0].hlc))
    with central.db() as db:
        theirs = {table: rows(db, table, "SB02") for table in SCHOOL_TABLES}

    reply = post_signed(central.url, body, school="SA01", key=node_key(a), counter=next_counter(a))

    assert reply.status_code == 200, reply.text
    answer = decode_message(reply.content)
    assert isinstance(answer, SyncResponse)
    refused = [c for c in changes if c.table != "absences"]
    assert [(r.seq, r.code) for r in answer.refused] == [
        (c.seq, code) for c, code in zip(refused, EXPECTED[case], strict=True)
    ]
    assert all(r.reason for r in answer.refused)
    assert answer.acked_seq == max(c.seq for c in changes)  # handled: refused ones do not block the rest
    with central.db() as db:
        assert {table: rows(db, table, "SB02") for table in SCHOOL_TABLES} == theirs, "SB02's data changed"
        if case == "mixed":  # the legitimate change of the same push applied
            assert db.execute("SELECT COUNT(*) FROM absences WHERE day = '2024-10-07'").fetchone()[0] == 1
        if case == "squat":
            assert db.execute("SELECT COUNT(*) FROM pupils WHERE code = 'TMP-SB02-77'").fetchone()[0] == 0


def _squat_then_mark(a) -> tuple:
    """School SA01 records a provisional code of SB02's (refused at the centre), then edits one of its own
    marks (accepted); returns the mark's key."""
    a.db.execute(
        "INSERT INTO pupils (code, school, last_name, first_name, gender, birth_date, provisional) "
        "VALUES ('TMP-SB02-9', 'SA01', 'Squat', 'Test', 'F', '2012-02-02', 1)"
    )
    mark = a.db.execute("SELECT year, pupil, subject, semester, assessment FROM grades LIMIT 1").fetchone()
    a.db.execute(
        "UPDATE grades SET score = 1111 WHERE year = ? AND pupil = ? AND subject = ? AND semester = ? AND assessment = ?",
        list(mark),
    )
    return tuple(mark)


def test_a_refused_change_leaves_the_outbox_for_the_rejected_list_and_the_rest_syncs(
    central, two_schools, run_massar
) -> None:
    """Through the real node and CLI: a squatted provisional code is refused, an own mark goes through;
    `node status` counts the refusal, `node rejected` shows it with the reason; retry and discard work."""
    a, b = two_schools
    mark = _squat_then_mark(a)
    folder = a.path.parent

    result = json.loads(run_massar("node", "sync", "--json", data=folder).stdout)
    assert result["rejected"] == 1 and result["pending"] == 0
    with central.db() as db:
        assert db.execute(
            "SELECT score FROM grades WHERE year = ? AND pupil = ? AND subject = ? AND semester = ? AND assessment = ?",
            list(mark),
        ).fetchone() == (1111,)
        assert db.execute("SELECT COUNT(*) FROM pupils WHERE code = 'TMP-SB02-9'").fetchone() == (0,)
    status = json.loads(run_massar("node", "status", "--json", data=folder).stdout)
    assert status["rejected"] == 1 and status["pending_changes"] == 0
    (listed,) = json.loads(run_massar("node", "rejected", "--json", data=folder).stdout)
    assert (listed["table"], listed["key"], listed["code"]) == ("pupils", ["TMP-SB02-9"], "foreign_code")
    assert "TMP-SB02-9" in listed["reason"] and listed["row"][0] == "TMP-SB02-9"

    # Retried unchanged, it is refused again (nothing is dropped silently); discarded, the list is empty.
    run_massar("node", "rejected", "--retry", str(listed["id"]), data=folder)
    assert json.loads(run_massar("node", "status", "--json", data=folder).stdout)["pending_changes"] == 1
    assert json.loads(run_massar("node", "sync", "--json", data=folder).stdout)["rejected"] == 1
    (again,) = json.loads(run_massar("node", "rejected", "--json", data=folder).stdout)
    run_massar("node", "rejected", "--discard", str(again["id"]), data=folder)
    assert json.loads(run_massar("node", "rejected", "--json", data=folder).stdout) == []
    bad = run_massar("node", "rejected", "--discard", str(again["id"]), data=folder, check=False)
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1


def test_a_change_refused_alone_in_its_chunk_does_not_end_the_sync(central, two_schools) -> None:
    """A link that lost answers leaves the node pushing one change a request: the request whose only change
    is refused moves nothing to the centre, yet the changes after it still go in the same sync (it once
    stopped there, the rest left pending until a later edit, seen by the convergence test)."""
    a, _ = two_schools
    mark = _squat_then_mark(a)
    a.set_setting("chunk_budget", 16)  # smaller than any frame: one change per request, the squat first
    session = SyncSession(a)
    try:
        result = session.run()
    finally:
        session.close()
    assert (result.rejected, result.pending) == (1, 0), result
    assert result.requests == 2, "one request for the refused change, one for the mark (and the pull)"
    with central.db() as db:
        assert db.execute(
            "SELECT score FROM grades WHERE year = ? AND pupil = ? AND subject = ? AND semester = ? AND assessment = ?",
            list(mark),
        ).fetchone() == (1111,)


def _grade(seq: int, school: str, pupil: str = "A000000001") -> Change:
    key = ("2026-2027", pupil, "MATH", 1, seq)
    return Change("grades", key, (school, *key, 1200, 0, 0, None), "C1", seq, seq)


def _enrolment_delete(seq: int, school: str) -> Change:
    return Change("enrolments", (school, "2026-2027", f"A{seq:09d}"), None, "C1", seq, seq)


@pytest.mark.parametrize(
    ("push", "refused"),
    [
        pytest.param([_grade(i, "C1") for i in range(1, 41)], {}, id="a-run-of-own-rows"),
        pytest.param(
            [_grade(i, "C2" if i == 20 else "C1") for i in range(1, 41)], {20: "other_school"}, id="one-foreign-row"
        ),
        pytest.param(
            [_grade(i, "S9" if i == 7 else "C1") for i in range(1, 41)], {7: "satellite_read_only"}, id="satellite-row"
        ),
        pytest.param(
            [_enrolment_delete(i, "C2" if i == 3 else "C1") for i in range(1, 11)],
            {3: "other_school"},
            id="delete-keyed-by-another-school",
        ),
        pytest.param(
            [_grade(1, "C1"), _enrolment_delete(2, "C1"), _grade(3, "C2"), _enrolment_delete(4, "S9")],
            {3: "other_school", 4: "satellite_read_only"},
            id="runs-of-several-tables",
        ),
    ],
)
def test_check_scope_refuses_exactly_the_rows_outside_the_school(push, refused):
    """Runs of one table are passed in bulk when every change names the school; any other is judged one by one."""
    refusals = Refusals()
    check_scope("C1", push, refusals, frozenset({"S9"}))
    assert {r.seq: r.code for r in refusals.all()} == refused
