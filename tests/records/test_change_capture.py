"""Change capture: SQL triggers turn every write to a synced table into one _outbox row."""

from __future__ import annotations

import json
import sqlite3

import pytest

from domain import rows as rows_module
from domain.database import register_clock, write_transaction
from domain.rows import upsert_rows
from protocol.tables import BY_NAME, TABLES
from tests.support.records import code, enrol, mark
from tests.support.writes import delete_grade

GRADES = BY_NAME["grades"].wire_id
P = code(1)


@pytest.fixture
def school(store):
    enrol(store.db, store.term, "1APIC-1", P)
    return store


def _outbox(db) -> dict[tuple[int, tuple], tuple[int, int]]:
    return {
        (tbl, tuple(json.loads(pk))): (seq, hlc)
        for tbl, pk, seq, hlc in db.execute("SELECT tbl, pk, seq, hlc FROM _outbox").fetchall()
    }


def _grade_key(store, subject="MATH", semester=1, assessment=1) -> tuple[int, tuple]:
    return (GRADES, (store.term.year, P, subject, semester, assessment))


def _clock(db) -> tuple[int, int]:
    return db.execute("SELECT seq, hlc FROM _clock").fetchone()


def test_every_synced_table_has_capture_triggers_and_national_ones_none(store):
    rows = store.db.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'").fetchall()
    triggers = {tbl for name, tbl in rows if name.startswith("_capture_")}
    for spec in TABLES:
        assert (spec.name in triggers) is (not spec.national), spec.name


def test_a_write_creates_one_outbox_row(school):
    before = _outbox(school.db)
    mark(school.db, school.term, P, "MATH", 1, 1, "12")
    after = _outbox(school.db)
    assert set(after) - set(before) == {_grade_key(school)}
    assert len(after) == len(before) + 1
    seq, hlc = after[_grade_key(school)]
    assert (seq, hlc) == _clock(school.db)


def test_the_outbox_row_is_in_the_same_transaction_as_the_data(school):
    other = sqlite3.connect(school.path)
    try:
        with write_transaction(school.db):
            mark(school.db, school.term, P, "MATH", 1, 1, "12")
            # visible inside the transaction, invisible to another connection until commit
            assert _grade_key(school) in _outbox(school.db)
            assert other.execute("SELECT COUNT(*) FROM grades").fetchone() == (0,)
            assert other.execute("SELECT COUNT(*) FROM _outbox WHERE tbl = ?", [GRADES]).fetchone() == (0,)
        assert other.execute("SELECT COUNT(*) FROM grades").fetchone() == (1,)
        assert other.execute("SELECT COUNT(*) FROM _outbox WHERE tbl = ?", [GRADES]).fetchone() == (1,)
    finally:
        other.close()


def test_repeated_edits_collapse_into_one_row_with_a_higher_seq(school):
    mark(school.db, school.term, P, "MATH", 1, 1, "12")
    first = _outbox(school.db)
    mark(school.db, school.term, P, "MATH", 1, 1, "13")
    mark(school.db, school.term, P, "MATH", 1, 1, "14")
    second = _outbox(school.db)
    assert set(second) == set(first)
    assert second[_grade_key(school)][0] > first[_grade_key(school)][0]
    assert second[_grade_key(school)][1] > first[_grade_key(school)][1]


def test_an_update_that_changes_nothing_is_not_a_change(school):
    mark(school.db, school.term, P, "MATH", 1, 1, "12")
    before = (_outbox(school.db), _clock(school.db))
    mark(school.db, school.term, P, "MATH", 1, 1, "12")  # the same mark again, through the domain
    school.db.execute("UPDATE grades SET score = score, remark = remark")  # and by hand
    assert (_outbox(school.db), _clock(school.db)) == before


def test_a_delete_is_captured(school):
    mark(school.db, school.term, P, "MATH", 1, 1, "12")
    seq_before = _outbox(school.db)[_grade_key(school)][0]
    delete_grade(school.db, school.term, P, "MATH", 1, 1)
    assert school.db.execute("SELECT COUNT(*) FROM grades").fetchone() == (0,)
    # the key stays in the outbox, newer: the server learns of the deletion from the row's absence
    assert _outbox(school.db)[_grade_key(school)][0] > seq_before


def test_a_rolled_back_transaction_leaves_neither_data_nor_outbox(school):
    before = (_outbox(school.db), _clock(school.db))
    with pytest.raises(RuntimeError), write_transaction(school.db):
        mark(school.db, school.term, P, "MATH", 1, 1, "12")
        mark(school.db, school.term, P, "FRA", 1, 1, "15")
        raise RuntimeError("power cut")
    assert school.db.execute("SELECT COUNT(*) FROM grades").fetchone() == (0,)
    assert (_outbox(school.db), _clock(school.db)) == before


def test_national_tables_are_not_captured(store):
    before = (_outbox(store.db), _clock(store.db))
    with write_transaction(store.db):
        store.db.execute("UPDATE subjects SET name_fr = name_fr || ' (nouveau)' WHERE code = 'MATH'")
        store.db.execute("UPDATE evaluation_rules SET coefficient = 4 WHERE level = '1APIC' AND subject = 'MATH'")
        store.db.execute("UPDATE levels SET name_fr = name_fr || ' (nouveau)' WHERE code = '1ASCG'")
        store.db.execute("INSERT INTO subjects (code, name_ar, name_fr) VALUES ('TECH', 'التكنولوجيا', 'Technologie')")
    assert store.db.execute("SELECT name_fr FROM subjects WHERE code = 'MATH'").fetchone() == (
        "Mathématiques (nouveau)",
    )
    assert (_outbox(store.db), _clock(store.db)) == before


