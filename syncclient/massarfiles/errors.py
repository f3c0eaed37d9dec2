"""Errors raised while reading Massar files.

Everything derives from :class:`MassarFileError` so a command-line caller can
catch one type and print a message instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class MassarFileError(Exception):
    """Root of every error raised by :mod:`syncclient.massarfiles`."""


class FileFormatError(MassarFileError):
    """The file is not the expected Massar export (unreadable, or a required
    title or sheet is missing). The message names what was missing."""


@dataclass(frozen=True)
class RowProblem:
    """One bad cell or row, located the way Excel shows it to the user."""

    sheet: str
    row: int  # 1-based, as in Excel's row headers
    column: str  # the column's title (e.g. 'الفرض الثاني'), or a letter when untitled
    message: str

    def __str__(self) -> str:
        return f"{self.sheet}!{self.row} [{self.column}]: {self.message}"


class FileProblems(MassarFileError):
    """Some rows are invalid. ``problems`` lists all of them, so the user can
    fix the file in one pass rather than one error per run."""

    def __init__(self, path: str, problems: Sequence[RowProblem]) -> None:
        self.path = path
        self.problems: list[RowProblem] = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{path}: {len(self.problems)} problem(s)\n{lines}")
