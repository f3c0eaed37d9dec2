"""Writing a user's text into a cell without Excel taking it for a formula.

openpyxl turns any string starting with "=" into a formula: a remark such as
`=HYPERLINK("http://…"&B7, "…")` or a name typed as `=…` would run when a
teacher opens the sheet (formula injection). Every string is written as a
string cell; the control characters XML cannot hold (a stray BEL typed into a
name) are dropped rather than making the whole export fail.
"""

from __future__ import annotations

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell

# Excel (and LibreOffice) start a formula with any of these.
FORMULA_STARTS = ("=", "+", "-", "@")


def write_text(cell: Cell, text: object) -> None:
    """Put ``text`` in ``cell``; a string always as a string, never a formula: a name or remark
    such as `=HYPERLINK(...)` or `-bien` stays the text the user typed. Other values as they are."""
    if not isinstance(text, str):
        cell.value = text
        return
    cell.value = ILLEGAL_CHARACTERS_RE.sub("", text)
    cell.data_type = "s"  # after the assignment, which made "=…" a formula
    if text.startswith(FORMULA_STARTS):
        cell.quotePrefix = True
