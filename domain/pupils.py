"""Pupils, classes and enrolments of one school."""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from .codes import MASSAR_CODE, level_of_class, provisional_code
from .database import write_transaction
from .errors import Conflict, InvalidInput, NotFound
from .evaluation import rules_for
from .level_codes import nearest_codes
from .rows import upsert_dicts


@dataclass(frozen=True)
class Term:
    """The school and school year every write is made for."""

    school: str
    year: str


@dataclass(frozen=True)
class Enrolment:
    pupil: str
    school: str
    class_code: str
    level: str
    scale: int


def scale_of_level(db: sqlite_utils.Database, level: str) -> int:
    row = db.execute("SELECT scale FROM levels WHERE code = ?", [level]).fetchone()
    if not row:
        raise unknown_level(db, level)
    return int(row[0])


def unknown_level(db: sqlite_utils.Database, level: str) -> InvalidInput:
    """The error for a level code not in the levels table, naming the nearest known codes."""
    known = [r[0] for r in db.execute("SELECT code FROM levels").fetchall()]
    near = nearest_codes(level, known)
    hint = f"; nearest known: {', '.join(near)}" if near else ""
    return InvalidInput(f"unknown level {level!r}{hint}", code="unknown_level")


def enrolment_of(db: sqlite_utils.Database, term: Term, pupil: str) -> Enrolment:
    """Where the pupil is enrolled this year; only pupils of `term.school` are visible."""
    row = db.execute(
        "SELECT e.class, c.level, l.scale FROM enrolments e "
        "JOIN classes c ON c.school = e.school AND c.year = e.year AND c.code = e.class "
        "JOIN levels l ON l.code = c.level "
        "WHERE e.year = ? AND e.pupil = ? AND e.school = ?",
        [term.year, pupil, term.school],
    ).fetchone()
    if not row:
        known = db.execute("SELECT 1 FROM pupils WHERE code = ?", [pupil]).fetchone()
        if not known:
            raise NotFound(f"unknown pupil {pupil}", code="unknown_pupil")
        raise NotFound(f"pupil {pupil} is not enrolled at school {term.school} in {term.year}", code="not_enrolled")
    return Enrolment(pupil, term.school, row[0], row[1], int(row[2]))


def enrolments_by_pupil(db: sqlite_utils.Database, term: Term) -> dict[str, Enrolment]:
    rows = db.execute(
        "SELECT e.pupil, e.class, c.level, l.scale FROM enrolments e "
        "JOIN classes c ON c.school = e.school AND c.year = e.year AND c.code = e.class "
        "JOIN levels l ON l.code = c.level WHERE e.year = ? AND e.school = ?",
        [term.year, term.school],
    ).fetchall()
    return {r[0]: Enrolment(r[0], term.school, r[1], r[2], int(r[3])) for r in rows}


def ensure_class(db: sqlite_utils.Database, term: Term, class_code: str, level: str | None = None) -> str:
    class_code = class_code.strip().upper()
    level = (level or level_of_class(class_code)).strip().upper()
    scale_of_level(db, level)
    existing = db.execute(
        "SELECT level FROM classes WHERE school = ? AND year = ? AND code = ?", [term.school, term.year, class_code]
    ).fetchone()
    if existing and existing[0] != level:
        raise Conflict(f"class {class_code} is level {existing[0]}, not {level}", code="class_level_mismatch")
    if not existing:
        upsert_dicts(db, "classes", [{"school": term.school, "year": term.year, "code": class_code, "level": level}])
    return class_code


def register_pupil(
    db: sqlite_utils.Database,
    term: Term,
    *,
    class_code: str,
    last_name: str,
    first_name: str,
    gender: str,
    birth_date: str | None = None,
    birth_place: str | None = None,
    code: str | None = None,
    last_name_ar: str | None = None,
    first_name_ar: str | None = None,
) -> str:
    """Register and enrol a pupil; without a Massar code the pupil gets a provisional one."""
    if gender not in ("M", "F"):
        raise InvalidInput(f"gender must be M or F, not {gender!r}", code="bad_gender")
    if not last_name.strip() or not first_name.strip():
        raise InvalidInput("a pupil needs a last and a first name", code="missing_name")
    if code is not None and not MASSAR_CODE.match(code):
        # provisional codes are handed out here, never typed in
        raise InvalidInput(
            f"malformed Massar code {code!r}: one capital letter and nine digits, e.g. R130245678",
            code="bad_pupil_code",
        )
    with write_transaction(db):
        class_code = ensure_class(db, term, class_code)
        provisional = code is None
        if code is None:
            code = _next_provisional_code(db, term.school)
        other = db.execute("SELECT school FROM pupils WHERE code = ?", [code]).fetchone()
        if other and other[0] != term.school:
            raise Conflict(f"pupil {code} belongs to school {other[0]}", code="other_school")
        upsert_dicts(
            db,
            "pupils",
            [
                {
                    "code": code,
                    "school": term.school,
                    "last_name": last_name.strip(),
                    "first_name": first_name.strip(),
                    "last_name_ar": last_name_ar,
                    "first_name_ar": first_name_ar,
                    "gender": gender,
                    "birth_date": birth_date,
                    "birth_place": birth_place,
                    "provisional": int(provisional),
                }
            ],
        )
        upsert_dicts(db, "enrolments", [{"school": term.school, "year": term.year, "pupil": code, "class": class_code}])
    return code


