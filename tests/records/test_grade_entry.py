"""Grade entry: one mark at a time, and CSV files all or nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.csvfiles import read_csv
from domain.errors import FileRejected, InvalidInput, NotFound
from domain.evaluation import rules_for
from domain.grades import (
    GRADES_CSV_HEADER,
    GradeEntry,
    grade_entries_from_rows,
    parse_assessment,
    parse_score,
    record_grades,
)
from domain.pupils import Term
from domain.rules import ACTIVITIES
from tests.support.records import OTHER_SCHOOL, code, count, enrol, write_csv

COLLEGE, PRIMARY = code(1), code(2)


@pytest.fixture
def school(store):
    enrol(store.db, store.term, "1APIC-1", COLLEGE)
    enrol(store.db, store.term, "5AP-1", PRIMARY)
    return store


def _grades(db) -> list[tuple]:
    return db.execute(
        "SELECT pupil, subject, semester, assessment, score, absent, justified, remark FROM grades ORDER BY 1, 2, 3, 4"
    ).fetchall()


def _entry(pupil=COLLEGE, subject="MATH", score="12", **kw) -> GradeEntry:
    return GradeEntry(
        pupil, subject, kw.pop("semester", 1), kw.pop("assessment", 1), None if score is None else Decimal(score), **kw
    )


def test_a_score_is_stored_in_hundredths(school):
    record_grades(school.db, school.term, [_entry(score="12.25", remark=" bien ")])
    # 12.25 -> 1225 hundredths; the remark is trimmed
    assert _grades(school.db) == [(COLLEGE, "MATH", 1, 1, 1225, 0, 0, "bien")]
    assert school.db.execute("SELECT school, year FROM grades").fetchone() == ("S001", school.term.year)


def test_a_new_mark_replaces_the_old_one(school):
    record_grades(school.db, school.term, [_entry(score="12")])
    record_grades(school.db, school.term, [_entry(score="13.5")])
    assert _grades(school.db) == [(COLLEGE, "MATH", 1, 1, 1350, 0, 0, None)]


@pytest.mark.parametrize(
    ("pupil", "score", "ok"),
    [
        pytest.param(COLLEGE, "20", True, id="college-20"),
        pytest.param(COLLEGE, "0", True, id="college-0"),
        pytest.param(COLLEGE, "21", False, id="college-21"),
        pytest.param(COLLEGE, "20.01", False, id="college-20.01"),
        pytest.param(COLLEGE, "-1", False, id="college-negative"),
        pytest.param(PRIMARY, "10", True, id="primary-10"),
        pytest.param(PRIMARY, "11", False, id="primary-11"),
        pytest.param(PRIMARY, "10.25", False, id="primary-10.25"),
    ],
)
def test_score_must_be_within_the_cycle_scale(school, pupil, score, ok):
    entry = _entry(pupil, score=score)
    if ok:
        record_grades(school.db, school.term, [entry])
        assert _grades(school.db)[0][4] == int(Decimal(score) * 100)
    else:
        with pytest.raises(InvalidInput) as caught:
            record_grades(school.db, school.term, [entry])
        assert caught.value.code == "score_out_of_scale"
        assert _grades(school.db) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        pytest.param("12.25", Decimal("12.25"), id="two-decimals"),
        pytest.param("12,5", Decimal("12.5"), id="decimal-comma"),
        pytest.param("12.50000", Decimal("12.5"), id="trailing-zeros"),
        pytest.param("12.345", None, id="three-decimals"),
        pytest.param("12.001", None, id="three-decimals-small"),
        pytest.param("abc", None, id="not-a-number"),
        pytest.param("nan", None, id="nan"),
        pytest.param("inf", None, id="infinity"),
        pytest.param("", None, id="empty"),
    ],
)
def test_parse_score(text, value):
    if value is None:
        with pytest.raises(InvalidInput):
            parse_score(text)
    else:
        assert parse_score(text) == value


def test_a_huge_score_is_an_input_error_not_a_crash(school):
    # Decimal("1e30").quantize(Decimal("0.01")) raises InvalidOperation in the default context
    value = parse_score("1e30")
    with pytest.raises(InvalidInput, match="out of the scale"):
        record_grades(school.db, school.term, [_entry(score=str(value))])


def test_unknown_pupil(school):
    with pytest.raises(NotFound) as caught:
        record_grades(school.db, school.term, [_entry(code(404))])
    assert caught.value.code == "unknown_pupil"


def test_pupil_of_another_school(school):
    (foreign,) = enrol(school.db, Term(OTHER_SCHOOL, school.term.year), "1APIC-1", code(900))
    with pytest.raises(NotFound) as caught:
        record_grades(school.db, school.term, [_entry(foreign)])
    assert caught.value.code == "not_enrolled"
    assert count(school.db, "grades") == 0


@pytest.mark.parametrize(
    ("pupil", "subject"),
    [
        pytest.param(COLLEGE, "PHILO", id="philosophy-in-1APIC"),
        pytest.param(PRIMARY, "ANG", id="english-in-5AP"),
        pytest.param(COLLEGE, "NOPE", id="no-such-subject"),
    ],
)
def test_subject_not_taught_at_the_level(school, pupil, subject):
    with pytest.raises(NotFound) as caught:
        record_grades(school.db, school.term, [_entry(pupil, subject)])
    assert caught.value.code == "unknown_subject"


def test_absent_justified_and_not(school):
    record_grades(
        school.db,
        school.term,
        [
            _entry(score=None, assessment=1, absent=True, justified=True),
            _entry(score=None, assessment=2, absent=True),
            _entry(score="14", assessment=ACTIVITIES),
        ],
    )
    assert _grades(school.db) == [
        (COLLEGE, "MATH", 1, 1, None, 1, 1, None),
        (COLLEGE, "MATH", 1, 2, None, 1, 0, None),
        (COLLEGE, "MATH", 1, 5, 1400, 0, 0, None),
    ]


@pytest.mark.parametrize(
    ("kw", "why"),
    [
        pytest.param({"score": "12", "absent": True}, "score_and_absent", id="score-and-absent"),
        pytest.param({"score": None}, "missing_score", id="neither"),
        pytest.param({"score": "12", "justified": True}, "justified_without_absent", id="justified-score"),
        pytest.param({"semester": 3}, "bad_semester", id="semester-3"),
        pytest.param({"assessment": 6}, "bad_assessment", id="assessment-6"),
        pytest.param({"remark": "x" * 501}, "remark_too_long", id="long-remark"),
    ],
)
def test_contradictory_entries_are_refused(school, kw, why):
    with pytest.raises(InvalidInput) as caught:
        record_grades(school.db, school.term, [_entry(**kw)])
    assert caught.value.code == why
    assert count(school.db, "grades") == 0


def test_one_bad_entry_means_nothing_is_written(school):
    with pytest.raises(InvalidInput):
        record_grades(school.db, school.term, [_entry(score="12"), _entry(score="25", assessment=2)])
    assert count(school.db, "grades") == 0


def test_assessment_names():
    assert [parse_assessment(t) for t in ("1", "2", "3", "4", "activities", "Activities")] == [1, 2, 3, 4, 5, 5]
    with pytest.raises(InvalidInput):
        parse_assessment("0")


# -- CSV import -------------------------------------------------------------------


def _import(store, path):
    entries = grade_entries_from_rows(store.db, store.term, read_csv(path, GRADES_CSV_HEADER))
    return record_grades(store.db, store.term, entries)


def test_csv_import(school, tmp_path):
    path = write_csv(
        tmp_path / "grades.csv",
        GRADES_CSV_HEADER,
        [
            (COLLEGE, "math", "1", "1", "12.5", "", "", "تحسن"),
            (COLLEGE, "MATH", "1", "2", "", "1", "1", ""),
            (COLLEGE, "MATH", "1", "activities", "15", "0", "0", ""),
            (PRIMARY, "ARA", "2", "1", "7.75", "", "", ""),
        ],
    )
    assert _import(school, path) == 4
    assert _grades(school.db) == [
        (COLLEGE, "MATH", 1, 1, 1250, 0, 0, "تحسن"),
        (COLLEGE, "MATH", 1, 2, None, 1, 1, None),
        (COLLEGE, "MATH", 1, 5, 1500, 0, 0, None),
        (PRIMARY, "ARA", 2, 1, 775, 0, 0, None),
    ]


def test_csv_import_reports_every_bad_row_and_applies_nothing(school, tmp_path):
    (foreign,) = enrol(school.db, Term(OTHER_SCHOOL, school.term.year), "1APIC-1", code(900))
    record_grades(school.db, school.term, [_entry(score="10")])
    before = _grades(school.db)
    path = write_csv(
        tmp_path / "grades.csv",
        GRADES_CSV_HEADER,
        [
            (COLLEGE, "MATH", "1", "1", "18", "", "", ""),  # row 2: good (would replace the 10)
            (COLLEGE, "MATH", "1", "2", "21", "", "", ""),  # row 3: out of scale
            (PRIMARY, "MATH", "1", "1", "11", "", "", ""),  # row 4: out of the primary scale
            (COLLEGE, "MATH", "1", "3", "12.345", "", "", ""),  # row 5: 3 decimals
            (code(404), "MATH", "1", "1", "12", "", "", ""),  # row 6: unknown pupil
            (foreign, "MATH", "1", "1", "12", "", "", ""),  # row 7: another school
            (COLLEGE, "PHILO", "1", "1", "12", "", "", ""),  # row 8: not taught in 1APIC
            (COLLEGE, "MATH", "3", "1", "12", "", "", ""),  # row 9: semester 3
            (COLLEGE, "MATH", "1", "7", "12", "", "", ""),  # row 10: assessment 7
            (COLLEGE, "MATH", "1", "3", "12", "1", "", ""),  # row 11: score and absent
            (COLLEGE, "MATH", "1", "3", "", "maybe", "", ""),  # row 12: bad flag
            (COLLEGE, "MATH", "1", "1", "17", "", "", ""),  # row 13: same mark as row 2
            (COLLEGE, "MATH", "2", "1", "", "", "", ""),  # row 14: no score, not absent
            (COLLEGE, "MATH", "2", "2", "14", "", "1", ""),  # row 15: a score cannot be justified
            (COLLEGE, "ARA", "2", "1", "9", "", "", ""),  # row 16: good
        ],
    )
    with pytest.raises(FileRejected) as caught:
        _import(school, path)
    rows = {e.row: e.message for e in caught.value.rows}
    assert sorted(rows) == list(range(3, 16))
    assert "out of the scale 0-20" in rows[3]
    assert "out of the scale 0-10" in rows[4]
    assert "2 decimals" in rows[5]
    assert "unknown pupil" in rows[6]
    assert "not enrolled at school S001" in rows[7]
    assert "PHILO" in rows[8]
    assert "semester" in rows[9]
    assert "assessment" in rows[10]
    assert "row 2" in rows[13]
    assert _grades(school.db) == before


def test_csv_with_extra_columns_is_refused(school, tmp_path):
    path = tmp_path / "grades.csv"
    path.write_text(",".join(GRADES_CSV_HEADER) + f"\n{COLLEGE},MATH,1,1,12,,,,surplus\n", encoding="utf-8")
    with pytest.raises(FileRejected) as caught:
        _import(school, path)
    assert [e.row for e in caught.value.rows] == [2]
    assert count(school.db, "grades") == 0


def test_five_thousand_rows_import(store, tmp_path):
    # 63 pupils x 10 subjects of 1APIC x 2 semesters x 4 assessments (3 tests in 2024/25 + activities) = 5,040 marks
    pupils = enrol(store.db, store.term, "1APIC-1", *(code(1000 + i) for i in range(63)))
    subjects = sorted(rules_for(store.db, store.term.year, "1APIC"))
    assert len(subjects) == 10
    rows = []
    for i, p in enumerate(pupils):
        for s in subjects:
            for sem in ("1", "2"):
                for a in ("1", "2", "3", "activities"):
                    rows.append((p, s, sem, a, f"{i % 20}.{25 * (i % 4):02d}", "", "", ""))
    assert len(rows) == 5040
    path = write_csv(tmp_path / "grades.csv", GRADES_CSV_HEADER, rows)
    assert _import(store, path) == 5040
    assert count(store.db, "grades") == 5040
    # every mark travels to the server: one outbox row per new mark
    assert store.db.execute("SELECT COUNT(*) FROM _outbox WHERE tbl = 14").fetchone()[0] == 5040
    # pupil 1001 (i = 1): score "1.25" everywhere -> 125 hundredths
    assert store.db.execute("SELECT DISTINCT score FROM grades WHERE pupil = ?", [code(1001)]).fetchall() == [(125,)]
