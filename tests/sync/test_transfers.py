"""A pupil moving between two schools during a year: every replica ends in the same state, whichever
side reaches the centre first (SPEC 10.4, transfers).

The leaving school keeps its enrolment, ended by its departure (date and type), and its history of
the pupil; his identity and guardians become the arriving school's and reach the leaving school too,
read-only, and so do their later versions; the arriving school has its own enrolment (a pupil who
moves mid-year has two that year) and the earlier record, read-only, with its later corrections.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain import grades, transfers
from domain.pupils import Term
from domain.results import pupil_report
from server.corrections import correct_grade

from .helpers import SCHOOL_TABLES, YEAR, fill_school, rows, sync

ORDERS = ["arrival_first", "departure_first"]


def _moved_pupil(a, b) -> tuple[str, str]:
    pupil, level = a.db.execute(
        "SELECT e.pupil, c.level FROM enrolments e JOIN classes c ON c.school = e.school AND c.year = e.year "
        "AND c.code = e.class ORDER BY e.pupil LIMIT 1"
    ).fetchone()
    klass = b.db.execute("SELECT code FROM classes WHERE level = ? ORDER BY code LIMIT 1", [level]).fetchone()[0]
    return pupil, klass


def _same(central, store) -> None:
    with central.db() as db:
        for table in SCHOOL_TABLES:
            assert rows(store.db, table, store.school) == rows(db, table, store.school), (store.school, table)


@pytest.mark.parametrize("order", ORDERS)
def test_both_schools_converge_with_the_centre_whichever_side_syncs_first(central, make_node, order) -> None:
    a, b = make_node("SA01"), make_node("SB02")
    fill_school(a, seed=21, pupils=8, absence_days=2)
    fill_school(b, seed=22, pupils=8, absence_days=2)
    sync(a)
    sync(b)
    pupil, klass = _moved_pupil(a, b)
    was_in = a.db.execute("SELECT class FROM enrolments WHERE pupil = ?", [pupil]).fetchone()[0]
    history = a.db.execute("SELECT * FROM grades WHERE pupil = ? ORDER BY subject, assessment", [pupil]).fetchall()
    assert history

    transfers.leave_pupil(a.db, a.term, pupil, "2025-01-20", "SB02")
    transfers.admit_pupil(b.db, b.term, pupil, klass, "SA01")
    first, second = (b, a) if order == "arrival_first" else (a, b)
    assert sync(first).rejected == 0
    assert sync(second).rejected == 0
    for store in (a, b, a, b):  # twice each: each then has what the other's sync made
        assert sync(store).rejected == 0

    with central.db() as db:
        identity = db.execute("SELECT * FROM pupils WHERE code = ?", [pupil]).fetchall()
        guardians = db.execute("SELECT * FROM guardians WHERE pupil = ? ORDER BY n", [pupil]).fetchall()
        assert [r[1] for r in identity] == ["SB02"]
        assert {r[0] for r in guardians} == {"SB02"}
        # Two enrolments that year: the leaving school's, ended by its departure, and the current one.
        assert db.execute(
            "SELECT e.school, e.class, d.left_on, d.kind, d.to_school FROM enrolments e LEFT JOIN departures d "
            "ON d.school = e.school AND d.year = e.year AND d.pupil = e.pupil WHERE e.pupil = ? ORDER BY e.school",
            [pupil],
        ).fetchall() == [("SA01", was_in, "2025-01-20", "transfer", "SB02"), ("SB02", klass, None, None, None)]
    for store in (a, b):
        _same(central, store)
        assert store.db.execute("SELECT * FROM pupils WHERE code = ?", [pupil]).fetchall() == identity
        assert store.db.execute("SELECT * FROM guardians WHERE pupil = ? ORDER BY n", [pupil]).fetchall() == guardians
        # The history stays the leaving school's, on both sides.
        assert (
            store.db.execute("SELECT * FROM grades WHERE pupil = ? ORDER BY subject, assessment", [pupil]).fetchall()
            == history
        )
    # The centre's report shows the pupil where he is now, or where he was when asked for that school.
    with central.db() as db:
        now = pupil_report(db, YEAR, pupil)
        before = pupil_report(db, YEAR, pupil, school="SA01")
    assert (now["school"], now["class"], before["school"], before["class"]) == ("SB02", klass, "SA01", was_in)
    assert a.db.execute("SELECT school FROM enrolments WHERE pupil = ?", [pupil]).fetchall() == [("SA01",)]
    assert b.db.execute("SELECT school FROM enrolments WHERE pupil = ?", [pupil]).fetchall() == [("SB02",)]


def test_later_versions_of_shared_records_reach_both_schools(central, make_node) -> None:
    """A guardian's new phone (the new school's) reaches the school he left; a directorate's correction
    of a mark of his earlier school reaches the school he joined."""
    a, b = make_node("SA01"), make_node("SB02")
    fill_school(a, seed=23, pupils=8, absence_days=1)
    fill_school(b, seed=24, pupils=8, absence_days=1)
    sync(a)
    sync(b)
    pupil, klass = _moved_pupil(a, b)
    transfers.leave_pupil(a.db, a.term, pupil, "2025-01-20", "SB02")
    transfers.admit_pupil(b.db, b.term, pupil, klass, "SA01")
    sync(b)
    sync(a)
    sync(b)
    n = b.db.execute("SELECT min(n) FROM guardians WHERE pupil = ?", [pupil]).fetchone()[0]
    b.db.execute("UPDATE guardians SET phone = '0612345678' WHERE pupil = ? AND n = ?", [pupil, n])
    assert sync(b).rejected == 0
    subject, semester, assessment = a.db.execute(
        "SELECT subject, semester, assessment FROM grades WHERE pupil = ? ORDER BY subject LIMIT 1", [pupil]
    ).fetchone()
    with central.db() as db:
        school = correct_grade(db, YEAR, grades.GradeEntry(pupil, subject, semester, assessment, Decimal("17.5")))
    assert school == "SA01"  # the mark stays its school's: the history is not rewritten to the new school
    central.clock.advance(1000)
    sync(a)
    sync(b)
    assert a.db.execute("SELECT phone FROM guardians WHERE pupil = ? AND n = ?", [pupil, n]).fetchone() == (
        "0612345678",
    )
    mark = "SELECT school, score FROM grades WHERE pupil = ? AND subject = ? AND semester = ? AND assessment = ?"
    for store in (a, b):
        assert store.db.execute(mark, [pupil, subject, semester, assessment]).fetchone() == ("SA01", 1750)
    for store in (a, b):
        _same(central, store)
    # Read-only where it is shared: the old school cannot change the guardian, nor the new one the mark.
    a.db.execute("UPDATE guardians SET phone = '0700000000' WHERE pupil = ? AND n = ?", [pupil, n])
    assert sync(a).rejected == 1
    grades.record_grades(
        b.db, Term("SB02", YEAR), [grades.GradeEntry(pupil, subject, semester, assessment, Decimal("3"))]
    )
    assert sync(b).rejected == 1
    with central.db() as db:
        assert db.execute(mark, [pupil, subject, semester, assessment]).fetchone() == ("SA01", 1750)
