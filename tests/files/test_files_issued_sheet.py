"""Grade sheets that go back to Massar: the file Massar issued, filled cell for cell.

Runs on the shared fixtures (synthetic copies of real exports): the class list
`ListEleve_sample.xls` (2025/2026, 1APIC-1..3APIC-1) and the grade sheet
`export_notesCC_1APIC-1_0030.xlsx` (informatics, 1APIC-1, semester 1)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from syncclient.massarfiles import read_grade_sheet
from syncclient.store import NodeStore
from tests.support.workbooks import CLASS_LIST, GRADE_SHEET, differences, load

from .conftest import grade_rows, massar, opened

PUPIL_ROWS = range(18, 201)


@pytest.fixture
def node(tmp_path: Path) -> Path:
    """A node of the fixtures' school year with their class list and grade sheet imported."""
    folder = tmp_path / "node"
    NodeStore.init(folder, "12345X", year="2025/2026").close()
    massar("node", "import-roster", "--data", folder, CLASS_LIST)
    massar("node", "import-grades", "--data", folder, GRADE_SHEET)
    return folder


def _export(node: Path, out: Path, *extra: str) -> dict:
    args = ["--class", "1APIC-1", "--subject", "INFO", "--semester", "1", *extra]
    return json.loads(massar("node", "export-grades", "--data", node, *args, "--json", cwd=out).stdout)


def test_export_gives_back_the_issued_file_cell_for_cell(node: Path, tmp_path: Path) -> None:
    info = _export(node, tmp_path)
    assert info["source"] == "issued" and info["pupils"] == 32 and info["not_in_sheet"] == []
    assert Path(info["file"]).name == GRADE_SHEET.name
    assert differences(GRADE_SHEET, tmp_path / GRADE_SHEET.name, pupil_rows=PUPIL_ROWS) == []
    written = load(tmp_path / GRADE_SHEET.name)
    assert written["Data"].sheet_state == "hidden"
    assert written.security is not None and written.security.lockStructure  # the issued workbook protection


def test_a_changed_mark_changes_only_its_cell(node: Path, tmp_path: Path) -> None:
    # C18 A077777868: test 2 was 13.5; C21 D616782763: activities justified absence (N21 مبرر)
    massar(
        "node",
        "grade",
        "--data",
        node,
        "--student",
        "A077777868",
        "--subject",
        "INFO",
        "--semester",
        "1",
        "--assessment",
        "2",
        "--score",
        "16.75",
    )
    massar(
        "node",
        "grade",
        "--data",
        node,
        "--student",
        "D616782763",
        "--subject",
        "INFO",
        "--semester",
        "1",
        "--assessment",
        "activities",
        "--score",
        "12",
    )
    _export(node, tmp_path)
    assert differences(GRADE_SHEET, tmp_path / GRADE_SHEET.name, pupil_rows=PUPIL_ROWS) == [
        "NotesCC!I18: 13.5 != 16.75",
        "NotesCC!M21: None != 12",
        "NotesCC!N21: 'مبرر' != None",
    ]


def test_without_the_issued_file_the_same_layout_is_written(node: Path, tmp_path: Path) -> None:
    shutil.rmtree(node / "massar_sheets")  # e.g. the folder was copied without it
    info = _export(node, tmp_path)
    assert info["source"] == "written"
    assert differences(GRADE_SHEET, tmp_path / GRADE_SHEET.name, pupil_rows=PUPIL_ROWS) == []


def test_newer_export_naming_round_trips(node: Path, tmp_path: Path) -> None:
    newer = tmp_path / "Export_12345X_1APIC-1_0030_20260115093000.xlsx"
    shutil.copyfile(GRADE_SHEET, newer)
    with opened(node) as store, store.db.conn:
        store.db.conn.execute("DELETE FROM grades")
    massar("node", "import-grades", "--data", node, newer)
    before = grade_rows(node)
    out = tmp_path / "out"
    out.mkdir()
    info = _export(node, out)
    name = Path(info["file"]).name
    assert name.startswith("Export_12345X_1APIC-1_0030_") and name.endswith(".xlsx") and name != newer.name
    assert differences(newer, out / name, pupil_rows=PUPIL_ROWS) == []
    with opened(node) as store, store.db.conn:
        store.db.conn.execute("DELETE FROM grades")
    massar("node", "import-grades", "--data", node, out / name)
    assert grade_rows(node) == before


def test_a_sheet_of_another_year_is_refused_saying_how_to_open_that_year(tmp_path: Path) -> None:
    folder = tmp_path / "node"
    NodeStore.init(folder, "12345X", year="2026/2027").close()
    proc = massar("node", "import-roster", "--data", folder, CLASS_LIST, check=False)
    assert proc.returncode != 0
    assert "2025/2026" in proc.stderr and "this node records 2026/2027" in proc.stderr
    assert "massar node init --data DIR --school 12345X --year 2025/2026" in proc.stderr
    proc = massar("node", "import-grades", "--data", folder, GRADE_SHEET, check=False)
    assert proc.returncode != 0 and "--year 2025/2026" in proc.stderr


def test_four_test_sheet_of_french_round_trips(node: Path, tmp_path: Path) -> None:
    # French has four tests a semester from 2025/26: the sheet gets a fourth test before the activities
    pupils = read_grade_sheet(GRADE_SHEET).rows[:3]
    for n, p in enumerate(pupils):
        for assessment, score in (("1", "11"), ("4", f"{14 + n}"), ("activities", "15.5")):
            massar(
                "node",
                "grade",
                "--data",
                node,
                "--student",
                p.code,
                "--subject",
                "FRA",
                "--semester",
                "2",
                "--assessment",
                assessment,
                "--score",
                score,
            )
    out = tmp_path / "fra.xlsx"
    massar(
        "node", "export-grades", "--data", node, "--class", "1APIC-1", "--subject", "FRA", "--semester", "2", "-o", out
    )
    ws = load(out)["NotesCC"]
    assert [ws.cell(16, c).value for c in (7, 9, 11, 13, 15, 17)] == [
        "الفرض الأول",
        "الفرض الثاني",
        "الفرض الثالث",
        "الفرض الرابع",
        "الأنشطة المندمجة",
        "ملاحظات الأستاذ",
    ]
    sheet = read_grade_sheet(out)
    assert sheet.assessments == (1, 2, 3, 4, 5)
    before = grade_rows(node)
    with opened(node) as store, store.db.conn:
        store.db.conn.execute("DELETE FROM grades WHERE subject = 'FRA'")
    massar("node", "import-grades", "--data", node, out)
    assert grade_rows(node) == before
