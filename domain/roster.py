"""Roster import: a CSV of pupils, or Massar's own class-list export, all or nothing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from .codes import MASSAR_CODE, level_of_class, parse_date
from .csvfiles import read_csv
from .database import write_transaction
from .errors import FileRejected, InvalidInput, RowError
from .pupils import Term, scale_of_level
from .rows import upsert_dicts

ROSTER_CSV_HEADER = ("code", "last_name", "first_name", "gender", "birth_date", "birth_place", "level", "class")


@dataclass(frozen=True)
class RosterRow:
    line: int
    code: str
    last_name: str
    first_name: str
    gender: str
    birth_date: str | None
    birth_place: str | None
    level: str
    class_code: str


def _is_arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text)


def roster_from_csv(path: str | Path) -> list[RosterRow]:
    rows, errors = _parse_roster_csv(path)
    if errors:
        raise FileRejected(f"{len(errors)} bad row(s) in {Path(path).name}; nothing was imported", errors)
    return rows


def _parse_roster_csv(path: str | Path) -> tuple[list[RosterRow], list[RowError]]:
    rows, errors = [], []
    for line, r in read_csv(path, ROSTER_CSV_HEADER):
        try:
            rows.append(_roster_row(line, r))
        except InvalidInput as exc:
            errors.append(RowError(line, str(exc)))
    return rows, errors


def import_roster_csv(db: sqlite_utils.Database, term: Term, path: str | Path) -> dict[str, Any]:
    """Parse and check a roster CSV, reporting every bad row at once (file and database checks
    alike); apply it only when no row is bad."""
    rows, errors = _parse_roster_csv(path)
    errors += check_roster(db, term, rows)
    if errors:
        raise FileRejected(
            f"{len(errors)} bad row(s) in {Path(path).name}; nothing was imported", sorted(errors, key=lambda e: e.row)
        )
    return apply_roster(db, term, rows)


def _roster_row(line: int, r: dict) -> RosterRow:
    if "__extra__" in r:
        raise InvalidInput("too many columns")
    code = r["code"].strip().upper()
    if not MASSAR_CODE.match(code):
        raise InvalidInput(f"malformed Massar code {code!r}")
    gender = r["gender"].strip().upper()
    if gender not in ("M", "F"):
        raise InvalidInput(f"gender must be M or F, not {r['gender']!r}")
    if not r["last_name"].strip() or not r["first_name"].strip():
        raise InvalidInput("last_name and first_name are required")
    birth = r["birth_date"].strip()
    if birth:
        parse_date(birth, field="birth_date")
    class_code = r["class"].strip().upper()
    level = (r["level"].strip().upper()) or level_of_class(class_code)
    if level_of_class(class_code) != level:
        raise InvalidInput(f"class {class_code} is not of level {level}")
    return RosterRow(
        line,
        code,
        r["last_name"].strip(),
        r["first_name"].strip(),
        gender,
        birth or None,
        r["birth_place"].strip() or None,
        level,
        class_code,
    )


def check_roster(db: sqlite_utils.Database, term: Term, rows: Iterable[RosterRow]) -> list[RowError]:
    """Every error of well-formed rows: duplicates in the file, unknown levels, pupils of other schools."""
    rows = list(rows)
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    levels: dict[str, str] = {}
    for row in rows:
        if row.code in seen:
            errors.append(RowError(row.line, f"{row.code} already appears on row {seen[row.code]}"))
        seen[row.code] = row.line
        try:
            scale_of_level(db, row.level)
        except InvalidInput as exc:
            errors.append(RowError(row.line, str(exc)))
        if levels.setdefault(row.class_code, row.level) != row.level:
            errors.append(RowError(row.line, f"class {row.class_code} appears with two levels"))
    owners = (
        dict(
            db.execute(
                f"SELECT code, school FROM pupils WHERE code IN ({','.join('?' for _ in seen)})", list(seen)
            ).fetchall()
        )
        if seen
        else {}
    )
    for row in rows:
        owner = owners.get(row.code)
        if owner and owner != term.school:
            errors.append(RowError(row.line, f"{row.code} is registered at another school ({owner})"))
    existing = dict(
        db.execute("SELECT code, level FROM classes WHERE school = ? AND year = ?", [term.school, term.year]).fetchall()
    )
    for row in rows:
        if row.class_code in existing and existing[row.class_code] != row.level:
            errors.append(RowError(row.line, f"class {row.class_code} exists with level {existing[row.class_code]}"))
    return errors


def apply_roster(db: sqlite_utils.Database, term: Term, rows: Iterable[RosterRow]) -> dict[str, Any]:
    """Check every row against the database, then write all of them in one transaction.

    A pupil already enrolled this year in another class is moved to the file's
    class (the class list is the newer word); each move is listed under `moved`."""
    rows = list(rows)
    errors = check_roster(db, term, rows)
    if errors:
        raise FileRejected(f"{len(errors)} bad row(s); nothing was imported", sorted(errors, key=lambda e: e.row))
    levels: dict[str, str] = {}
    for row in rows:
        levels.setdefault(row.class_code, row.level)
    current = dict(
        db.execute(
            "SELECT pupil, class FROM enrolments WHERE school = ? AND year = ?", [term.school, term.year]
        ).fetchall()
    )
    moved = [
        {"student": r.code, "from": current[r.code], "to": r.class_code, "row": r.line}
        for r in rows
        if r.code in current and current[r.code] != r.class_code
    ]
    with write_transaction(db):
        upsert_dicts(
            db,
            "classes",
            ({"school": term.school, "year": term.year, "code": c, "level": lv} for c, lv in levels.items()),
        )
        upsert_dicts(
            db,
            "pupils",
            (
                {
                    "code": r.code,
                    "school": term.school,
                    "last_name": r.last_name,
                    "first_name": r.first_name,
                    "last_name_ar": r.last_name if _is_arabic(r.last_name) else None,
                    "first_name_ar": r.first_name if _is_arabic(r.first_name) else None,
                    "gender": r.gender,
                    "birth_date": r.birth_date,
                    "birth_place": r.birth_place,
                    "provisional": 0,
                }
                for r in rows
            ),
        )
        upsert_dicts(
            db,
            "enrolments",
            ({"school": term.school, "year": term.year, "pupil": r.code, "class": r.class_code} for r in rows),
        )
    return {"pupils": len(rows), "classes": len(levels), "moved": moved}
