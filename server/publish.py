"""Publishing national data (exam calendar, guidance notes, subjects, coefficients) from a JSON file.

Shape: an object with any of these keys, each a list of rows with exactly
the table's columns (see README, "Publishing"):
  exam_calendar, guidance_notes, subjects, coefficients
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from domain.codes import parse_date
from domain.database import write_transaction
from domain.errors import FileRejected, InvalidInput, RowError
from domain.rows import upsert_dicts
from protocol.tables import BY_NAME

if TYPE_CHECKING:
    from .backend import CentralStore

PUBLISHABLE = ("subjects", "coefficients", "exam_calendar", "guidance_notes")
_DATES = {"exam_calendar": ("starts_on", "ends_on"), "guidance_notes": ("published_on",)}


def publish_file(store: CentralStore | sqlite_utils.Database, path: Path) -> dict[str, int]:
    data = read_publication(path)
    if isinstance(store, sqlite_utils.Database):
        return write_publication(store, data)
    return store.publish(data)


def read_publication(path: Path) -> dict[str, list[dict[str, Any]]]:
    """The file's rows, checked; FileRejected lists every problem and nothing is written."""
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
    if errors:
        raise FileRejected(f"{len(errors)} problem(s) in {path.name}; nothing was published", errors)
    return data


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