def test_applying_flag_suppresses_capture(school):
    before = _outbox(school.db)
    with write_transaction(school.db):
        school.db.execute("UPDATE _clock SET applying = 1")
        mark(school.db, school.term, P, "MATH", 1, 1, "12")
        school.db.execute("UPDATE _clock SET applying = 0")
    assert school.db.execute("SELECT COUNT(*) FROM grades").fetchone() == (1,)
    assert _outbox(school.db) == before
    # once the flag is down, writes are captured again
    mark(school.db, school.term, P, "MATH", 1, 2, "12")
    assert set(_outbox(school.db)) - set(before) == {_grade_key(school, assessment=2)}


def test_a_raw_sqlite3_connection_writes_captured_or_not_at_all(school):
    """A bare sqlite3 connection has no clock for the triggers: its write fails whole, nothing uncaptured.
    Given the replica's clock, it is captured like any other."""
    before, digest_before = _outbox(school.db), school.db.execute("SELECT COUNT(*) FROM grades").fetchone()
    insert = (
        "INSERT INTO grades (school, year, pupil, subject, semester, assessment, score) "
        "VALUES (?, ?, ?, 'SVT', 2, 3, 1500)"
    )
    raw = sqlite3.connect(school.path)
    try:
        with pytest.raises(sqlite3.OperationalError, match="massar_now_ms"), raw:
            raw.execute(insert, [school.term.school, school.term.year, P])
        assert school.db.execute("SELECT COUNT(*) FROM grades").fetchone() == digest_before
        register_clock(raw)
        with raw:
            raw.execute(insert, [school.term.school, school.term.year, P])
    finally:
        raw.close()
    assert set(_outbox(school.db)) - set(before) == {_grade_key(school, "SVT", 2, 3)}


def test_hlc_strictly_increases_even_when_the_clock_goes_back(school):
    mark(school.db, school.term, P, "MATH", 1, 1, "10")
    last_seq, last_hlc = _clock(school.db)
    # the wall clock (corrected by the offset) jumps about 30 years back
    school.db.execute("UPDATE _clock SET offset_ms = -1000000000000")
    seen = []
    for n, score in enumerate(("11", "12", "13", "14"), start=2):
        mark(school.db, school.term, P, "MATH", 1, n % 3 + 1, score)
        seen.append(_clock(school.db))
    for seq, hlc in seen:
        assert seq > last_seq
        assert hlc > last_hlc
        last_seq, last_hlc = seq, hlc
    assert len({hlc for _, hlc in _outbox(school.db).values()}) == len(_outbox(school.db))


def test_a_rekey_captures_the_old_and_the_new_key(school):
    mark(school.db, school.term, P, "MATH", 1, 1, "12")
    school.db.execute("DELETE FROM _outbox")
    school.db.execute("UPDATE grades SET subject = 'FRA' WHERE subject = 'MATH'")
    assert set(_outbox(school.db)) == {_grade_key(school, "MATH"), _grade_key(school, "FRA")}


def test_rows_written_many_to_a_statement_are_captured_one_by_one_in_order(school, monkeypatch):
    """`upsert_rows` packs many rows into one SQLite statement: each row still fires its capture."""
    monkeypatch.setattr(rows_module, "_ROWS_PER_STATEMENT", 3)  # two full statements, two rows left
    mark(school.db, school.term, P, "MATH", 1, 1, "12")
    before = _clock(school.db)
    t = school.term
    rows = [(t.school, t.year, P, "MATH", 1, a, 1000 + a, 0, 0, None) for a in range(1, 6)]
    rows += [(t.school, t.year, P, "FR", 1, a, 1500 + a, 0, 0, None) for a in range(1, 4)]
    with write_transaction(school.db):
        upsert_rows(school.db, "grades", rows)
    stored = school.db.execute(
        "SELECT school, year, pupil, subject, semester, assessment, score, absent, justified, remark FROM grades"
    ).fetchall()
    assert sorted(stored) == sorted(rows)
    outbox = _outbox(school.db)
    seqs = [outbox[(GRADES, r[1:6])][0] for r in rows]
    assert seqs == list(range(before[0] + 1, before[0] + 1 + len(rows)))  # one capture each, in row order
    assert _clock(school.db)[0] == before[0] + len(rows)


def test_a_row_of_the_wrong_length_is_refused_and_nothing_is_written(school, monkeypatch):
    monkeypatch.setattr(rows_module, "_ROWS_PER_STATEMENT", 2)
    t = school.term
    rows = [(t.school, t.year, P, "MATH", 1, a, 1000, 0, 0, None) for a in range(1, 4)]
    rows[0], rows[1] = (*rows[0], None), rows[1][:-1]  # flattened, the two would still add up to 20 values
    before = _clock(school.db)
    with pytest.raises(sqlite3.ProgrammingError), write_transaction(school.db):
        upsert_rows(school.db, "grades", rows)
    assert school.db.execute("SELECT COUNT(*) FROM grades").fetchone()[0] == 0
    assert _clock(school.db) == before
