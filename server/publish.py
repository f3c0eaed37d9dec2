"""Publishing national data (exam calendar, guidance notes, subjects, coefficients) from a JSON file.

Shape: an object with any of these keys, each a list of rows with exactly
the table's columns (see README, "Publishing"):
  exam_calendar, guidance_notes, subjects, coefficients
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import sqlite_utils

from domain.codes import parse_date
from domain.database import write_transaction
from domain.errors import FileRejected, InvalidInput, RowError
from domain.rows import as_tuple, upsert_rows
from protocol.tables import BY_NAME
from protocol.values import row_problems

PUBLISHABLE = ("subjects", "coefficients", "exam_calendar", "guidance_notes")
_DATES = {"exam_calendar": ("starts_on", "ends_on"), "guidance_notes": ("published_on",)}
# National data is a few thousand rows; a bigger file is a mistake or an attack, refused before parsing.
MAX_FILE_BYTES = 16 * 1024 * 1024


def _load(path: Path) -> Any:
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise InvalidInput(f"no such file: {path}", code="no_file") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", code="no_file") from None
    if len(raw) > MAX_FILE_BYTES:
        raise InvalidInput(
            f"{path.name} is over {MAX_FILE_BYTES // (1024 * 1024)} MiB: not a publication", code="bad_json"
        )
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{path.name} is not UTF-8 JSON: {exc}", code="bad_json") from None
    except RecursionError:
        raise InvalidInput(f"{path.name} is nested too deeply to be a publication", code="bad_json") from None


def _entry_problems(table: str, i: int, row: object) -> list[RowError]:
    spec = BY_NAME[table]
    if not isinstance(row, dict):
        return [RowError(i, f"{table}: each entry must be an object")]
    named = f"{table} ({', '.join(str(row.get(k)) for k in spec.key)})"
    errors = []
    unknown = set(row) - set(spec.column_names)
    missing = [k for k in spec.key if row.get(k) in (None, "")]
    if unknown:
        errors.append(RowError(i, f"{named}: unknown field(s) {', '.join(sorted(map(str, unknown)))}"))
    if missing:
        errors.append(RowError(i, f"{table}: missing {', '.join(missing)}"))
    # The same checks the wire makes: a row that cannot travel would stop every node's sync.
    errors.extend(RowError(i, f"{named}: {problem}") for problem in row_problems(spec, as_tuple(table, row)))
    for field in _DATES.get(table, ()):
        try:
            parse_date(str(row.get(field, "")), field=field, allow_future=True)
        except InvalidInput as exc:
            errors.append(RowError(i, f"{named}: {exc}"))
    return errors


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
        for i, row in enumerate(rows, start=1):
            errors.extend(_entry_problems(table, i, row))
    if errors:
        raise FileRejected(f"{len(errors)} problem(s) in {path.name}; nothing was published", errors)
    counts = {}
    with write_transaction(db):
        for table, rows in data.items():
            for i, row in enumerate(rows, start=1):
                try:
                    upsert_rows(db, table, [as_tuple(table, row)])
                except sqlite3.IntegrityError as exc:
                    errors.append(RowError(i, f"{table}: breaks the schema ({exc})"))
            counts[table] = len(rows)
        if errors:
            # Raising inside the transaction rolls every row back.
            raise FileRejected(f"{len(errors)} problem(s) in {path.name}; nothing was published", errors)
    return counts
