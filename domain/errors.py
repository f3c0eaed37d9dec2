"""Errors raised by the domain layer: its subtree of `protocol.errors.MassarError`.

    DomainError                 domain_error      400  -- a school rule refuses the request
     ├── InvalidInput           invalid_input     400  -- a value breaks a rule (score out of scale, bad date...)
     │    └── FileRejected      file_rejected     400  -- a whole import file refused; carries every bad row
     ├── NotFound               not_found         404  -- unknown pupil, class, subject...
     ├── Conflict               conflict          409  -- the write contradicts existing data (e.g. duplicate code)
     ├── NotAllowed             not_allowed       403  -- outside the caller's scope or role
     └── NotInitialised         not_initialised   409  -- the data folder holds no node or server database yet

The whole project's tree is drawn in protocol/errors.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from protocol.errors import MassarError


class DomainError(MassarError):
    code = "domain_error"
    status = 400


class InvalidInput(DomainError):
    code = "invalid_input"
    status = 400


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


class NotAllowed(DomainError):
    code = "not_allowed"
    status = 403


class NotInitialised(DomainError):
    code = "not_initialised"
    status = 409


@dataclass(frozen=True)
class RowError:
    """One bad row of an import file (CSV, JSON or a Massar workbook), located as a person sees it.

    `row` counts as a person does (a CSV's header is row 1, an Excel row as in
    Excel's row headers); `column` is the column's title when there is one;
    `sheet` names the workbook sheet when the file has several.
    """

    row: int
    message: str
    column: str | None = None
    sheet: str | None = None

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: " + (f"[{self.sheet}] " if self.sheet else "") + self.message


class FileRejected(InvalidInput):
    code = "file_rejected"

    def __init__(self, message: str, rows: Sequence[RowError]) -> None:
        super().__init__(message)
        self.rows = list(rows)

    def __str__(self) -> str:
        head = super().__str__()
        return head + "".join(f"\n  {r}" for r in self.rows)
