"""Writing a user's text into a cell without Excel taking it for a formula."""

from __future__ import annotations

from openpyxl.cell.cell import Cell

# Excel (and LibreOffice) start a formula with any of these.
FORMULA_STARTS = ("=", "+", "-", "@")


def write_text(cell: Cell, text: str | None) -> None:
    """Put ``text`` in ``cell`` as a string, never a formula: a name or remark
    such as `=HYPERLINK(...)` or `-bien` stays the text the user typed."""
    cell.value = text
    if text is not None and text.startswith(FORMULA_STARTS):
        cell.data_type = "s"
        cell.quotePrefix = True
