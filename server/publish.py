"""Publishing national data (levels, subjects, evaluation rules, exam calendar,
guidance notes) from a JSON file.

Shape: an object with any of these keys, each a list of rows with exactly
the table's columns (see README, "Publishing"):
  levels, subjects, evaluation_rules, exam_calendar, guidance_notes
A changed evaluation rule reaches the nodes on their next sync, and every
average is computed from the rules when it is read: nothing to recompute.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from domain.codes import check_school_year, parse_date
from domain.database import write_transaction
from domain.errors import FileRejected, InvalidInput, RowError
from domain.evaluation import check_rule_row
from domain.pupils import unknown_level
from domain.rows import upsert_dicts
from protocol.tables import BY_NAME

if TYPE_CHECKING:
    from .backend import CentralStore

PUBLISHABLE = ("levels", "subjects", "evaluation_rules", "exam_calendar", "guidance_notes")
_DATES = {"exam_calendar": ("starts_on", "ends_on"), "guidance_notes": ("published_on",)}


def _known(db: Any, data: dict, table: str) -> set[str]:
    """Codes in the table, or published in the same file."""
    codes = {r[0] for r in db.execute(f"SELECT code FROM {table}").fetchall()}
    return codes | {str(r.get("code")) for r in data.get(table) or [] if isinstance(r, dict)}


def _check_rule(db: Any, data: dict, row: dict) -> dict:
    check_school_year(str(row["since"]))
    if row["level"] not in _known(db, data, "levels"):
        raise unknown_level(db, str(row["level"]))
    if row["subject"] not in _known(db, data, "subjects"):
        raise InvalidInput(f"unknown subject {row['subject']!r}", code="unknown_subject")
    return check_rule_row(row)


def _check_level(db: Any, data: dict, row: dict) -> dict:
    scales = {"primary": (10, 6), "college": (20, 3), "lycee": (20, 3)}
    cycle = row.get("cycle")
    if cycle not in scales:
        raise InvalidInput(f"cycle must be one of {', '.join(scales)}, not {cycle!r}", code="bad_level")
    scale, years = scales[str(cycle)]
    if row.get("scale") != scale:
        raise InvalidInput(f"a {cycle} level is marked out of {scale}, not {row.get('scale')!r}", code="bad_level")
    if not isinstance(row.get("year"), int) or not 1 <= row["year"] <= years:
        raise InvalidInput(f"year of a {cycle} level must be 1..{years}, not {row.get('year')!r}", code="bad_level")
    code = str(row["code"])
    if code != code.upper() or not code.isalnum():
        raise InvalidInput(f"level code {code!r} must be capital letters and digits", code="bad_level")
    offset = {"primary": 0, "college": 6, "lycee": 9}[str(cycle)]
    return {**row, "ord": row.get("ord") or offset + row["year"]}


_CHECKS = {"evaluation_rules": _check_rule, "levels": _check_level}


def publish_file(store: CentralStore | sqlite_utils.Database, path: Path) -> dict[str, int]:
    """Check the whole file, then publish it in one transaction (national rows get versions)."""
    if isinstance(store, sqlite_utils.Database):
        return write_publication(store, read_publication(store, path))
    with store.reader() as db:
        data = read_publication(db, path)
    return store.publish(data)


def read_publication(db: Any, path: Path) -> dict[str, list[dict[str, Any]]]:
    """The file's rows, checked against the centre's levels and subjects (`db`: the domain's read
    interface on either backend); FileRejected lists every problem and nothing is written."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"no such file: {path}", code="no_file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{path.name} is not UTF-8 JSON: {exc}", code="bad_json") from exc
    if not isinstance(data, dict) or not data:
        raise InvalidInput("the file must be a JSON object with lists under " + ", ".join(PUBLISHABLE), code="bad_json")
    errors: list[RowError] = []
    for table, rows in data.items():
        if table not in PUBLISHABLE:
            errors.append(RowError(0, f"{table!r} cannot be published (only {', '.join(PUBLISHABLE)})"))
            continue
        if not isinstance(rows, list):
            errors.append(RowError(0, f"{table} must be a list"))
            continue
        cols = set(BY_NAME[table].column_names)
        for i, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                errors.append(RowError(i, f"{table}: each entry must be an object"))
                continue
            unknown, missing = set(row) - cols, [k for k in BY_NAME[table].key if not row.get(k)]
            if unknown:
                errors.append(RowError(i, f"{table}: unknown field(s) {', '.join(sorted(unknown))}"))
            if missing:
                errors.append(RowError(i, f"{table}: missing {', '.join(missing)}"))
            for field in _DATES.get(table, ()):
                try:
                    parse_date(str(row.get(field, "")), field=field, allow_future=True)
                except InvalidInput as exc:
                    errors.append(RowError(i, f"{table}: {exc}"))
            if not unknown and not missing and table in _CHECKS:
                try:
                    rows[i - 1] = _CHECKS[table](db, data, row)
                except InvalidInput as exc:
                    errors.append(RowError(i, f"{table}: {exc}"))
    if errors:
        raise FileRejected(f"{len(errors)} problem(s) in {path.name}; nothing was published", errors)
    # levels and subjects first: rules refer to them
    return dict(sorted(data.items(), key=lambda item: PUBLISHABLE.index(item[0])))


def write_publication(db: sqlite_utils.Database, data: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    counts = {}
    try:
        with write_transaction(db):
            for table, rows in data.items():
                upsert_dicts(db, table, rows)
                counts[table] = len(rows)
    except sqlite3.IntegrityError as exc:
        raise InvalidInput(f"a row breaks the schema ({exc}); nothing was published", code="invalid_row") from exc
    return counts
