"""Errors raised by the domain layer.

DomainError                 -- root; `code` is machine-readable
 ├── InvalidInput           -- a value breaks a rule (score out of scale, bad date...)
 │    └── FileRejected      -- a whole import file refused; carries every bad row
 ├── NotFound               -- unknown pupil, class, subject...
 ├── Conflict               -- the write contradicts existing data (e.g. duplicate code)
 └── NotAllowed             -- outside the caller's scope or role
"""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)


class InvalidInput(DomainError):
    code = "invalid_input"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class NotAllowed(DomainError):
    code = "not_allowed"


@dataclass(frozen=True)
class RowError:
    """One bad row of an import file; `row` is as a person counts it (header = 1)."""

    row: int
    message: str
    column: str | None = None

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class FileRejected(InvalidInput):
    code = "file_rejected"

    def __init__(self, message: str, rows: list[RowError]) -> None:
        super().__init__(message)
        self.rows = rows

    def __str__(self) -> str:
        head = super().__str__()
        return head + "".join(f"\n  {r}" for r in self.rows)
