"""Reading the CSV files secretaries prepare in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from .errors import InvalidInput

MAX_CSV_BYTES = 50 * 1024 * 1024


def read_csv(path: str | Path, header: Sequence[str]) -> list[tuple[int, dict]]:
    """Rows as (line number, dict); the header must name exactly the expected columns."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"no such file: {p}", code="no_file")
    if p.stat().st_size > MAX_CSV_BYTES:
        raise InvalidInput(f"{p.name} is larger than {MAX_CSV_BYTES // 2**20} MiB", code="file_too_large")
    try:
        # utf-8-sig: spreadsheets often write a byte-order mark.
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{p.name} is not UTF-8 text (save it as CSV UTF-8)", code="bad_encoding") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        got = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise InvalidInput(f"{p.name} is empty", code="empty_file") from None
    if got != list(header):
        raise InvalidInput(f"{p.name}: header must be {','.join(header)} (found {','.join(got)})", code="bad_header")
    rows = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        line = reader.line_num
        padded = values + [""] * (len(header) - len(values))
        row: dict[str, str | list[str]] = dict(zip(header, padded, strict=False))
        if len(values) > len(header):
            row["__extra__"] = values[len(header) :]
        rows.append((line, row))
    return rows
