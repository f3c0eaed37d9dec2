"""Publishing national data (levels, subjects, evaluation rules, exam calendar,
guidance notes) from a JSON file.

Shape: an object with any of these keys, each a list of rows with exactly
the table's columns (see README, "Publishing"):
  levels, subjects, evaluation_rules, exam_calendar, guidance_notes, orientation_rounds
A changed evaluation rule reaches the nodes on their next sync, and every
average is computed from the rules when it is read: nothing to recompute.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import sqlite_utils

from domain.codes import check_school_year, parse_date
from domain.database import write_transaction
from domain.errors import FileRejected, InvalidInput, RowError
from domain.evaluation import check_rule_row
from domain.pupils import unknown_level
from domain.rows import as_tuple, upsert_rows
from protocol.tables import BY_NAME
from protocol.values import row_problems

PUBLISHABLE = ("levels", "subjects", "evaluation_rules", "exam_calendar", "guidance_notes", "orientation_rounds")
_DATES = {
    "exam_calendar": ("starts_on", "ends_on"),
    "guidance_notes": ("published_on",),
    "orientation_rounds": ("opens_on", "closes_on"),
}
# National data is a few thousand rows; a bigger file is a mistake or an attack, refused before parsing.
MAX_FILE_BYTES = 16 * 1024 * 1024


def _load(path: Path) -> object:
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise InvalidInput(f"no such file: {path}", code="no_file") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", code="no_file") from None
    if len(raw) > MAX_FILE_BYTES:
        raise InvalidInput(f"{path.name} is over {MAX_FILE_BYTES // 2**20} MiB: not a publication", code="bad_json")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{path.name} is not UTF-8 JSON: {exc}", code="bad_json") from None
    except RecursionError:
        raise InvalidInput(f"{path.name} is nested too deeply to be a publication", code="bad_json") from None


def _named(table: str, row: dict) -> str:
    return f"{table} ({', '.join(str(row.get(k))[:40] for k in BY_NAME[table].key)})"


def _known(db: sqlite_utils.Database, data: dict, table: str) -> set[str]:
    """Codes in the table, or published in the same file."""
    codes = {r[0] for r in db.execute(f"SELECT code FROM {table}").fetchall()}
    return codes | {str(r.get("code")) for r in data.get(table) or [] if isinstance(r, dict)}


def _check_rule(db: sqlite_utils.Database, data: dict, row: dict) -> dict:
    check_school_year(str(row["since"]))
    if row["level"] not in _known(db, data, "levels"):
        raise unknown_level(db, str(row["level"]))
    if row["subject"] not in _known(db, data, "subjects"):
        raise InvalidInput(f"unknown subject {row['subject']!r}", code="unknown_subject")
    return check_rule_row(row)


def _check_level(db: sqlite_utils.Database, data: dict, row: dict) -> dict:
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


def publish_file(db: sqlite_utils.Database, path: Path) -> dict[str, int]:
    data = _load(path)
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
            unknown, missing = set(row) - cols, [k for k in BY_NAME[table].key if row.get(k) in (None, "")]
            if unknown:
                errors.append(RowError(i, f"{table}: unknown field(s) {', '.join(sorted(map(str, unknown)))}"))
            if missing:
                errors.append(RowError(i, f"{table}: missing {', '.join(missing)}"))
            for field in _DATES.get(table, ()):
                try:
                    parse_date(str(row.get(field, "")), field=field, allow_future=True)
                except InvalidInput as exc:
                    errors.append(RowError(i, f"{_named(table, row)}: {exc}"))
            if not unknown and not missing and table in _CHECKS:
                try:
                    rows[i - 1] = row = _CHECKS[table](db, data, row)
                except (InvalidInput, TypeError, ValueError) as exc:
                    errors.append(RowError(i, f"{_named(table, row)}: {exc}"))
                    continue
            # The same checks the wire makes: a row that cannot travel would stop every node's sync.
            errors.extend(
                RowError(i, f"{_named(table, row)}: {problem}")
                for problem in row_problems(BY_NAME[table], as_tuple(table, row))
            )
    if errors:
        raise FileRejected(f"{len(errors)} problem(s) in {path.name}; nothing was published", errors)
    counts = {}
    with write_transaction(db):
        # levels and subjects first: rules refer to them
        for table, rows in sorted(data.items(), key=lambda item: PUBLISHABLE.index(item[0])):
            for i, row in enumerate(rows, start=1):
                try:
                    upsert_rows(db, table, [as_tuple(table, row)])
                except sqlite3.IntegrityError as exc:
                    errors.append(RowError(i, f"{_named(table, row)}: breaks the schema ({exc})"))
            counts[table] = len(rows)
        if errors:
            # Raised inside the transaction: every row rolls back.
            raise FileRejected(f"{len(errors)} problem(s) in {path.name}; nothing was published", errors)
    return counts
