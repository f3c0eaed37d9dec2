"""Plain data read from (and written to) Massar's class list export."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Gender = Literal["M", "F"]


@dataclass(frozen=True)
class ClassListPupil:
    row: int  # Excel row number (1-based) the pupil was read from
    code: str
    last_name: str
    first_name: str
    gender: Gender
    birth_date: str | None  # ISO yyyy-mm-dd
    birth_place: str | None


@dataclass(frozen=True)
class ClassSheet:
    sheet_name: str
    year: str | None  # e.g. '2023/2024'
    academy: str | None
    directorate: str | None
    school: str | None
    commune: str | None
    level: str | None
    class_code: str | None  # e.g. '1APIC-1'
    pupils: list[ClassListPupil] = field(default_factory=list)


@dataclass(frozen=True)
class ClassList:
    sheets: list[ClassSheet] = field(default_factory=list)
