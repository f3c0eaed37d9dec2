"""The year's evaluation rules as data: every collège subject's average by the
2025/26 notes and by the customary 2024/25 rules, each computed by hand."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from domain.errors import InvalidInput
from domain.grades import GradeEntry, record_grades
from domain.results import pupil_report
from domain.rules import ACTIVITIES
from syncclient.store import NodeStore
from tests.support.records import code, enrol

TESTS = ("12", "14", "9", "15")  # the tests in order, as many as the rule has
ACTIVITIES_MARK = "16"


def _node(tmp_path: Path, year: str) -> NodeStore:
    return NodeStore.init(tmp_path / year.replace("/", "-"), "S001", year=year)


def _mark_every_subject(store: NodeStore, level: str, tests: dict[str, int]) -> str:
    (pupil,) = enrol(store.db, store.term, f"{level}-1", code(7))
    entries = []
    for subject, n in tests.items():
        entries += [GradeEntry(pupil, subject, 1, i + 1, _d(TESTS[i])) for i in range(n)]
        entries.append(GradeEntry(pupil, subject, 1, ACTIVITIES, _d(ACTIVITIES_MARK)))
    record_grades(store.db, store.term, entries)
    return pupil


def _d(text: str) -> Decimal:
    return Decimal(text)


def _averages(store: NodeStore, pupil: str) -> tuple[dict[str, float], float]:
    sem = pupil_report(store.db, store.term.year, pupil)["semesters"]["1"]
    return {s["subject"]: s["average"] for s in sem["subjects"]}, sem["average"]


@pytest.mark.parametrize("level", ["1ASCG", "1APIC"])
def test_college_2025_26_by_the_ministerial_notes(tmp_path: Path, level: str) -> None:
    store = _node(tmp_path, "2025/2026")
    counts = {"ARA": 2, "FRA": 4, "MATH": 3, "HG": 3, "EIS": 2, "PC": 3, "SVT": 2, "INFO": 3, "EPS": 3, "ANG": 3}
    pupil = _mark_every_subject(store, level, counts)
    averages, general = _averages(store, pupil)
    # tests 12, 14 (, 9, 15) and activities 16:
    assert averages == {
        "ARA": 13.75,  # mean(12, 14) = 13; 3/4 x 13 + 1/4 x 16 = 9.75 + 4
        "FRA": 13.20,  # mean(12, 14, 9, 15) = 12.5; 4/5 x 12.5 + 1/5 x 16 = 10 + 3.2
        "MATH": 11.67,  # tests only: 35 / 3 = 11.666...
        "HG": 13.11,  # 2/3 x 35/3 + 1/3 x 16 = 70/9 + 48/9 = 118/9 = 13.111...
        "EIS": 14.00,  # 2/3 x 13 + 1/3 x 16 = 42/3
        "PC": 12.75,  # 3/4 x 35/3 + 4 = 8.75 + 4
        "SVT": 13.75,  # 3/4 x 13 + 4
        "INFO": 12.53,  # 4/5 x 35/3 + 1/5 x 16 = 9.333... + 3.2
        "EPS": 12.32,  # 1AC: 85% x 35/3 + 15% x 16 = 9.91666... + 2.4
        "ANG": 12.67,  # three blocks: short tests mean(12, 14) = 13, final 9, activities 16 -> 38/3
    }
    # coefficients ARA, FRA, MATH 5; HG 3; PC, SVT, EIS, ANG, EPS 2; INFO 1 (sum 29):
    # 68.75 + 66 + 58.35 + 39.33 + 25.5 + 27.5 + 28 + 25.34 + 24.64 + 12.53 = 375.94; / 29 = 12.963...
    assert general == 12.96


def test_college_2024_25_by_the_customary_rules(tmp_path: Path) -> None:
    store = _node(tmp_path, "2024/2025")
    subjects = ("ARA", "FRA", "MATH", "HG", "EIS", "PC", "SVT", "INFO", "EPS", "ANG")
    pupil = _mark_every_subject(store, "1ASCG", dict.fromkeys(subjects, 3))
    averages, general = _averages(store, pupil)
    # 75/25: 3/4 x 35/3 + 1/4 x 16 = 8.75 + 4 = 12.75; English 60/40: 0.6 x 35/3 + 0.4 x 16 = 7 + 6.4
    assert averages == {**dict.fromkeys(subjects, 12.75), "ANG": 13.40}
    # coefficients ARA 3, FRA 3, MATH 3, the rest 2, INFO and EPS 1 (sum 21): (19 x 12.75 + 2 x 13.40) / 21
    assert general == 12.81


def test_third_year_rules_every_coefficient_one_and_two_hg_tests(tmp_path: Path) -> None:
    store = _node(tmp_path, "2025/2026")
    pupil = _mark_every_subject(store, "3ASCG", {"HG": 2, "EPS": 3, "MATH": 3})
    averages, general = _averages(store, pupil)
    assert averages["HG"] == 14.00  # 2/3 x 13 + 1/3 x 16
    assert averages["EPS"] == 12.75  # 3AC: 25% activities
    # every coefficient 1: (14 + 12.75 + 11.67) / 3 = 12.806...
    assert general == 12.81
    with pytest.raises(InvalidInput, match="HG has 2 test"):
        record_grades(store.db, store.term, [GradeEntry(pupil, "HG", 1, 3, _d("10"))])


def test_subjects_json_shows_the_year_rules(tmp_path: Path, run_massar) -> None:
    new, old = _node(tmp_path, "2025/2026"), _node(tmp_path, "2024/2025")
    for store in (new, old):
        store.close()
    rows = json.loads(run_massar("node", "subjects", "--level", "1ascg", "--json", data=new.path.parent).stdout)
    by = {r["code"]: r for r in rows}
    assert {k: by["FRA"][k] for k in ("tests", "activities_weight", "formula", "coefficient")} == {
        "tests": 4,
        "activities_weight": "1/5",
        "formula": "weighted",
        "coefficient": 5,
    }
    assert (by["ANG"]["formula"], by["ANG"]["tests"]) == ("three_blocks", 3)
    assert (by["MATH"]["activities_weight"], by["EPS"]["activities_weight"]) == ("0", "3/20")
    assert by["MATH"]["massar_code"] == "0019"
    rows = json.loads(run_massar("node", "subjects", "--level", "1ASCG", "--json", data=old.path.parent).stdout)
    by = {r["code"]: r for r in rows}
    assert (by["MATH"]["activities_weight"], by["MATH"]["coefficient"], by["ANG"]["activities_weight"]) == (
        "1/4",
        3,
        "2/5",
    )


def test_unknown_level_names_the_nearest_codes(tmp_path: Path, run_massar) -> None:
    store = _node(tmp_path, "2025/2026")
    store.close()
    proc = run_massar("node", "subjects", "--level", "1ASC", data=store.path.parent, check=False)
    assert proc.returncode != 0 and "unknown level '1ASC'" in proc.stderr and "1ASCG" in proc.stderr


def test_no_code_names_a_subject_weight() -> None:
    # Rules are data: the modules that compute never spell a subject code.
    root = Path(__file__).resolve().parents[2]
    for module in ("domain/results.py", "domain/evaluation.py", "domain/certificates.py", "domain/grades.py"):
        text = (root / module).read_text(encoding="utf-8")
        for subject in ('"ANG"', '"MATH"', '"FRA"', '"EPS"', '"HG"'):
            assert subject not in text, (module, subject)
