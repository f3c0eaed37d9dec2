from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from syncclient.massarfiles import (
    FileFormatError,
    FileProblems,
    GradeCell,
    read_grade_sheet,
    read_grade_sheet_partial,
)
from tests.support.massar_workbooks import GradeLayout, GradeRow, build_grade_xlsx

A, B, C = "A123456789", "B123456789", "C123456789"


def _file(tmp_path: Path, rows: list[GradeRow], layout: GradeLayout | None = None) -> Path:
    return build_grade_xlsx(tmp_path / "export_notesCC_1APIC-1_0030.xlsx", rows, layout)


@pytest.mark.parametrize(
    "shift",
    [pytest.param(-1, id="one-row-up"), pytest.param(0, id="as-exported"), pytest.param(2, id="two-rows-down")],
)
def test_reads_header_block_and_marks(tmp_path: Path, shift: int) -> None:
    rows = [
        GradeRow(A, "محمد العلوي", "03-02-2011", {1: (12.5, None), 2: (None, "مبرر"), 5: (17, None)}, "مجتهد", 101),
        GradeRow(B, "مريم بنعلي", "2011-04-05", {1: ("8,75", None), 3: (None, "غ")}, None, 102),
        GradeRow(C, "آدم التازي", None, {}, None, 103),  # not graded yet
    ]
    sheet = read_grade_sheet(_file(tmp_path, rows, GradeLayout(shift=shift)))
    assert (sheet.school_code, sheet.massar_guid, sheet.massar_subject_code) == (
        "04512S",
        "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
        "0030",
    )
    assert (sheet.academy, sheet.directorate, sheet.school_name) == (
        "جهة الرباط سلا القنيطرة",
        "سلا",
        "إعدادية ابن خلدون",
    )
    assert (sheet.level, sheet.class_code, sheet.teacher) == ("الأولى إعدادي", "1APIC-1", "أستاذ تجريبي")
    assert (sheet.semester, sheet.subject_name, sheet.year) == (1, "المعلوميات", "2023/2024")
    assert sheet.assessments == (1, 2, 3, 5)
    first, second, third = sheet.rows
    assert (first.row, first.code, first.name, first.birth_date, first.remark, first.massar_id) == (
        18 + shift,
        A,
        "محمد العلوي",
        "2011-02-03",
        "مجتهد",
        "101",
    )
    assert first.marks == {
        1: GradeCell(Decimal("12.5")),
        2: GradeCell(None, absent=True, justified=True),
        5: GradeCell(Decimal(17)),
    }
    assert second.marks == {1: GradeCell(Decimal("8.75")), 3: GradeCell(None, absent=True, justified=False)}
    assert second.birth_date == "2011-04-05"
    assert third.marks == {}
    assert third.birth_date is None


def test_four_tests_are_identified_by_titles_not_tags(tmp_path: Path) -> None:
    # Tags as the real export numbers them would put #4# over the fourth
    # test here; the titles must win.
    layout = GradeLayout(assessments=(1, 2, 3, 4, 5), tags={1: "#1#", 2: "#2#", 3: "#3#", 4: "#4#", 5: "#5#"})
    rows = [GradeRow(A, marks={4: (14, None), 5: (19.5, None)})]
    sheet = read_grade_sheet(_file(tmp_path, rows, layout))
    assert sheet.assessments == (1, 2, 3, 4, 5)
    assert sheet.rows[0].marks == {4: GradeCell(Decimal(14)), 5: GradeCell(Decimal("19.5"))}


def test_tags_are_the_fallback_without_titles(tmp_path: Path) -> None:
    layout = GradeLayout(titles=False, subheader=False)
    rows = [GradeRow(A, marks={3: (11, None), 5: (16, None)})]
    sheet = read_grade_sheet(_file(tmp_path, rows, layout))
    assert sheet.assessments == (1, 2, 3, 5)
    assert sheet.rows[0].marks == {3: GradeCell(Decimal(11)), 5: GradeCell(Decimal(16))}


def test_primary_sheet_with_two_tests(tmp_path: Path) -> None:
    layout = GradeLayout(assessments=(1, 2), data_sheet=False, technical=False)
    path = _file(tmp_path, [GradeRow(A, marks={1: (9.5, None), 2: (10, None)})], layout)
    sheet = read_grade_sheet(path, scale=10)
    assert sheet.assessments == (1, 2)
    assert (sheet.school_code, sheet.massar_guid, sheet.massar_subject_code) == (None, None, None)
    with pytest.raises(FileProblems, match="out of range 0..10"):
        read_grade_sheet(_file(tmp_path, [GradeRow(A, marks={1: (10.5, None)})], layout), scale=10)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("الدورة الثانية", 2, id="second"),
        pytest.param("الدورة الاولى", 1, id="first-without-hamza"),
        pytest.param(2, 2, id="number"),
    ],
)
def test_semester(tmp_path: Path, value: str | int, expected: int) -> None:
    assert read_grade_sheet(_file(tmp_path, [], GradeLayout(semester=value))).semester == expected


def test_unknown_semester_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="الدورة"):
        read_grade_sheet(_file(tmp_path, [], GradeLayout(semester=None)))


def test_every_problem_is_collected(tmp_path: Path) -> None:
    rows = [
        GradeRow(A, marks={1: (15, None)}),
        GradeRow("X12", marks={2: ("abc", None), 3: (21, None)}),
        GradeRow(B, birth="31-02-2011", marks={1: (12.555, None), 5: (10, "مبرر")}),
        GradeRow(A, marks={1: (10, None)}),
        GradeRow(None, marks={1: (10, None)}),
        GradeRow("C123456789"),
    ]
    path = _file(tmp_path, rows)
    with pytest.raises(FileProblems) as caught:
        read_grade_sheet(path)
    found = [(p.row, p.column) for p in caught.value.problems]
    assert found == [
        (19, "رقم التلميذ"),
        (19, "الفرض الثاني"),
        (19, "الفرض الثالث"),
        (20, "تاريخ الإزدياد"),
        (20, "الفرض الأول"),
        (20, "الأنشطة المندمجة"),
        (21, "رقم التلميذ"),
        (22, "رقم التلميذ"),
    ]
    assert {p.sheet for p in caught.value.problems} == {"NotesCC"}
    assert "more than 2 decimals" in caught.value.problems[4].message
    assert "absent" in caught.value.problems[5].message

    partial, problems = read_grade_sheet_partial(path)
    assert problems == caught.value.problems
    assert [r.code for r in partial.rows] == [A, C]


@pytest.mark.parametrize(
    "title", [pytest.param("NotesCC", id="named-NotesCC"), pytest.param("Feuil1", id="other-name")]
)
def test_no_grade_header_names_the_titles(tmp_path: Path, title: str) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    if ws is None:
        raise RuntimeError("no sheet")
    ws.title = title
    ws["A1"] = "رقم التلميذ"
    path = tmp_path / "x.xlsx"
    book.save(path)
    with pytest.raises(FileFormatError, match="إسم التلميذ"):
        read_grade_sheet(path)


def test_header_without_assessments(tmp_path: Path) -> None:
    layout = GradeLayout(titles=False, tags={})
    with pytest.raises(FileFormatError, match="no assessment column"):
        read_grade_sheet(_file(tmp_path, [], layout))


def test_scale_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale"):
        read_grade_sheet(_file(tmp_path, []), scale=0)
