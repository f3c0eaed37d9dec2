"""Fixtures of the Massar-files tests: a school node holding invented classes
(built with syncclient.massarfiles.fakes: never real pupil data) and the real
`massar` CLI in a subprocess."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from domain.roster import apply_roster
from syncclient.massar_import import roster_rows_from_class_list
from syncclient.massarfiles import GradeCell, GradeSheet, GradeSheetRow, write_class_list, write_grade_sheet
from syncclient.massarfiles.fakes import fake_class_sheet
from syncclient.store import NodeStore

REPO = Path(__file__).resolve().parents[2]
SCHOOL = "S001"
YEAR = "2023/2024"  # the fakes' year, and in the past: no date is "in the future"
SCHOOL_NAME = "الثانوية الإعدادية النموذجية"
TABLES = ("classes", "pupils", "enrolments", "grades")


def massar(*args: object, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The real CLI: `python -m cli ARGS`, MASSAR_DATA unset."""
    argv = [sys.executable, "-m", "cli", *map(str, args)]
    env = {k: v for k, v in os.environ.items() if k != "MASSAR_DATA"}
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    proc = subprocess.run(argv, capture_output=True, text=True, encoding="utf-8", env=env, cwd=cwd or REPO, timeout=60)
    if check and proc.returncode != 0:
        raise AssertionError(f"{argv} exited {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc


def counts(node: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{node / 'node.sqlite'}?mode=ro", uri=True)
    try:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        conn.close()


def grade_rows(node: Path) -> list[tuple]:
    conn = sqlite3.connect(f"file:{node / 'node.sqlite'}?mode=ro", uri=True)
    try:
        return conn.execute(
            "SELECT pupil, subject, semester, assessment, score, absent, justified, remark FROM grades "
            "ORDER BY pupil, subject, semester, assessment"
        ).fetchall()
    finally:
        conn.close()


@contextmanager
def opened(node: Path) -> Iterator[NodeStore]:
    store = NodeStore.open(node)
    try:
        yield store
    finally:
        store.close()


@dataclass
class School:
    node: Path
    classes: dict[str, list[str]]  # class code -> pupil codes, in file order

    def pupils(self, class_code: str) -> list[str]:
        return self.classes[class_code]


# Invented classes: code -> (number of pupils, seed). 4AP-1 is primary (marks out of 10).
CLASSES = {"1APIC-1": (6, 11), "1APIC-2": (3, 12), "4AP-1": (3, 13)}


@pytest.fixture
def school(tmp_path: Path) -> School:
    """A node (school S001, year 2023/2024) with the invented CLASSES enrolled."""
    node = tmp_path / "node"
    NodeStore.init(node, SCHOOL, name=SCHOOL_NAME, year=YEAR).close()
    sheets = [
        fake_class_sheet(code, n, seed=seed, sheet_name=f"Sheet{i}")
        for i, (code, (n, seed)) in enumerate(CLASSES.items(), start=1)
    ]
    path = tmp_path / "ListEleve_20231002.xlsx"
    write_class_list(path, sheets)
    with opened(node) as store:
        apply_roster(store.db, store.term, roster_rows_from_class_list(store.db, store.term, path))
    return School(node, {s.class_code or "": [p.code for p in s.pupils] for s in sheets})


Marks = dict[int, GradeCell]


def score(text: str) -> GradeCell:
    return GradeCell(Decimal(text))


def absent(justified: bool = False) -> GradeCell:
    return GradeCell(None, absent=True, justified=justified)


def grade_sheet(
    class_code: str,
    rows: list[tuple[str, Marks] | tuple[str, Marks, str | None]],
    *,
    semester: int = 1,
    massar_code: str | None = "0019",
    subject_name: str | None = "الرياضيات",
    year: str | None = YEAR,
    assessments: tuple[int, ...] = (1, 2, 3, 5),
    guid: str | None = None,
) -> GradeSheet:
    """A NotesCC sheet as Massar exports it; row i is Excel row 18 + i."""
    return GradeSheet(
        school_name=SCHOOL_NAME,
        school_code="12345X",
        academy="الرباط سلا القنيطرة",
        directorate="سلا",
        level="الأولى ثانوي إعدادي",
        class_code=class_code,
        teacher="أستاذ تجريبي",
        semester=1 if semester == 1 else 2,
        subject_name=subject_name,
        massar_subject_code=massar_code,
        year=year,
        rows=[
            GradeSheetRow(
                row=0,
                code=r[0],
                name="تلميذ تجريبي",
                birth_date="2011-03-02",
                marks=r[1],
                remark=r[2] if len(r) > 2 else None,  # type: ignore[misc]
                massar_id=str(1000 + i),
            )
            for i, r in enumerate(rows)
        ],
        assessments=assessments,
        massar_guid=guid,
    )


@pytest.fixture
def write_sheet(tmp_path: Path) -> Callable[..., Path]:
    """write_sheet(sheet, name=None, scale=20): the sheet as an .xlsx in tmp_path."""

    def write(sheet: GradeSheet, name: str | None = None, scale: int = 20) -> Path:
        path = tmp_path / (name or f"export_notesCC_{sheet.class_code}_{sheet.massar_subject_code}.xlsx")
        write_grade_sheet(path, sheet, scale=scale)
        return path

    return write
