"""National data from the centre: a corrected evaluation rule changes every
average on the next sync, a new level arrives, exam results reach the school
and its certificates (3AC, baccalaureate)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from domain.database import write_transaction
from domain.errors import FileRejected
from domain.grades import GradeEntry, record_grades
from domain.pupils import Term, register_pupil
from domain.results import pupil_report
from domain.rows import upsert_dicts
from server.exam_results import import_exam_results
from server.publish import publish_file
from syncclient.bulletins import render_bulletins
from syncclient.semesters import close_semester

from .helpers import YEAR, sync

P = "K100000001"


def _pupil(store, class_code: str, code: str = P) -> str:
    register_pupil(
        store.db, store.term, class_code=class_code, last_name="Alaoui", first_name="Sara", gender="F", code=code
    )
    return code


def _marks(store, pupil: str) -> None:
    D = Decimal
    record_grades(
        store.db,
        store.term,
        [
            GradeEntry(pupil, "MATH", 1, 1, D("12")),
            GradeEntry(pupil, "MATH", 1, 2, D("14")),
            GradeEntry(pupil, "MATH", 1, 5, D("18")),
            GradeEntry(pupil, "MATH", 2, 1, D("10")),
            GradeEntry(pupil, "MATH", 2, 2, D("10")),
            GradeEntry(pupil, "MATH", 2, 5, D("10")),
        ],
    )


def _math(report: dict, semester: str = "1") -> dict:
    return next(s for s in report["semesters"][semester]["subjects"] if s["subject"] == "MATH")


def _publish(central, tmp_path: Path, data: dict) -> dict[str, int]:
    path = tmp_path / "publication.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with central.db() as db:
        return publish_file(db, path)


def test_a_corrected_rule_changes_the_averages_on_the_next_sync(central, make_node, tmp_path: Path) -> None:
    node = make_node("SA01")
    pupil = _pupil(node, "1APIC-1")
    _marks(node, pupil)
    # 2024/25 customary: 3/4 x mean(12, 14) + 1/4 x 18 = 9.75 + 4.5
    assert _math(pupil_report(node.db, YEAR, pupil))["average"] == 14.25
    sync(node)
    rule = {
        "since": YEAR,
        "level": "1APIC",
        "subject": "MATH",
        "tests": 3,
        "activities_weight": "50%",
        "formula": "weighted",
        "coefficient": 4,
        "exam_coefficient": None,
    }
    level = {"code": "1APICX", "cycle": "college", "year": 1, "scale": 20, "name_ar": "تجريبي", "name_fr": "Essai"}
    assert _publish(central, tmp_path, {"evaluation_rules": [rule], "levels": [level]}) == {
        "evaluation_rules": 1,
        "levels": 1,
    }
    with central.db() as db:
        # the centre's own report follows at once: 1/2 x 13 + 1/2 x 18
        assert _math(pupil_report(db, YEAR, pupil))["average"] == 15.50
        assert db.execute(
            "SELECT activities_weight FROM evaluation_rules WHERE level = '1APIC' AND subject = 'MATH' AND since = ?",
            [YEAR],
        ).fetchone() == ("1/2",)

    assert _math(pupil_report(node.db, YEAR, pupil))["average"] == 14.25  # not yet synced
    sync(node)
    math = _math(pupil_report(node.db, YEAR, pupil))
    assert (math["average"], math["coefficient"], math["rule"]["activities_weight"]) == (15.50, 4, "1/2")
    assert node.db.execute("SELECT cycle, year, ord FROM levels WHERE code = '1APICX'").fetchone() == ("college", 1, 7)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        pytest.param({"activities_weight": "3/2"}, "outside 0..1", id="share-over-one"),
        pytest.param({"formula": "median"}, "formula 'median'", id="unknown-formula"),
        pytest.param({"tests": 5}, "tests must be 1..4", id="five-tests"),
        pytest.param({"level": "1ASC"}, "nearest known: 1ASCG", id="unknown-level"),
        pytest.param({"since": "2025-2026"}, "school year", id="bad-year"),
    ],
)
def test_a_bad_rule_publishes_nothing(central, tmp_path: Path, entry: dict, message: str) -> None:
    rule = {
        "since": "2026/2027",
        "level": "1ASCG",
        "subject": "MATH",
        "tests": 3,
        "activities_weight": "0",
        "formula": "weighted",
        "coefficient": 5,
        "exam_coefficient": None,
    }
    good = {**rule, "subject": "FRA"}
    with pytest.raises(FileRejected) as caught:
        _publish(central, tmp_path, {"evaluation_rules": [good, {**rule, **entry}]})
    assert [e.row for e in caught.value.rows] == [2] and message in caught.value.rows[0].message
    with central.db() as db:
        assert db.execute("SELECT COUNT(*) FROM evaluation_rules WHERE since = '2026/2027'").fetchone() == (0,)


def _exam_csv(tmp_path: Path, rows: list[tuple]) -> Path:
    path = tmp_path / "results.csv"
    lines = ["year,student,exam,subject,score", *(",".join(map(str, r)) for r in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_3ac_certificate_from_imported_exam_results(central, make_node, tmp_path: Path) -> None:
    node = make_node("SA01")
    pupil = _pupil(node, "3APIC-1")
    _marks(node, pupil)
    sync(node)
    bad = _exam_csv(tmp_path, [(YEAR, pupil, "regional", "ANG", "12")])  # English is not in the regional exam
    with central.db() as db, pytest.raises(FileRejected, match="nothing was imported") as caught:
        import_exam_results(db, bad)
    assert "not examined in the regional exam" in caught.value.rows[0].message
    csv = _exam_csv(
        tmp_path,
        [
            (YEAR, pupil, "local", "MATH", "15"),
            (YEAR, pupil, "local", "FRA", "9"),
            (YEAR, pupil, "regional", "ARA", "11"),
            (YEAR, pupil, "regional", "0019", "14"),  # Massar's code for mathematics
            (YEAR, pupil, "regional", "SVT", "16"),
        ],
    )
    with central.db() as db:
        assert import_exam_results(db, csv) == {"marks": 5, "pupils": 1, "schools": 1}
    sync(node)
    cert = pupil_report(node.db, YEAR, pupil)["certificate"]
    # continuous: semesters 14.25 and 10.00 -> annual 12.125 -> 12.13
    # local exam by the continuous coefficients (MATH 3, FRA 3): (45 + 27) / 6 = 12.00
    # regional exam coefficients ARA 3, MATH 3, SVT 1: (33 + 42 + 16) / 7 = 13.00
    # (3 x 12.13 + 3 x 12.00 + 4 x 13.00) / 10 = 124.39 / 10 = 12.439 -> 12.44
    assert cert["kind"] == "3ac"
    assert cert["parts"] == {"continuous": 12.13, "local": 12.0, "regional": 13.0}
    assert (cert["score"], cert["passed"], cert["missing"]) == (12.44, True, [])
    for semester in (1, 2):  # the certificate is printed once the director has closed the year's semesters
        close_semester(node.db, node.school, YEAR, semester, "director")
    bulletin = render_bulletins(node, [pupil], 2)
    assert "شهادة السلك الإعدادي" in bulletin and "12.44" in bulletin and "الامتحان الجهوي" in bulletin


def test_baccalaureate_takes_the_better_session_per_subject(central, make_node, tmp_path: Path) -> None:
    node = make_node("SA01")
    pupil = _pupil(node, "2BACSVT-1")
    before = Term(node.school, "2023/2024")
    with write_transaction(node.db):  # last year, in 1BAC at the same school
        upsert_dicts(
            node.db, "classes", [{"school": node.school, "year": before.year, "code": "1BACSE-1", "level": "1BACSE"}]
        )
        upsert_dicts(
            node.db, "enrolments", [{"school": node.school, "year": before.year, "pupil": pupil, "class": "1BACSE-1"}]
        )
    _marks(node, pupil)
    sync(node)
    csv = _exam_csv(
        tmp_path,
        [
            ("2023/2024", pupil, "regional", "FRA", "11"),
            ("2023/2024", pupil, "regional", "ARA", "15"),
            (YEAR, pupil, "national", "MATH", "8"),
            (YEAR, pupil, "national", "SVT", "12"),
            (YEAR, pupil, "national", "PC", "10"),
            (YEAR, pupil, "makeup", "MATH", "14"),
            (YEAR, pupil, "makeup", "PC", "9"),
        ],
    )
    with central.db() as db:
        import_exam_results(db, csv)
    sync(node)
    cert = pupil_report(node.db, YEAR, pupil)["certificate"]
    # regional (1BAC, coefficients ARA 2, FRA 4): (30 + 44) / 6 = 12.333 -> 12.33
    # national, best per subject MATH 14 (make-up), SVT 12, PC 10 (normal), coefficients 4, 4, 4: 12.00
    # 12.13 / 4 + 12.33 / 4 + 12.00 / 2 = 3.0325 + 3.0825 + 6 = 12.115 -> 12.12
    assert cert["kind"] == "bac"
    assert cert["parts"] == {"continuous": 12.13, "regional": 12.33, "national": 12.0}
    assert (cert["score"], cert["passed"]) == (12.12, True)


def test_import_exam_results_command(central, make_node, tmp_path: Path, run_massar) -> None:
    node = make_node("SA01")
    pupil = _pupil(node, "3APIC-1")
    sync(node)
    good = _exam_csv(tmp_path, [(YEAR, pupil, "regional", "MATH", "14.5")])
    out = run_massar("server", "import-exam-results", good, "--json", data=central.folder)
    assert json.loads(out.stdout) == {"marks": 1, "pupils": 1, "schools": 1}
    bad = _exam_csv(tmp_path, [(YEAR, pupil, "regional", "MATH", "21"), (YEAR, "K999999999", "local", "FRA", "9")])
    proc = run_massar("server", "import-exam-results", bad, data=central.folder, check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "2 bad row(s)" in proc.stderr and "out of the scale 0-20" in proc.stderr and "not enrolled" in proc.stderr
    sync(node)
    assert node.db.execute("SELECT exam, subject, score FROM exam_results").fetchall() == [("regional", "MATH", 1450)]
