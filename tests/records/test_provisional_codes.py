"""Provisional codes: a pupil registered offline before the ministry assigns the Massar code."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from domain.absences import AbsenceEntry, record_absences
from domain.accounts import authenticate, issue_parent_login
from domain.errors import Conflict, InvalidInput, NotFound
from domain.incidents import record_incident
from domain.pupils import PUPIL_TABLES, Term, assign_massar_code, register_pupil
from domain.results import pupil_report
from domain.rules import hours_mask
from protocol.tables import BY_NAME
from tests.support.records import OTHER_SCHOOL, code, enrol, mark


def _register(store, class_code="1APIC-1", **kw) -> str:
    return register_pupil(
        store.db, store.term, class_code=class_code, last_name="Alaoui", first_name="Omar", gender="M", **kw
    )


def test_registration_without_a_code_numbers_provisional_codes(store):
    assert [_register(store) for _ in range(3)] == ["TMP-S001-1", "TMP-S001-2", "TMP-S001-3"]
    assert store.db.execute("SELECT provisional FROM pupils WHERE code = 'TMP-S001-2'").fetchone() == (1,)
    assert store.db.execute("SELECT class FROM enrolments WHERE pupil = 'TMP-S001-2'").fetchone() == ("1APIC-1",)
    # with a code: that code, not provisional, and the numbering is not disturbed
    assert _register(store, code=code(5)) == code(5)
    assert store.db.execute("SELECT provisional FROM pupils WHERE code = ?", [code(5)]).fetchone() == (0,)
    assert _register(store) == "TMP-S001-4"


def test_numbering_passes_nine(store):
    codes = [_register(store) for _ in range(11)]
    # numeric, not text, order: after 9 comes 10, then 11 (text MAX would give "9" + 1 = 10 twice)
    assert codes[-3:] == ["TMP-S001-9", "TMP-S001-10", "TMP-S001-11"]


def test_provisional_codes_are_per_school(store):
    _register(store)
    other = Term(OTHER_SCHOOL, store.term.year)
    assert register_pupil(store.db, other, class_code="1AP", last_name="A", first_name="B", gender="F") == (
        f"TMP-{OTHER_SCHOOL}-1"
    )


def test_assign_code_keeps_every_record(store):
    db, term = store.db, store.term
    tmp = _register(store)
    (classmate,) = enrol(db, term, "1APIC-1", code(2))
    mark(db, term, tmp, "MATH", 1, 1, "14")
    mark(db, term, tmp, "MATH", 2, 2, absent=True, justified=True)
    mark(db, term, classmate, "MATH", 1, 1, "10")
    record_absences(db, term, [AbsenceEntry(tmp, dt.date(2024, 10, 7), hours_mask([1, 2]))])
    record_incident(db, term, tmp, dt.date(2024, 10, 8), "retard répété")
    db.execute(
        "INSERT INTO guardians (school, pupil, n, name, relation, phone) VALUES (?, ?, 1, 'Fatima', 'mother', '0600000000')",
        [term.school, tmp],
    )
    login, password = issue_parent_login(db, tmp)
    assert login == "TMP-S001-1@taalim.ma"

    def records(pupil: str) -> dict[str, list]:
        out = {}
        for table in PUPIL_TABLES:
            cols = [c for c in BY_NAME[table].column_names if c != "pupil"]
            out[table] = db.execute(
                f"SELECT {', '.join(cols)} FROM {table} WHERE pupil = ? ORDER BY 1, 2, 3", [pupil]
            ).fetchall()
        return out

    before = records(tmp)
    report_before = pupil_report(db, term.year, tmp, school=term.school)
    new = code(777)
    assign_massar_code(db, term, tmp, new)

    assert records(new) == before
    assert all(rows == [] for rows in records(tmp).values())
    assert db.execute("SELECT COUNT(*) FROM pupils WHERE code = ?", [tmp]).fetchone() == (0,)
    assert db.execute(
        "SELECT last_name, first_name, gender, provisional, school FROM pupils WHERE code = ?", [new]
    ).fetchone() == ("Alaoui", "Omar", "M", 0, "S001")
    report_after = pupil_report(db, term.year, new, school=term.school)
    assert {k: v for k, v in report_after.items() if k != "student"} == {
        k: v for k, v in report_before.items() if k != "student"
    }
    # the parent login follows the pupil; the password still works
    assert authenticate(db, f"{new}@taalim.ma", password)["pupil"] == new
    assert authenticate(db, login, password) is None
    # sync learns both: the old key deleted, the new one written
    pupils_id = BY_NAME["pupils"].wire_id
    keys = {json.loads(pk)[0] for (pk,) in db.execute("SELECT pk FROM _outbox WHERE tbl = ?", [pupils_id])}
    assert {tmp, new} <= keys


@pytest.mark.parametrize(
    ("new", "error", "why"),
    [
        pytest.param("TMP-S001-9", InvalidInput, "bad_pupil_code", id="provisional-as-new-code"),
        pytest.param("a000000001", InvalidInput, "bad_pupil_code", id="lower-case"),
        pytest.param("A12345", InvalidInput, "bad_pupil_code", id="too-short"),
        pytest.param(code(2), Conflict, "duplicate_code", id="code-in-use"),
    ],
)
def test_assign_code_refusals_change_nothing(store, new, error, why):
    tmp = _register(store)
    enrol(store.db, store.term, "1APIC-1", code(2))
    mark(store.db, store.term, tmp, "MATH", 1, 1, "14")
    snapshot = store.db.execute("SELECT * FROM pupils ORDER BY code").fetchall()
    with pytest.raises(error) as caught:
        assign_massar_code(store.db, store.term, tmp, new)
    assert caught.value.code == why
    assert store.db.execute("SELECT * FROM pupils ORDER BY code").fetchall() == snapshot
    assert store.db.execute("SELECT pupil FROM grades").fetchall() == [(tmp,)]


def test_assign_code_only_to_provisional_pupils_of_this_school(store):
    (real,) = enrol(store.db, store.term, "1APIC-1", code(1))
    with pytest.raises(Conflict):
        assign_massar_code(store.db, store.term, real, code(3))
    with pytest.raises(NotFound):
        assign_massar_code(store.db, store.term, "TMP-S001-42", code(3))
    other = Term(OTHER_SCHOOL, store.term.year)
    foreign = register_pupil(store.db, other, class_code="1AP", last_name="A", first_name="B", gender="F")
    with pytest.raises(NotFound):
        assign_massar_code(store.db, store.term, foreign, code(3))
    assert store.db.execute("SELECT COUNT(*) FROM pupils WHERE code = ?", [code(3)]).fetchone() == (0,)


def test_a_provisional_code_cannot_be_typed_in_at_registration(store):
    with pytest.raises(InvalidInput):
        _register(store, code="TMP-S001-1")
    assert store.db.execute("SELECT COUNT(*) FROM pupils").fetchone() == (0,)
