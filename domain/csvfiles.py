"""Reading the CSV files secretaries prepare in a spreadsheet.

Rows are streamed from the file, never read whole, and bounded: a value over
the 2,000 characters a sync can carry, or more rows than a school's file can
hold, is refused at once with one line, before anything is written.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import InvalidInput

MAX_CSV_BYTES = 50 * 1024 * 1024
# A whole school's marks for a year (3,000 pupils x 12 subjects x 4 assessments) fit with room to spare.
MAX_CSV_ROWS = 200_000
# The longest text the sync wire carries (protocol.limits.max_string_chars).
MAX_FIELD_CHARS = 2000


def read_csv(path: str | Path, header: Sequence[str], *, max_rows: int = MAX_CSV_ROWS) -> list[tuple[int, dict]]:
    """Rows as (line number, dict); the header must name exactly the expected columns."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"no such file: {p}", code="no_file")
    if p.stat().st_size > MAX_CSV_BYTES:
        raise InvalidInput(f"{p.name} is larger than {MAX_CSV_BYTES // 2**20} MiB", code="file_too_large")
    try:
        # utf-8-sig: spreadsheets often write a byte-order mark.
        with p.open(encoding="utf-8-sig", newline="") as f:
            return _rows(p, csv.reader(f), header, max_rows)
    except UnicodeDecodeError:
        raise InvalidInput(f"{p.name} is not UTF-8 text (save it as CSV UTF-8)", code="bad_encoding") from None
    except csv.Error as exc:
        # The csv module's own bound (131,072 characters a field) or a malformed quote.
        raise InvalidInput(f"{p.name}: unreadable CSV ({exc})", code="bad_csv") from None


def _rows(p: Path, reader: Any, header: Sequence[str], max_rows: int) -> list[tuple[int, dict]]:
    try:
        got = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise InvalidInput(f"{p.name} is empty", code="empty_file") from None
    if got != list(header):
        shown = ",".join(got)
        shown = shown if len(shown) <= 200 else shown[:200] + "…"
        raise InvalidInput(f"{p.name}: header must be {','.join(header)} (found {shown})", code="bad_header")
    rows: list[tuple[int, dict]] = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        line = reader.line_num
        if len(rows) >= max_rows:
            raise InvalidInput(f"{p.name}: more than {max_rows:,} rows; split the file", code="too_many_rows")
        longest = max(map(len, values), default=0)
        if longest > MAX_FIELD_CHARS:
            raise InvalidInput(
                f"{p.name}, line {line}: a value of {longest:,} characters (at most {MAX_FIELD_CHARS:,})",
                code="value_too_long",
            )
        padded = values + [""] * (len(header) - len(values))
        row: dict[str, str | list[str]] = dict(zip(header, padded, strict=False))
        if len(values) > len(header):
            row["__extra__"] = values[len(header) :]
        rows.append((line, row))
    return rows
