"""Comparing two .xlsx workbooks cell for cell, as Massar would see them."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.worksheet.worksheet import Worksheet

FIXTURES = Path("/work/shared/fixtures/massar")
GRADE_SHEET = FIXTURES / "export_notesCC_1APIC-1_0030.xlsx"
CLASS_LIST = FIXTURES / "ListEleve_sample.xls"


def load(path: Path) -> openpyxl.Workbook:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return openpyxl.load_workbook(path)


def values(ws: Worksheet) -> dict[str, Any]:
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}


def unlocked(ws: Worksheet, rows: range) -> set[str]:
    return {
        c.coordinate
        for row in ws.iter_rows(min_row=rows.start, max_row=rows.stop - 1)
        for c in row
        if not c.protection.locked
    }


def layout(ws: Worksheet) -> dict[str, Any]:
    """Everything but cell values that Massar's upload depends on."""
    return {
        "title": ws.title,
        "state": ws.sheet_state,
        "rtl": bool(ws.sheet_view.rightToLeft),
        "protected": bool(ws.protection.sheet),
        "merged": sorted(str(r) for r in ws.merged_cells.ranges),
        "hidden_rows": sorted(r for r, d in ws.row_dimensions.items() if d.hidden),
        "hidden_cols": sorted(k for k, d in ws.column_dimensions.items() if d.hidden),
        "decimal_validations": sorted(
            (str(v.sqref), v.formula1, v.formula2) for v in ws.data_validations.dataValidation if v.type == "decimal"
        ),
    }


def differences(expected: Path, actual: Path, *, pupil_rows: range) -> list[str]:
    """Every cell value, sheet and layout property that differs; [] when the same."""
    a, b = load(expected), load(actual)
    out: list[str] = []
    if a.sheetnames != b.sheetnames:
        return [f"sheets {a.sheetnames} != {b.sheetnames}"]
    for name in a.sheetnames:
        wa, wb = a[name], b[name]
        va, vb = values(wa), values(wb)
        for coord in sorted(set(va) | set(vb)):
            if va.get(coord) != vb.get(coord):
                out.append(f"{name}!{coord}: {va.get(coord)!r} != {vb.get(coord)!r}")
        la, lb = layout(wa), layout(wb)
        out += [f"{name} {k}: {la[k]!r} != {lb[k]!r}" for k in la if la[k] != lb[k]]
        if unlocked(wa, pupil_rows) != unlocked(wb, pupil_rows):
            out.append(f"{name}: unlocked cells differ")
    return out