def _next_provisional_code(db: sqlite_utils.Database, school: str) -> str:
    prefix = f"TMP-{school}-"
    row = db.execute(
        "SELECT MAX(CAST(substr(code, ?) AS INTEGER)) FROM pupils WHERE code LIKE ?", [len(prefix) + 1, prefix + "%"]
    ).fetchone()
    return provisional_code(school, (row[0] or 0) + 1)


# Every table that refers to a pupil by code, for replacing a provisional code.
PUPIL_TABLES = (
    "enrolments",
    "guardians",
    "grades",
    "absences",
    "incidents",
    "orientation_wishes",
    "orientation_decisions",
    "exam_results",
)


def assign_massar_code(db: sqlite_utils.Database, term: Term, provisional: str, code: str) -> None:
    """Replace a provisional code by the ministry's, keeping every record of the pupil."""
    if not MASSAR_CODE.match(code):
        raise InvalidInput(
            f"malformed Massar code {code!r}: one capital letter and nine digits, e.g. R130245678",
            code="bad_pupil_code",
        )
    with write_transaction(db):
        row = db.execute("SELECT school, provisional FROM pupils WHERE code = ?", [provisional]).fetchone()
        if not row or row[0] != term.school:
            raise NotFound(f"unknown pupil {provisional}", code="unknown_pupil")
        if not row[1]:
            raise Conflict(f"{provisional} already has its Massar code", code="not_provisional")
        if db.execute("SELECT 1 FROM pupils WHERE code = ?", [code]).fetchone():
            raise Conflict(f"code {code} is already used", code="duplicate_code")
        # Insert the new pupil row before repointing, so nothing ever refers to a missing pupil.
        cols = [c for c in db["pupils"].columns_dict if c not in ("code", "provisional")]
        db.conn.execute(
            f"INSERT INTO pupils (code, provisional, {', '.join(cols)}) "
            f"SELECT ?, 0, {', '.join(cols)} FROM pupils WHERE code = ?",
            [code, provisional],
        )
        for table in PUPIL_TABLES:
            db.conn.execute(f"UPDATE {table} SET pupil = ? WHERE pupil = ?", [code, provisional])
        db.conn.execute(
            "UPDATE accounts SET pupil = ?, login = ? WHERE pupil = ?", [code, f"{code}@taalim.ma", provisional]
        )
        db.conn.execute("DELETE FROM pupils WHERE code = ?", [provisional])


def subjects_of_level(db: sqlite_utils.Database, level: str, year: str) -> list[dict]:
    """The level's subjects in a school year, each with its evaluation rule."""
    names = {r[0]: r[1:] for r in db.execute("SELECT code, name_ar, name_fr, massar_code FROM subjects").fetchall()}
    out = []
    for code, rule in sorted(rules_for(db, year, level).items()):
        name_ar, name_fr, massar_code = names.get(code, (code, code, None))
        out.append({"code": code, "name_ar": name_ar, "name_fr": name_fr, "massar_code": massar_code, **rule.as_json()})
    return out


def pupil_names(db: sqlite_utils.Database, pupil: str) -> dict[str, str]:
    """The pupil's code and names in Latin and Arabic letters."""
    row = db.execute(
        "SELECT code, last_name, first_name, last_name_ar, first_name_ar FROM pupils WHERE code = ?", [pupil]
    ).fetchone()
    if not row:
        raise NotFound(f"unknown pupil {pupil}", code="unknown_pupil")
    return dict(zip(("code", "last_name", "first_name", "last_name_ar", "first_name_ar"), row, strict=True))


def create_class(db: sqlite_utils.Database, term: Term, class_code: str, level: str) -> str:
    """A new class of the year, deliberately: refused when it exists or its code names another level."""
    class_code = class_code.strip().upper()
    level = level.strip().upper()
    if level_of_class(class_code) != level:
        raise InvalidInput(f"class {class_code} is not of level {level}", code="level_of_code")
    with write_transaction(db):
        exists = db.execute(
            "SELECT 1 FROM classes WHERE school = ? AND year = ? AND code = ?", [term.school, term.year, class_code]
        ).fetchone()
        if exists:
            raise Conflict(f"class {class_code} already exists in {term.year}", code="class_exists")
        return ensure_class(db, term, class_code, level)


def levels(db: sqlite_utils.Database) -> list[dict]:
    rows = db.execute("SELECT code, cycle FROM levels ORDER BY ord").fetchall()
    return [{"code": r[0], "cycle": r[1]} for r in rows]
