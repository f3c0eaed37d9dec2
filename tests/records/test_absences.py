"""Absences: 8 hour slots or a full day per pupil and day, justified later."""

from __future__ import annotations

import datetime as dt

import pytest

from domain.absences import (
    ABSENCES_CSV_HEADER,
    AbsenceEntry,
    absence_entries_from_rows,
    justify_absence,
    parse_hours,
    record_absences,
)
from domain.csvfiles import read_csv
from domain.errors import FileRejected, InvalidInput, NotFound
from domain.pupils import Term
from domain.results import absence_summary
from domain.rules import FULL_DAY, hours_mask, mask_hours
from tests.support.records import OTHER_SCHOOL, code, count, enrol, write_csv

P1, P2 = code(1), code(2)
MONDAY, TUESDAY = dt.date(2024, 10, 7), dt.date(2024, 10, 8)


@pytest.fixture
def school(store):
    enrol(store.db, store.term, "1APIC-1", P1, P2)
    return store


def _absences(db) -> list[tuple]:
    return db.execute("SELECT pupil, day, hours, justified, reason FROM absences ORDER BY pupil, day").fetchall()


def test_hours_mask():
    # slot n is bit n-1: 1,2,3 -> 1 + 2 + 4 = 7; 5 -> 16; 8 -> 128; all eight -> 255
    assert hours_mask([1, 2, 3]) == 7
    assert hours_mask([5]) == 16
    assert hours_mask([8]) == 128
    assert hours_mask(list(range(1, 9))) == FULL_DAY == 255
    assert mask_hours(7 | 16) == [1, 2, 3, 5]
    assert parse_hours("1,2,3") == parse_hours("1;2;3") == parse_hours(" 3 ; 1;2 ") == 7


@pytest.mark.parametrize("text", ["0", "9", "", "a", "1,,x", "-1"])
def test_bad_hours(text):
    with pytest.raises(InvalidInput):
        parse_hours(text)


def test_hours_then_more_hours_the_same_day_add_up(school):
    record_absences(school.db, school.term, [AbsenceEntry(P1, MONDAY, hours_mask([1, 2]))])
    record_absences(school.db, school.term, [AbsenceEntry(P1, MONDAY, hours_mask([2, 6]))])
    # {1,2} | {2,6} = {1,2,6} -> 1 + 2 + 32 = 35
    assert _absences(school.db) == [(P1, "2024-10-07", 35, 0, None)]


def test_two_entries_for_one_day_in_one_batch_add_up(school):
    record_absences(
        school.db,
        school.term,
        [AbsenceEntry(P1, MONDAY, hours_mask([1, 2])), AbsenceEntry(P1, MONDAY, hours_mask([5]))],
    )
    # {1,2} then {5}: 3 | 16 = 19, as two separate roll-calls would give
    assert _absences(school.db) == [(P1, "2024-10-07", 19, 0, None)]


def test_full_day(school):
    record_absences(school.db, school.term, [AbsenceEntry(P1, MONDAY, FULL_DAY, True, "maladie")])
    assert _absences(school.db) == [(P1, "2024-10-07", 255, 255, "maladie")]
    summary = absence_summary(school.db, school.term.year, P1)
    assert (summary["hours"], summary["unjustified_hours"]) == (8, 0)


def test_justify_some_hours(school):
    record_absences(school.db, school.term, [AbsenceEntry(P1, MONDAY, hours_mask([1, 2, 3]))])
    # justify slot 2 only: justified mask 2; hours 1 and 3 stay unjustified
    assert justify_absence(school.db, school.term, P1, MONDAY, "rendez-vous médical", hours_mask([2])) == 2
    assert _absences(school.db) == [(P1, "2024-10-07", 7, 2, "rendez-vous médical")]
    assert school.db.execute("SELECT justified_on FROM absences").fetchone() == (dt.date.today().isoformat(),)
    summary = absence_summary(school.db, school.term.year, P1)
    assert (summary["hours"], summary["unjustified_hours"]) == (3, 2)
    # without hours: the whole recorded absence -> 7
    assert justify_absence(school.db, school.term, P1, MONDAY, "certificat") == 7
    assert absence_summary(school.db, school.term.year, P1)["unjustified_hours"] == 0


