"""Roster import from CSV: all or nothing, with a report of every bad row."""

from __future__ import annotations

import pytest

from domain.errors import FileRejected, InvalidInput
from domain.pupils import Term
from domain.roster import import_roster_csv
from tests.support.records import OTHER_SCHOOL, code, count, enrol

TABLES = ("pupils", "enrolments", "classes", "_outbox")


def _counts(db) -> dict[str, int]:
    return {t: count(db, t) for t in TABLES}


def test_good_file_with_arabic_names(store, write_roster):
    path = write_roster(
        [
            (code(1), "العلوي", "محمد", "M", "2012-03-04", "فاس", "1APIC", "1APIC-1"),
            (code(2), "Bennani", "Sara", "f", "2012-05-06", "Rabat", "", "1APIC-1"),  # level from the class
            (code(3), "الإدريسي", "فاطمة", "F", "", "", "2APIC", "2APIC-3"),
            (code(4), "Amrani", "Youssef", "M", "2016-09-01", "Tiznit", "5AP", "5AP"),
        ]
    )
    assert import_roster_csv(store.db, store.term, path) == {"pupils": 4, "classes": 3, "moved": []}
    db = store.db
    row = db.execute(
        "SELECT school, last_name, first_name, last_name_ar, first_name_ar, gender, birth_date, birth_place, provisional "
        "FROM pupils WHERE code = ?",
        [code(1)],
    ).fetchone()
    assert row == ("S001", "العلوي", "محمد", "العلوي", "محمد", "M", "2012-03-04", "فاس", 0)
    # Latin names are not copied into the Arabic columns; gender is upper-cased
    assert db.execute("SELECT last_name_ar, gender FROM pupils WHERE code = ?", [code(2)]).fetchone() == (None, "F")
    assert db.execute("SELECT birth_date, birth_place FROM pupils WHERE code = ?", [code(3)]).fetchone() == (None, None)
    classes = dict(db.execute("SELECT code, level FROM classes WHERE school = 'S001' AND year = ?", [store.term.year]))
    assert classes == {"1APIC-1": "1APIC", "2APIC-3": "2APIC", "5AP": "5AP"}
    enrolled = dict(db.execute("SELECT pupil, class FROM enrolments WHERE year = ?", [store.term.year]))
    assert enrolled == {code(1): "1APIC-1", code(2): "1APIC-1", code(3): "2APIC-3", code(4): "5AP"}


def test_reimporting_the_same_file_changes_nothing(store, write_roster):
    path = write_roster([(code(1), "Alaoui", "Omar", "M", "2012-03-04", "Fès", "1APIC", "1APIC-1")])
    import_roster_csv(store.db, store.term, path)
    before = (_counts(store.db), store.db.execute("SELECT seq FROM _clock").fetchone())
    assert import_roster_csv(store.db, store.term, path) == {"pupils": 1, "classes": 1, "moved": []}
    # identical rows are left alone: no new change is captured for sync either
    assert (_counts(store.db), store.db.execute("SELECT seq FROM _clock").fetchone()) == before


def test_bad_file_reports_every_bad_row_and_applies_nothing(store, write_roster):
    db = store.db
    (foreign,) = enrol(db, Term(OTHER_SCHOOL, store.term.year), "1APIC-1", code(900))
    path = write_roster(
        [
            (code(1), "Alaoui", "Omar", "M", "2012-03-04", "Fès", "1APIC", "1APIC-1"),  # row 2: good
            ("A12", "Bad", "Code", "M", "2012-03-04", "", "1APIC", "1APIC-1"),  # row 3: malformed code
            (code(3), "Bad", "Gender", "X", "2012-03-04", "", "1APIC", "1APIC-1"),  # row 4
            (code(4), "NoFirstName", "", "F", "2012-03-04", "", "1APIC", "1APIC-1"),  # row 5
            (code(5), "Future", "Birth", "F", "2999-01-01", "", "1APIC", "1APIC-1"),  # row 6
            (code(6), "Wrong", "Level", "F", "2012-03-04", "", "2APIC", "1APIC-2"),  # row 7
            (code(7), "Unknown", "Level", "M", "2012-03-04", "", "", "ZZZ-1"),  # row 8
            (code(1), "Twice", "Listed", "M", "2012-03-04", "", "1APIC", "1APIC-1"),  # row 9: same code as row 2
            (foreign, "Other", "School", "M", "2012-03-04", "", "1APIC", "1APIC-1"),  # row 10
            (code(8), "Alaoui", "Sara", "F", "2012-13-40", "", "1APIC", "1APIC-1"),  # row 11: no such date
            (code(9), "Good", "Again", "F", "2012-03-04", "", "1APIC", "1APIC-1"),  # row 12: good
        ]
    )
    before = _counts(db)
    with pytest.raises(FileRejected) as caught:
        import_roster_csv(db, store.term, path)
    reported = {e.row: e.message for e in caught.value.rows}
    assert sorted(reported) == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert "malformed" in reported[3]
    assert "gender" in reported[4]
    assert "first_name" in reported[5]
    assert "future" in reported[6]
    assert "level" in reported[7]
    assert "ZZZ" in reported[8]
    assert "row 2" in reported[9]
    assert OTHER_SCHOOL in reported[10]
    assert "not a date" in reported[11]
    assert "nothing was imported" in str(caught.value)
    assert _counts(db) == before
    assert db.execute("SELECT COUNT(*) FROM pupils WHERE code IN (?, ?)", [code(1), code(9)]).fetchone()[0] == 0


