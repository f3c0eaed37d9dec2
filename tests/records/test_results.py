"""Results: the marking rules' worked examples, each computed by hand in a comment."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest

from domain import rules
from domain.absences import AbsenceEntry, justify_absence, record_absences
from domain.evaluation import SubjectRule
from domain.results import ClassResults, Mark, pupil_report, subject_average
from domain.rules import ACTIVITIES
from tests.support.records import code, enrol, mark

D = Decimal


# 75% tests, 25% integrated activities, as every subject but English before 2025/26
WEIGHTED_25 = SubjectRule("1APIC", "MATH", "2024/2025", 3, Fraction(1, 4), "weighted", 3, None)


def scored(score: str) -> Mark:
    return Mark(1, D(score), False, False)


def absent(justified: bool) -> Mark:
    return Mark(1, None, True, justified)


# -- subject average ---------------------------------------------------------


def test_subject_average_is_75_percent_tests_and_25_percent_activities():
    # tests 12, 14, 16 -> mean 14; activities 18
    # 0.75 x 14 + 0.25 x 18 = 10.5 + 4.5 = 15.00
    assert subject_average(
        WEIGHTED_25, [scored("12"), scored("14"), scored("16")], Mark(ACTIVITIES, D(18), False, False)
    ) == D("15.00")


def test_english_is_60_40_through_its_activities_weight(store):
    # the shipped rules of 2024/25 give English (ANG) an activities share of 2/5, other subjects 1/4
    weights = dict(
        store.db.execute(
            "SELECT subject, activities_weight FROM evaluation_rules WHERE level = '1APIC' AND since = ?",
            [store.term.year],
        )
    )
    assert store.term.year == "2024/2025"
    assert weights["ANG"] == "2/5"
    assert weights["MATH"] == "1/4"
    term = store.term
    (p,) = enrol(store.db, term, "1APIC-1", code(1))
    mark(store.db, term, p, "ANG", 1, 1, "10")
    mark(store.db, term, p, "ANG", 1, 2, "14")
    mark(store.db, term, p, "ANG", 1, ACTIVITIES, "17")
    # tests mean (10 + 14) / 2 = 12; 0.60 x 12 + 0.40 x 17 = 7.2 + 6.8 = 14.00
    # (the 75/25 rule would give 9 + 4.25 = 13.25)
    report = pupil_report(store.db, term.year, p, school=term.school)
    ang = next(s for s in report["semesters"]["1"]["subjects"] if s["subject"] == "ANG")
    assert ang["average"] == 14.00


def test_without_activities_the_average_is_the_tests_mean():
    # (11 + 12.5) / 2 = 11.75
    assert subject_average(WEIGHTED_25, [scored("11"), scored("12.5")], None) == D("11.75")


def test_unjustified_absence_from_a_test_counts_zero():
    # (12 + 0 + 15) / 3 = 9.00
    assert subject_average(WEIGHTED_25, [scored("12"), absent(False), scored("15")], None) == D("9.00")


def test_justified_absence_from_a_test_is_left_out():
    # (12 + 15) / 2 = 13.50
    assert subject_average(WEIGHTED_25, [scored("12"), absent(True), scored("15")], None) == D("13.50")


def test_unjustified_absence_from_the_activities_counts_zero():
    # 0.75 x 16 + 0.25 x 0 = 12.00
    assert subject_average(WEIGHTED_25, [scored("16")], Mark(ACTIVITIES, None, True, False)) == D("12.00")


def test_all_tests_justified_absent_gives_no_average():
    assert subject_average(WEIGHTED_25, [absent(True), absent(True)], Mark(ACTIVITIES, D(15), False, False)) is None
    assert subject_average(WEIGHTED_25, [], None) is None


def test_rounding_is_half_up_to_two_decimals():
    # (12.24 + 12.25) / 2 = 12.245 -> 12.25 half-up (half-even, or a float, would give 12.24)
    assert subject_average(WEIGHTED_25, [scored("12.24"), scored("12.25")], None) == D("12.25")
    # (10 + 10 + 10.01) / 3 = 10.00333... -> 10.00
    assert subject_average(WEIGHTED_25, [scored("10"), scored("10"), scored("10.01")], None) == D("10.00")
    assert rules.round2(D("2.675")) == D("2.68")
    assert rules.round2(D("2.665")) == D("2.67")


# -- general average, class statistics, rank ----------------------------------


def _semester_one_marks(store, p):
    db, term = store.db, store.term
    # MATH (coef 3): tests 12, 14, 16 and activities 18 -> 15.00 (see above)
    for n, s in enumerate(("12", "14", "16"), start=1):
        mark(db, term, p, "MATH", 1, n, s)
    mark(db, term, p, "MATH", 1, ACTIVITIES, "18")
    # ANG (coef 2, 60/40): tests 10, 14, activities 17 -> 14.00
    mark(db, term, p, "ANG", 1, 1, "10")
    mark(db, term, p, "ANG", 1, 2, "14")
    mark(db, term, p, "ANG", 1, ACTIVITIES, "17")
    # FRA (coef 3): tests 11, 12.5, no activities -> 11.75
    mark(db, term, p, "FRA", 1, 1, "11")
    mark(db, term, p, "FRA", 1, 2, "12.5")


def test_general_average_is_weighted_by_coefficients(store):
    (p,) = enrol(store.db, store.term, "1APIC-1", code(1))
    _semester_one_marks(store, p)
    # catalogue coefficients for 1APIC: MATH 3, ANG 2, FRA 3; subjects without marks are left out
    # (15.00 x 3 + 14.00 x 2 + 11.75 x 3) / (3 + 2 + 3) = (45 + 28 + 35.25) / 8 = 108.25 / 8 = 13.53125 -> 13.53
    report = pupil_report(store.db, store.term.year, p, school=store.term.school)
    sem = report["semesters"]["1"]
    assert sem["average"] == 13.53
    by_subject = {s["subject"]: s for s in sem["subjects"]}
    assert (by_subject["MATH"]["coefficient"], by_subject["ANG"]["coefficient"], by_subject["FRA"]["coefficient"]) == (
        3,
        2,
        3,
    )
    assert by_subject["MATH"]["average"] == 15.00
    assert by_subject["ANG"]["average"] == 14.00
    assert by_subject["FRA"]["average"] == 11.75
    assert by_subject["SVT"]["average"] is None


def test_class_average_min_max_and_competition_rank_with_ties(store):
    db, term = store.db, store.term
    p1, p2, p3, p4, p5 = enrol(db, term, "1APIC-1", code(1), code(2), code(3), code(4), code(5))
    # one MATH test each: 15, 12, 12, 10; p5 has no mark at all
    for p, s in ((p1, "15"), (p2, "12"), (p3, "12"), (p4, "10")):
        mark(db, term, p, "MATH", 1, 1, s)
    results = ClassResults(db, term.school, term.year, "1APIC-1", "1APIC", 1)
    # competition ranking: 15 -> 1, 12 -> 2, 12 -> 2, 10 -> 4 (not 3); no average, no rank
    assert [results.rank(p) for p in (p1, p2, p3, p4, p5)] == [1, 2, 2, 4, None]
    # class average (15 + 12 + 12 + 10) / 4 = 49 / 4 = 12.25, min 10, max 15
    assert results.subject_stats("MATH") == {"class_average": 12.25, "class_min": 10.0, "class_max": 15.0}
    assert results.subject_stats("SVT") == {"class_average": None, "class_min": None, "class_max": None}
    report = pupil_report(db, term.year, p3, school=term.school, semesters=(1,))
    assert report["semesters"]["1"]["rank"] == 2
    math = next(s for s in report["semesters"]["1"]["subjects"] if s["subject"] == "MATH")
    assert (math["class_average"], math["class_min"], math["class_max"]) == (12.25, 10.0, 15.0)


def test_rank_is_within_the_class_only(store):
    db, term = store.db, store.term
    (a,) = enrol(db, term, "1APIC-1", code(1))
    (b,) = enrol(db, term, "1APIC-2", code(2))
    mark(db, term, a, "MATH", 1, 1, "10")
    mark(db, term, b, "MATH", 1, 1, "18")
    # b is in another class: a is first of 1APIC-1 despite b's better mark
    assert pupil_report(db, term.year, a, school=term.school)["semesters"]["1"]["rank"] == 1


# -- annual average and decision ----------------------------------------------


def test_annual_average_is_the_mean_of_both_semesters_and_decides(store):
    (p,) = enrol(store.db, store.term, "1APIC-1", code(1))
    _semester_one_marks(store, p)  # semester 1: 13.53
    mark(store.db, store.term, p, "MATH", 2, 1, "10")  # semester 2: 10.00
    report = pupil_report(store.db, store.term.year, p, school=store.term.school)
    # (13.53 + 10.00) / 2 = 11.765 -> 11.77 (half-up); >= 10/20 -> pass
    assert report["semesters"]["2"]["average"] == 10.00
    assert report["annual_average"] == 11.77
    assert report["decision"] == "pass"


def test_collège_fails_below_ten(store):
    (p,) = enrol(store.db, store.term, "1APIC-1", code(1))
    mark(store.db, store.term, p, "MATH", 1, 1, "10")
    mark(store.db, store.term, p, "MATH", 2, 1, "9.98")
    # (10 + 9.98) / 2 = 9.99 < 10 -> fail
    report = pupil_report(store.db, store.term.year, p, school=store.term.school)
    assert (report["annual_average"], report["decision"]) == (9.99, "fail")


def test_annual_average_is_null_while_a_semester_is_missing(store):
    (p,) = enrol(store.db, store.term, "1APIC-1", code(1))
    mark(store.db, store.term, p, "MATH", 1, 1, "16")
    report = pupil_report(store.db, store.term.year, p, school=store.term.school)
    assert report["semesters"]["1"]["average"] == 16.00
    assert report["semesters"]["2"]["average"] is None
    assert report["semesters"]["2"]["rank"] is None
    assert report["annual_average"] is None
    assert report["decision"] is None


def test_primary_passes_at_five_out_of_ten(store):
    db, term = store.db, store.term
    passing, failing = enrol(db, term, "5AP-1", code(1), code(2))
    # passing: 5 and 5 -> annual 5.00 >= 5/10 -> pass (it would fail on a /20 scale)
    mark(db, term, passing, "MATH", 1, 1, "5")
    mark(db, term, passing, "MATH", 2, 1, "5")
    # failing: 4.5 and 5 -> (4.5 + 5) / 2 = 4.75 < 5 -> fail
    mark(db, term, failing, "MATH", 1, 1, "4.5")
    mark(db, term, failing, "MATH", 2, 1, "5")
    good = pupil_report(db, term.year, passing, school=term.school)
    bad = pupil_report(db, term.year, failing, school=term.school)
    assert (good["level"], good["scale"]) == ("5AP", 10)
    assert (good["annual_average"], good["decision"]) == (5.00, "pass")
    assert (bad["annual_average"], bad["decision"]) == (4.75, "fail")


def test_pass_marks():
    assert rules.passes(D("10"), 20) is True
    assert rules.passes(D("9.99"), 20) is False
    assert rules.passes(D("5"), 10) is True
    assert rules.passes(D("4.99"), 10) is False
    assert rules.passes(None, 20) is None


# -- certificates ---------------------------------------------------------------


def test_certificate_3apic():
    # (3 x 12 + 3 x 14 + 4 x 9) / 10 = (36 + 42 + 36) / 10 = 11.40
    assert rules.certificate_3apic(D("12"), D("14"), D("9")) == D("11.40")
    # (3 x 12.33 + 3 x 10 + 4 x 11.11) / 10 = (36.99 + 30 + 44.44) / 10 = 11.143 -> 11.14
    assert rules.certificate_3apic(D("12.33"), D("10"), D("11.11")) == D("11.14")
    # (3 x 10.01 + 3 x 10 + 4 x 10) / 10 = 100.03 / 10 = 10.003 -> 10.00
    assert rules.certificate_3apic(D("10.01"), D("10"), D("10")) == D("10.00")


def test_baccalaureate():
    # 12 / 4 + 14 / 4 + 9 / 2 = 3 + 3.5 + 4.5 = 11.00
    assert rules.baccalaureate(D("12"), D("14"), D("9")) == D("11.00")
    # 11.01 / 4 + 10 / 4 + 10 / 2 = 2.7525 + 2.5 + 5 = 10.2525 -> 10.25
    assert rules.baccalaureate(D("11.01"), D("10"), D("10")) == D("10.25")
    # 10.02 / 4 + 10 / 4 + 10 / 2 = 2.505 + 2.5 + 5 = 10.005 -> 10.01 (half-up)
    assert rules.baccalaureate(D("10.02"), D("10"), D("10")) == D("10.01")


# -- the report's shape ------------------------------------------------------------


def test_report_json_shape(store):
    db, term = store.db, store.term
    (p,) = enrol(db, term, "1APIC-1", code(1))
    _semester_one_marks(store, p)
    mark(db, term, p, "SVT", 1, 1, absent=True, justified=True)
    record_absences(db, term, [AbsenceEntry(p, dt.date(2024, 10, 7), rules.hours_mask([1, 2, 3]))])
    justify_absence(db, term, p, dt.date(2024, 10, 7), "malade", rules.hours_mask([1]))
    record_absences(db, term, [AbsenceEntry(p, dt.date(2024, 10, 8), rules.FULL_DAY)])
    report = pupil_report(db, term.year, p, school=term.school)

    assert report["student"] == p
    assert report["class"] == "1APIC-1"
    assert set(report["semesters"]) == {"1", "2"}
    sem = report["semesters"]["1"]
    assert {"subjects", "average", "rank"} <= set(sem)
    for s in sem["subjects"]:
        assert {"subject", "coefficient", "tests", "activities", "average"} <= set(s)
    by_subject = {s["subject"]: s for s in sem["subjects"]}
    math = by_subject["MATH"]
    assert [t["score"] for t in math["tests"]] == [12.0, 14.0, 16.0]
    assert math["activities"]["score"] == 18.0
    assert by_subject["FRA"]["activities"] is None
    assert by_subject["SVT"]["tests"] == [{"assessment": 1, "score": None, "absent": True, "justified": True}]
    assert by_subject["SVT"]["average"] is None
    assert "annual_average" in report and "decision" in report
    # absences: 3 hours on 7 Oct (1 justified) + a full day (8 hours) on 8 Oct
    # hours 3 + 8 = 11; unjustified 2 + 8 = 10
    assert report["absences"]["hours"] == 11
    assert report["absences"]["unjustified_hours"] == 10

    only_two = pupil_report(db, term.year, p, school=term.school, semesters=(2,))
    assert set(only_two["semesters"]) == {"2"}


def test_report_refuses_a_pupil_of_another_school(store):
    from domain.errors import NotFound
    from domain.pupils import Term
    from tests.support.records import OTHER_SCHOOL

    other = Term(OTHER_SCHOOL, store.term.year)
    (p,) = enrol(store.db, other, "1APIC-1", code(7))
    with pytest.raises(NotFound):
        pupil_report(store.db, store.term.year, p, school=store.term.school)
