"""`massar node import-grades FILE.xlsx [--partial]` and `export-grades`: Massar's NotesCC sheet."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from domain.grades import GradeEntry, record_grades
from syncclient.massarfiles import read_grade_sheet

from .conftest import School, absent, counts, grade_rows, grade_sheet, massar, opened, score

CODE_COL, T1, T2, T3, ACT = "رقم التلميذ", "الفرض الأول", "الفرض الثاني", "الفرض الثالث", "الأنشطة المندمجة"
FIRST_ROW = 18  # the writer's (and Massar's) first pupil row


def test_good_sheet_is_imported(school: School, write_sheet: Callable[..., Path]) -> None:
    a, b, c = school.pupils("1APIC-1")[:3]
    path = write_sheet(
        grade_sheet(
            "1APIC-1",
            [
                (a, {1: score("12.25"), 2: score("15"), 5: score("18.5")}, "مجتهد"),
                (b, {1: absent(justified=True), 2: absent(), 3: score("9.75")}),  # unjustified: written as 0
                (c, {}),  # not graded yet: nothing recorded
            ],
        )
    )

    proc = massar("node", "import-grades", "--data", school.node, path, "--json")

    summary = json.loads(proc.stdout)
    assert summary["marks"] == 6
    assert (summary["class"], summary["subject"], summary["semester"], summary["skipped"]) == ("1APIC-1", "MATH", 1, [])
    assert grade_rows(school.node) == sorted(
        [
            (a, "MATH", 1, 1, 1225, 0, 0, "مجتهد"),
            (a, "MATH", 1, 2, 1500, 0, 0, "مجتهد"),
            (a, "MATH", 1, 5, 1850, 0, 0, "مجتهد"),
            (b, "MATH", 1, 1, None, 1, 1, None),
            (b, "MATH", 1, 2, 0, 0, 0, None),
            (b, "MATH", 1, 3, 975, 0, 0, None),
        ]
    )


def test_subject_code_not_in_table_is_found_by_its_name(school: School, write_sheet: Callable[..., Path]) -> None:
    a = school.pupils("1APIC-1")[0]
    sheet = grade_sheet("1APIC-1", [(a, {1: score("16")})], massar_code="9030", subject_name="المعلوميات :")
    proc = massar("node", "import-grades", "--data", school.node, write_sheet(sheet), "--json")
    assert json.loads(proc.stdout)["subject"] == "INFO"
    assert grade_rows(school.node) == [(a, "INFO", 1, 1, 1600, 0, 0, None)]


def _rows(school: School, marks: Callable[[list[str], list[str]], list]) -> list:
    return marks(school.pupils("1APIC-1"), school.pupils("1APIC-2"))


# (sheet changes, rows builder, texts the report must hold)
BAD_FILES = [
    pytest.param(
        {},
        lambda mine, other: [(mine[0], {1: score("12")}), ("Z000000001", {1: score("10")})],
        [f"row {FIRST_ROW + 1}, column {CODE_COL}", "unknown pupil Z000000001"],
        id="unknown-code",
    ),
    pytest.param(
        {},
        lambda mine, other: [(mine[0], {1: score("12")}), (other[0], {1: score("10")})],
        [f"row {FIRST_ROW + 1}, column {CODE_COL}", "pupil {other0} is in class 1APIC-2, not 1APIC-1"],
        id="pupil-of-another-class",
    ),
    pytest.param(
        {},
        lambda mine, other: [(mine[0], {1: score("12")}), (mine[1], {2: score("20.5")}), (mine[2], {5: score("7")})],
        [f"row {FIRST_ROW + 1}, column {T2}", "20.5"],
        id="mark-out-of-scale",
    ),
    pytest.param(
        {},
        lambda mine, other: [("r12345", {1: score("12")}), (mine[1], {1: score("11")}), (mine[1], {1: score("9")})],
        [f"row {FIRST_ROW}, column {CODE_COL}", "bad Massar code", f"row {FIRST_ROW + 2}", "duplicate"],
        id="malformed-and-duplicate-codes",
    ),
    pytest.param(
        {"class_code": "1APIC-9"},
        lambda mine, other: [(mine[0], {1: score("12")})],
        ["class 1APIC-9 (القسم) does not exist at school S001 in 2023/2024"],
        id="unknown-class",
    ),
    pytest.param(
        {"year": "2022/2023"},
        lambda mine, other: [(mine[0], {1: score("12")})],
        ["school year 2022/2023", "this node records 2023/2024"],
        id="other-school-year",
    ),
    pytest.param(
        {"massar_code": "9999", "subject_name": "مادة غير معروفة"},
        lambda mine, other: [(mine[0], {1: score("12")})],
        ["unknown subject", "9999"],
        id="unknown-subject",
    ),
    pytest.param(
        {"massar_code": "0110", "subject_name": "الفلسفة"},
        lambda mine, other: [(mine[0], {1: score("12")})],
        ["subject PHILO", "not taught in 1APIC"],
        id="subject-not-taught-in-level",
    ),
]


@pytest.mark.parametrize(("changes", "rows", "expected"), BAD_FILES)
def test_bad_sheet_changes_nothing(
    school: School, write_sheet: Callable[..., Path], changes: dict, rows: Callable, expected: list[str]
) -> None:
    path = write_sheet(grade_sheet(**{"class_code": "1APIC-1", "rows": _rows(school, rows), **changes}))
    before = counts(school.node)

    proc = massar("node", "import-grades", "--data", school.node, path, check=False)

    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "nothing was imported" in proc.stderr
    for text in expected:
        assert text.replace("{other0}", school.pupils("1APIC-2")[0]) in proc.stderr
    assert counts(school.node) == before


def test_wrong_semester_title_is_refused(school: School, write_sheet: Callable[..., Path], tmp_path: Path) -> None:
    import openpyxl

    path = write_sheet(grade_sheet("1APIC-1", [(school.pupils("1APIC-1")[0], {1: score("12")})]))
    book = openpyxl.load_workbook(path)
    book["NotesCC"]["D11"] = "الدورة الثالثة"
    book.save(path)
    book.close()

    proc = massar("node", "import-grades", "--data", school.node, path, check=False)

    assert proc.returncode != 0
    assert "الدورة" in proc.stderr and "الدورة الثالثة" in proc.stderr
    assert counts(school.node)["grades"] == 0


def test_primary_marks_are_out_of_ten(school: School, write_sheet: Callable[..., Path]) -> None:
    a, b = school.pupils("4AP-1")[:2]
    sheet = grade_sheet("4AP-1", [(a, {1: score("9.5")}), (b, {1: score("12")})], massar_code="0019")
    proc = massar("node", "import-grades", "--data", school.node, write_sheet(sheet), check=False)
    assert proc.returncode != 0
    assert f"row {FIRST_ROW + 1}, column {T1}: score 12 is out of the scale 0-10 of 4AP-1" in proc.stderr
    assert counts(school.node)["grades"] == 0


def test_partial_applies_only_the_valid_rows(school: School, write_sheet: Callable[..., Path]) -> None:
    mine = school.pupils("1APIC-1")
    sheet = grade_sheet(
        "1APIC-1",
        [
            (mine[0], {1: score("11"), 5: score("14")}),
            (mine[1], {1: score("13"), 2: score("25")}),  # one bad mark: the whole row is left out
            ("Z000000001", {1: score("10")}),
            (mine[2], {1: absent(justified=True)}),
        ],
    )

    proc = massar("node", "import-grades", "--data", school.node, write_sheet(sheet), "--partial", "--json")

    summary = json.loads(proc.stdout)
    assert summary["marks"] == 3
    assert [(p["row"], p["column"]) for p in summary["skipped"]] == [
        (FIRST_ROW + 1, T2),
        (FIRST_ROW + 2, CODE_COL),
    ]
    assert {r[0] for r in grade_rows(school.node)} == {mine[0], mine[2]}


def _record(school: School) -> None:
    mine = school.pupils("1APIC-1")
    entries = [
        GradeEntry(mine[0], "MATH", 2, 1, Decimal("12.25"), remark="يحتاج إلى مزيد من التركيز"),
        GradeEntry(mine[0], "MATH", 2, 2, Decimal("7"), remark="يحتاج إلى مزيد من التركيز"),
        GradeEntry(mine[0], "MATH", 2, 5, Decimal("16.5"), remark="يحتاج إلى مزيد من التركيز"),
        GradeEntry(mine[1], "MATH", 2, 1, None, absent=True, justified=True),
        GradeEntry(mine[1], "MATH", 2, 2, None, absent=True),
        GradeEntry(mine[1], "MATH", 2, 3, Decimal("19.75")),
        GradeEntry(mine[2], "MATH", 2, 3, Decimal("0")),
        GradeEntry(mine[3], "MATH", 1, 1, Decimal("10")),  # other semester: not exported
        GradeEntry(mine[3], "FRA", 2, 1, Decimal("10")),  # other subject: not exported
    ]
    with opened(school.node) as store:
        record_grades(store.db, store.term, entries)


def test_export_then_import_gives_back_the_same_marks(school: School, tmp_path: Path) -> None:
    _record(school)
    # Massar's absence list has only مبرر: the unjustified absence goes back as 0, how it counts
    unjustified = (school.pupils("1APIC-1")[1], "MATH", 2, 2)
    before = [(*row[:4], 0, 0, 0, row[7]) if row[:4] == unjustified else row for row in grade_rows(school.node)]

    proc = massar(
        "node",
        "export-grades",
        "--data",
        school.node,
        "--class",
        "1apic-1",
        "--subject",
        "MATH",
        "--semester",
        "2",
        "--json",
        cwd=tmp_path,
    )

    info = json.loads(proc.stdout)
    path = tmp_path / "export_notesCC_1APIC-1_0019.xlsx"  # Massar's own name, in the current folder
    assert Path(info["file"]).name == path.name and path.exists()
    assert (info["pupils"], info["marks"], info["source"], info["unjustified_as_zero"]) == (6, 7, "written", 1)
    sheet = read_grade_sheet(path)
    assert (sheet.class_code, sheet.semester, sheet.massar_subject_code, sheet.year) == (
        "1APIC-1",
        2,
        "0019",
        "2023/2024",
    )
    assert (sheet.subject_name, sheet.school_name) == ("الرياضيات", "الثانوية الإعدادية النموذجية")
    assert sheet.assessments == (1, 2, 3, 5)  # MATH has 3 tests in 2023/24
    assert sorted(r.code for r in sheet.rows) == sorted(school.pupils("1APIC-1"))

    with opened(school.node) as store, store.db.conn:
        store.db.conn.execute("DELETE FROM grades WHERE subject = 'MATH' AND semester = 2")
    massar("node", "import-grades", "--data", school.node, path)

    assert grade_rows(school.node) == before


def test_export_hands_back_massar_ids_of_the_imported_sheet(
    school: School, write_sheet: Callable[..., Path], tmp_path: Path
) -> None:
    mine = school.pupils("1APIC-1")
    guid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    rows = [(code, {1: score("10")} if i == 0 else {}) for i, code in enumerate(reversed(mine))]
    imported = write_sheet(grade_sheet("1APIC-1", rows, guid=guid), name="from_massar.xlsx")
    massar("node", "import-grades", "--data", school.node, imported)
    out = tmp_path / "out.xlsx"

    massar(
        "node",
        "export-grades",
        "--data",
        school.node,
        "--class",
        "1APIC-1",
        "--subject",
        "0019",
        "--semester",
        "1",
        "-o",
        out,
    )

    sheet, original = read_grade_sheet(out), read_grade_sheet(imported)
    assert sheet.massar_guid == guid
    assert sheet.school_code == "12345X" and sheet.teacher == "أستاذ تجريبي"
    assert [(r.code, r.massar_id) for r in sheet.rows] == [(r.code, r.massar_id) for r in original.rows]
    assert [r.marks for r in sheet.rows] == [r.marks for r in original.rows]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--class", "3APIC-7", "--subject", "MATH"], "class 3APIC-7 does not exist", id="unknown-class"),
        pytest.param(["--class", "1APIC-1", "--subject", "LATIN"], "unknown subject 'LATIN'", id="unknown-subject"),
        pytest.param(["--class", "4AP-1", "--subject", "PHILO"], "PHILO is not taught in 4AP", id="not-taught"),
    ],
)
def test_export_refuses_clearly(school: School, tmp_path: Path, args: list[str], message: str) -> None:
    proc = massar("node", "export-grades", "--data", school.node, *args, "--semester", "1", cwd=tmp_path, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert list(tmp_path.glob("export_*.xlsx")) == []
