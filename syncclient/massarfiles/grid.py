"""A worksheet as a plain rectangle of values, independent of xls/xlsx."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

CellValue = str | int | float | Decimal | bool | dt.datetime | dt.date | None


@dataclass
class Grid:
    """Cell values of one sheet, 0-based. ``datemode`` is Excel's epoch flag
    (0: 1900 system, 1: 1904 system), needed to decode serial dates."""

    name: str
    cells: list[list[CellValue]]
    right_to_left: bool = False
    datemode: int = 0
    hidden: bool = False
    hidden_rows: set[int] = field(default_factory=set)

    @property
    def nrows(self) -> int:
        return len(self.cells)

    @cached_property
    def ncols(self) -> int:
        # Computed once: label searches ask for it in every row (quadratic on a long sheet otherwise).
        return max((len(row) for row in self.cells), default=0)

    def value(self, row: int, col: int) -> CellValue:
        if 0 <= row < len(self.cells) and 0 <= col < len(self.cells[row]):
            return self.cells[row][col]
        return None

    def text(self, row: int, col: int) -> str:
        """The cell as stripped text; '' for empty cells. Whole floats lose
        their '.0' because xls stores every number as a float."""
        return cell_text(self.value(row, col))

    def row_is_blank(self, row: int) -> bool:
        return all(cell_text(v) == "" for v in self.cells[row]) if row < self.nrows else True

    def is_blank(self) -> bool:
        return all(self.row_is_blank(r) for r in range(self.nrows))


def cell_text(value: CellValue) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
