"""Writing one cell of an exported workbook: text stays text.

openpyxl turns any string starting with "=" into a formula: a remark such as
`=HYPERLINK("http://…"&B7, "…")` or a name typed as `=…` would run when a
teacher opens the sheet (formula injection). Every string is written as a
string cell, and the control characters XML cannot hold (a stray BEL typed
into a name) are dropped rather than making the whole export fail.
"""

from __future__ import annotations

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell

from .grid import CellValue


def set_value(cell: Cell, value: CellValue) -> Cell:
    if isinstance(value, str):
        cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.data_type = "s"  # after the assignment, which would have made "=…" a formula
    else:
        cell.value = value
    return cell
