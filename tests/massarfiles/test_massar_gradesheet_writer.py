from __future__ import annotations

import dataclasses
import datetime as dt
import string
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncclient.massarfiles import GradeCell, GradeSheet, GradeSheetRow, read_grade_sheet, write_grade_sheet
from syncclient.massarfiles.gradesheet import DEFAULT_ASSESSMENTS
from tests.support.workbooks import GRADE_SHEET, differences, load


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


def test_written_sheet_is_the_export_cell_for_cell(tmp_path: Path) -> None:
    # Read Massar's export, write it back from the data alone: every value, merged
    # cell, hidden row and column, validation, protection and unlocked cell as issued.
    path = tmp_path / "written.xlsx"
    write_grade_sheet(path, read_grade_sheet(GRADE_SHEET))
    assert differences(GRADE_SHEET, path, pupil_rows=range(1, 205)) == []
    book = load(path)
    assert book["Data"].sheet_state == "hidden" and book.security is not None and book.security.lockStructure
    # the absence cells take Massar's list (blank or مبرر) from the hidden Data sheet
    (listed,) = [v for v in book["NotesCC"].data_validations.dataValidation if v.type == "list"]
    assert listed.formula1 == "Data!$A$1:$A$2" and "H18:H49" in str(listed.sqref)


def test_absences_go_back_as_massar_allows_them(tmp_path: Path) -> None:
    path = tmp_path / "g.xlsx"
    write_grade_sheet(path, _sheet(ROWS))
    ws = openpyxl.load_workbook(path)["NotesCC"]
    # test 1: 12.25; test 2 justified absence; test 3 unjustified absence -> 0, which is how it counts
    assert [ws[c].value for c in ("G18", "H18", "I18", "J18", "K18", "L18")] == [12.25, None, None, "مبرر", 0, None]
    assert ws["O18"].value == "مجتهد" and ws["B18"].value == 101 and ws["F18"].value == "03-02-2011"


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x")', "+212600000000", "-bien", "@SUM(A1)"])
def test_text_that_looks_like_a_formula_stays_text(tmp_path: Path, text: str) -> None:
    path = tmp_path / "g.xlsx"
    row = dataclasses.replace(ROWS[0], name=text, remark=text)
    write_grade_sheet(path, _sheet([row]))
    ws = openpyxl.load_workbook(path)["NotesCC"]
    for cell in (ws["D18"], ws["O18"]):
        assert (cell.value, cell.data_type) == (text, "s")
    assert read_grade_sheet(path).rows[0].remark == text


def test_four_tests_come_before_the_activities(tmp_path: Path) -> None:
    path = tmp_path / "g.xlsx"
    sheet = _sheet([dataclasses.replace(ROWS[0], marks={4: GradeCell(Decimal(9))})], assessments=(1, 2, 3, 4, 5))
    write_grade_sheet(path, sheet, scale=20)
    ws = openpyxl.load_workbook(path)["NotesCC"]
    assert [ws.cell(15, c).value for c in (7, 9, 11, 13, 15, 17)] == ["#1#", "#2#", "#3#", "#4#", "#5#", "#100#"]
    assert [ws.cell(16, c).value for c in (13, 15)] == ["الفرض الرابع", "الأنشطة المندمجة"]
    assert read_grade_sheet(path) == _as_read_back(sheet)


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
    assert read_grade_sheet(path, scale=scale) == _as_read_back(sheet)


def _as_read_back(sheet: GradeSheet) -> GradeSheet:
    """What reading a written sheet gives: an unjustified absence went as 0, the
    birth date as Massar's text, the technical row's I5 as the export's 0."""

    def row(r: GradeSheetRow) -> GradeSheetRow:
        marks = {k: GradeCell(Decimal(0)) if c.absent and not c.justified else c for k, c in r.marks.items()}
        born = dt.date.fromisoformat(r.birth_date).strftime("%d-%m-%Y") if r.birth_date else None
        return dataclasses.replace(r, marks=marks, birth_text=born)

    return dataclasses.replace(sheet, rows=[row(r) for r in sheet.rows], technical={"I": 0})
