"""Errors raised while reading Massar files: their subtree of `protocol.errors.MassarError`.

    MassarFileError            massar_file_error       400
     ├── FileFormatError       bad_massar_file         400  -- not the expected Massar export
     └── FileProblems          massar_file_problems    400  -- some rows are invalid; lists every one

Third-party failures (xlrd, openpyxl, zipfile, OS errors) are wrapped into
FileFormatError where the workbook is opened. A bad row or cell is a
`domain.errors.RowError` (sheet, Excel row, column title, message), the same
type the CSV imports use. The whole project's tree is drawn in protocol/errors.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from domain.errors import RowError
from protocol.errors import MassarError


class MassarFileError(MassarError):
    """Root of every error raised by :mod:`syncclient.massarfiles`."""

    code = "massar_file_error"
    status = 400


class FileFormatError(MassarFileError):
    """The file is not the expected Massar export (unreadable, or a required
    title or sheet is missing). The message names what was missing."""

    code = "bad_massar_file"


class FileProblems(MassarFileError):
    """Some rows are invalid. ``problems`` lists all of them, so the user can
    fix the file in one pass rather than one error per run."""

    code = "massar_file_problems"

    def __init__(self, path: str, problems: Sequence[RowError]) -> None:
        self.path = path
        self.problems: list[RowError] = list(problems)
        # Located as Excel shows a cell (Sheet1!11 [column title]): the reader's users have the workbook open.
        lines = "\n".join(f"  {p.sheet}!{p.row} [{p.column}]: {p.message}" for p in self.problems)
        super().__init__(f"{path}: {len(self.problems)} problem(s)\n{lines}")