def test_justify_refuses_hours_not_absent_and_unknown_days(school):
    record_absences(school.db, school.term, [AbsenceEntry(P1, MONDAY, hours_mask([1]))])
    before = _absences(school.db)
    with pytest.raises(InvalidInput):
        justify_absence(school.db, school.term, P1, MONDAY, "x", hours_mask([1, 4]))
    with pytest.raises(NotFound):
        justify_absence(school.db, school.term, P1, TUESDAY, "x")
    with pytest.raises(InvalidInput):
        justify_absence(school.db, school.term, P1, MONDAY, "  ")
    assert _absences(school.db) == before


def test_date_in_the_future_is_refused(school):
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    with pytest.raises(InvalidInput) as caught:
        record_absences(school.db, school.term, [AbsenceEntry(P1, MONDAY, 1), AbsenceEntry(P1, tomorrow, 1)])
    assert caught.value.code == "date_in_future"
    assert count(school.db, "absences") == 0


def test_unknown_pupil_and_pupil_of_another_school(school):
    (foreign,) = enrol(school.db, Term(OTHER_SCHOOL, school.term.year), "1APIC-1", code(900))
    for pupil, why in ((code(404), "unknown_pupil"), (foreign, "not_enrolled")):
        with pytest.raises(NotFound) as caught:
            record_absences(school.db, school.term, [AbsenceEntry(pupil, MONDAY, 1)])
        assert caught.value.code == why
    assert count(school.db, "absences") == 0


# -- CSV import ------------------------------------------------------------------------


def _import(store, path):
    entries = absence_entries_from_rows(store.db, store.term, read_csv(path, ABSENCES_CSV_HEADER))
    return record_absences(store.db, store.term, entries)


def test_csv_import(school, tmp_path):
    path = write_csv(
        tmp_path / "absences.csv",
        ABSENCES_CSV_HEADER,
        [
            (P1, "2024-10-07", "1;2;3", "", "", ""),
            (P1, "2024-10-07", "7", "0", "1", "إذن"),
            (P1, "2024-10-08", "", "1", "1", "maladie"),
            (P2, "2024-10-08", "5;6", "", "", ""),
        ],
    )
    assert _import(school, path) == 4
    # P1 on the 7th: {1,2,3} | {7} = 7 + 64 = 71, slot 7 justified (64); full day on the 8th
    assert _absences(school.db) == [
        (P1, "2024-10-07", 71, 64, "إذن"),
        (P1, "2024-10-08", 255, 255, "maladie"),
        (P2, "2024-10-08", 48, 0, None),
    ]


def test_csv_import_reports_every_bad_row_and_applies_nothing(school, tmp_path):
    (foreign,) = enrol(school.db, Term(OTHER_SCHOOL, school.term.year), "1APIC-1", code(900))
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    path = write_csv(
        tmp_path / "absences.csv",
        ABSENCES_CSV_HEADER,
        [
            (P1, "2024-10-07", "1;2", "", "", ""),  # row 2: good
            (code(404), "2024-10-07", "1", "", "", ""),  # row 3: unknown pupil
            (foreign, "2024-10-07", "1", "", "", ""),  # row 4: another school
            (P1, tomorrow, "1", "", "", ""),  # row 5: in the future
            (P1, "07/10/2024", "1", "", "", ""),  # row 6: not ISO
            (P1, "2024-10-09", "9", "", "", ""),  # row 7: no slot 9
            (P1, "2024-10-09", "1", "1", "", ""),  # row 8: hours and full day
            (P1, "2024-10-09", "", "", "", ""),  # row 9: neither
            (P1, "2024-10-09", "1", "", "peut-être", ""),  # row 10: bad flag
            (P2, "2024-10-09", "8", "", "", ""),  # row 11: good
        ],
    )
    with pytest.raises(FileRejected) as caught:
        _import(school, path)
    rows = {e.row: e.message for e in caught.value.rows}
    assert sorted(rows) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert "unknown pupil" in rows[3]
    assert "not enrolled" in rows[4]
    assert "future" in rows[5]
    assert "YYYY-MM-DD" in rows[6]
    assert "hours" in rows[7]
    assert count(school.db, "absences") == 0
