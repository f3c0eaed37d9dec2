"""Massar's grade-sheet file names: `export_notesCC_<CLASS>_<SUBJECT>.xlsx` and
the newer `Export_<school>_<class>_<SUBJECT>_<timestamp>.xlsx`."""

from __future__ import annotations

import re
from dataclasses import dataclass

_OLDER = re.compile(r"^export_notesCC_(?P<klass>[0-9A-Za-z]+-[0-9]+)_(?P<subject>[0-9A-Za-z]+)(?:\s*\(\d+\))?\.xlsx$")
_NEWER = re.compile(
    r"^Export_(?P<school>[0-9A-Za-z]+)_(?P<klass>[0-9A-Za-z]+-[0-9]+)_(?P<subject>[^_]+)_(?P<stamp>[0-9_-]+)"
    r"(?:\s*\(\d+\))?\.xlsx$"
)


@dataclass(frozen=True)
class SheetFileName:
    newer: bool
    school: str | None = None
    class_code: str | None = None
    subject: str | None = None  # Massar's subject code or name as the name gives it
    stamp: str | None = None


def parse_file_name(name: str) -> SheetFileName:
    """What a grade sheet's file name says; every field None for another name.
    A browser's ` (1)` before the extension is allowed."""
    if m := _NEWER.match(name):
        return SheetFileName(True, m["school"], m["klass"].upper(), m["subject"], m["stamp"])
    if m := _OLDER.match(name):
        return SheetFileName(False, None, m["klass"].upper(), m["subject"])
    return SheetFileName(False)
