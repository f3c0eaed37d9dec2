from __future__ import annotations

import dataclasses
import string
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncclient.massarfiles import GradeCell, GradeSheet, GradeSheetRow, read_grade_sheet, write_grade_sheet
from syncclient.massarfiles.gradesheet import DEFAULT_ASSESSMENTS


def _sheet(rows: list[GradeSheetRow], **changes: object) -> GradeSheet:
    sheet = GradeSheet(
        school_name="إعدادية ابن خلدون",
        school_code="04512S",
        academy="جهة الرباط سلا القنيطرة",
        directorate="سلا",
        level="الأولى إعدادي",
        class_code="1APIC-1",
        teacher="أستاذ تجريبي",
        semester=2,
        subject_name="المعلوميات",
        massar_subject_code="0030",
        year="2023/2024",
        rows=rows,
        massar_guid="3f2504e0-4f89-11d3-9a0c-0305e82c3301",
    )
    return dataclasses.replace(sheet, **changes)  # type: ignore[arg-type]


ROWS = [
    GradeSheetRow(
        18,
        "A123456789",
        "محمد العلوي",
        "2011-02-03",
        {1: GradeCell(Decimal("12.25")), 2: GradeCell(None, True, True), 3: GradeCell(None, True, False)},
        "مجتهد",
        "101",
    ),
    GradeSheetRow(19, "B123456789", "مريم بنعلي", None, {}, None, None),
]


def test_layout_matches_the_export(tmp_path: Path) -> None:
    path = tmp_path / "export_notesCC_1APIC-1_0030.xlsx"
    write_grade_sheet(path, _sheet(ROWS))
    ws = openpyxl.load_workbook(path)["NotesCC"]
    assert ws.sheet_view.rightToLeft
    assert ws.protection.sheet
    assert ws.row_dimensions[5].hidden
    assert ws.column_dimensions["A"].hidden
    assert [ws["A5"].value, ws["D5"].value] == ["04512S", "#0030#"]
    assert [ws[c].value for c in ("L7", "O7", "C11", "D11", "C13", "D13")] == [
        "مؤسسة",
        "إعدادية ابن خلدون",
        "الدورة",
        "الدورة الثانية",
        "السنة الدراسية",
        "2023/2024",
    ]
    assert [ws.cell(15, c).value for c in range(5, 14)] == ["#1#", None, "#2#", None, "#3#", None, "#4#", None, "#100#"]
    assert [ws.cell(16, c).value for c in (2, 3, 4, 5, 7, 9, 11, 13)] == [
        "رقم التلميذ",
        "إسم التلميذ",
        "تاريخ الإزدياد",
        "الفرض الأول",
        "الفرض الثاني",
        "الفرض الثالث",
        "الأنشطة المندمجة",
        "ملاحظات الأستاذ",
    ]
    assert [ws.cell(17, c).value for c in (5, 6)] == ["النقطة", "التغيب"]
    assert [ws.cell(18, c).value for c in range(1, 11)] == [
        101,
        "A123456789",
        "محمد العلوي",
        "03-02-2011",
        12.25,
        None,
        None,
        "مبرر",
        None,
        "غير مبرر",
    ]
    assert not ws["E18"].protection.locked
    assert ws["B18"].protection.locked
    (validation,) = ws.data_validations.dataValidation
    assert (validation.type, validation.operator, validation.formula1, validation.formula2) == (
        "decimal",
        "between",
        "0",
        "20",
    )
    assert "E18:E19" in str(validation.sqref)


def test_four_tests_get_their_own_tag(tmp_path: Path) -> None:
    path = tmp_path / "g.xlsx"
    sheet = _sheet([dataclasses.replace(ROWS[0], marks={4: GradeCell(Decimal(9))})], assessments=(1, 2, 3, 4, 5))
    write_grade_sheet(path, sheet, scale=20)
    ws = openpyxl.load_workbook(path)["NotesCC"]
    assert [ws.cell(15, c).value for c in (5, 7, 9, 11, 13, 15)] == ["#1#", "#2#", "#3#", "#5#", "#4#", "#100#"]
    assert read_grade_sheet(path) == sheet


def test_undeclared_assessment_is_refused(tmp_path: Path) -> None:
    sheet = _sheet([dataclasses.replace(ROWS[0], marks={4: GradeCell(Decimal(9))})])
    with pytest.raises(ValueError, match="undeclared"):
        write_grade_sheet(tmp_path / "g.xlsx", sheet)


# Marks in quarter points, as teachers enter them, plus any two-decimal value.
def _scores(scale: int) -> st.SearchStrategy[Decimal]:
    return st.integers(0, scale * 100).map(lambda n: Decimal(n) / 100)


def _cells(scale: int) -> st.SearchStrategy[GradeCell]:
    return st.one_of(
        _scores(scale).map(GradeCell),
        st.booleans().map(lambda justified: GradeCell(None, True, justified)),
    )


_TEXT = (
    st.text(alphabet="ابتثجحخدرزسشصضطظعغفقكلمنهويءة " + string.ascii_letters, min_size=1, max_size=20)
    .map(str.strip)
    .filter(bool)
)
_CODES = st.from_regex(r"[A-Z][0-9]{9}", fullmatch=True)


@st.composite
def _grade_sheets(draw: st.DrawFn) -> tuple[GradeSheet, int]:
    scale = draw(st.sampled_from([10, 20]))
    assessments = draw(st.sampled_from([DEFAULT_ASSESSMENTS, (1, 2), (1, 2, 3, 4, 5)]))
    codes = draw(st.lists(_CODES, max_size=8, unique=True))
    rows = [
        GradeSheetRow(
            row=18 + i,
            code=code,
            name=draw(_TEXT),
            birth_date=draw(st.none() | st.dates().filter(lambda d: 1990 <= d.year <= 2020).map(str)),
            marks=draw(st.dictionaries(st.sampled_from(assessments), _cells(scale))),
            remark=draw(st.none() | _TEXT),
            massar_id=draw(st.none() | st.integers(1, 10**9).map(str)),
        )
        for i, code in enumerate(codes)
    ]
    sheet = _sheet(
        rows,
        assessments=assessments,
        semester=draw(st.sampled_from([1, 2])),
        teacher=draw(st.none() | _TEXT.map(lambda t: "ذ. " + t)),
        massar_subject_code=draw(st.none() | st.from_regex(r"[0-9]{4}", fullmatch=True)),
    )
    return sheet, scale


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_grade_sheets())
def test_round_trip(tmp_path: Path, case: tuple[GradeSheet, int]) -> None:
    sheet, scale = case
    path = tmp_path / "round.xlsx"
    write_grade_sheet(path, sheet, scale=scale)
    assert read_grade_sheet(path, scale=scale) == sheet