def test_duplicate_codes_in_the_file(store, write_roster):
    path = write_roster(
        [
            (code(1), "Alaoui", "Omar", "M", "2012-03-04", "", "1APIC", "1APIC-1"),
            (code(2), "Bennani", "Sara", "F", "2012-03-04", "", "1APIC", "1APIC-1"),
            (code(1), "Alaoui", "Omar", "M", "2012-03-04", "", "1APIC", "1APIC-2"),
        ]
    )
    before = _counts(store.db)
    with pytest.raises(FileRejected) as caught:
        import_roster_csv(store.db, store.term, path)
    assert [(e.row, code(1) in e.message and "row 2" in e.message) for e in caught.value.rows] == [(4, True)]
    assert _counts(store.db) == before


def test_pupil_already_at_another_school(store, write_roster):
    (foreign,) = enrol(store.db, Term(OTHER_SCHOOL, store.term.year), "3APIC-1", code(900))
    path = write_roster([(foreign, "Other", "School", "M", "2010-01-01", "", "1APIC", "1APIC-1")])
    before = _counts(store.db)
    with pytest.raises(FileRejected) as caught:
        import_roster_csv(store.db, store.term, path)
    assert [e.row for e in caught.value.rows] == [2]
    assert "another school" in caught.value.rows[0].message
    assert _counts(store.db) == before
    # the pupil still belongs to the other school
    assert store.db.execute("SELECT school FROM pupils WHERE code = ?", [foreign]).fetchone() == (OTHER_SCHOOL,)


def test_a_class_cannot_change_level(store, write_roster):
    enrol(store.db, store.term, "1APIC-1", code(1))
    path = write_roster(
        [
            (code(2), "A", "B", "M", "", "", "2APIC", "2APIC-1"),
            (code(3), "C", "D", "F", "", "", "2APIC", "2APIC-1"),
        ]
    )
    # the file itself is fine; a conflicting second file is refused
    import_roster_csv(store.db, store.term, path)
    store.db.execute("UPDATE classes SET level = '3APIC' WHERE code = '2APIC-1'")
    before = _counts(store.db)
    with pytest.raises(FileRejected) as caught:
        import_roster_csv(store.db, store.term, path)
    assert [e.row for e in caught.value.rows] == [2, 3]
    assert _counts(store.db) == before


@pytest.mark.parametrize(
    ("content", "why"),
    [
        pytest.param("code,name\nA000000001,x\n", "header", id="wrong-header"),
        pytest.param("", "empty", id="empty-file"),
        pytest.param(None, "no such file", id="missing-file"),
    ],
)
def test_unreadable_files_are_refused_whole(store, tmp_path, content, why):
    path = tmp_path / "roster.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    before = _counts(store.db)
    with pytest.raises(InvalidInput, match=why):
        import_roster_csv(store.db, store.term, path)
    assert _counts(store.db) == before


def test_non_utf8_file_is_refused(store, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(
        "code,last_name,first_name,gender,birth_date,birth_place,level,class\n"
        "A000000001,Hélène,Zoé,F,,,1APIC,1APIC-1\n".encode("latin-1")
    )
    with pytest.raises(InvalidInput, match="UTF-8"):
        import_roster_csv(store.db, store.term, path)
    assert count(store.db, "pupils") == 0
