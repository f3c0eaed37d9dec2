"""Massar's level codes: class lists of every level family import; an unknown
code is refused naming the nearest known ones; a class change is a move."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from syncclient.massarfiles import write_class_list
from syncclient.massarfiles.fakes import fake_class_sheet
from syncclient.store import NodeStore
from tests.support.workbooks import CLASS_LIST

YEAR = "2023/2024"  # the fakes' year

FAMILIES = {
    # class: (cycle, year within the cycle, scale)
    "1APG-1": ("primary", 1, 10),
    "6APG-2": ("primary", 6, 10),
    "3AP-1": ("primary", 3, 10),
    "1ASCG-1": ("college", 1, 20),
    "3ASCG-4": ("college", 3, 20),
    "2APIC-1": ("college", 2, 20),
    "TCSF-1": ("lycee", 1, 20),
    "TCSA-2": ("lycee", 1, 20),
    "TCLSHF-1": ("lycee", 1, 20),
    "1BACSEF-1": ("lycee", 2, 20),
    "1BACSMF-1": ("lycee", 2, 20),
    "2BACSPF-1": ("lycee", 3, 20),
    "2BACSVTF-1": ("lycee", 3, 20),
    "2BACSMAF-1": ("lycee", 3, 20),
    "2BACLF-1": ("lycee", 3, 20),
}


@pytest.fixture
def node(tmp_path: Path) -> Path:
    folder = tmp_path / "node"
    NodeStore.init(folder, "S001", year=YEAR).close()
    return folder


def _class_list(tmp_path: Path, classes: dict[str, int], name: str = "ListEleve_20231002.xls") -> Path:
    sheets = [
        fake_class_sheet(code, n, seed=i, sheet_name=f"Sheet{i + 1}") for i, (code, n) in enumerate(classes.items())
    ]
    path = tmp_path / name
    write_class_list(path, sheets)
    return path


def test_class_lists_of_every_level_family_import(node: Path, tmp_path: Path, run_massar) -> None:
    path = _class_list(tmp_path, dict.fromkeys(FAMILIES, 2))
    out = json.loads(run_massar("node", "import-roster", path, "--json", data=node).stdout)
    assert (out["classes"], out["pupils"], out["moved"]) == (len(FAMILIES), 2 * len(FAMILIES), [])
    conn = sqlite3.connect(node / "node.sqlite")
    try:
        stored = {
            c: (cy, y, s)
            for c, cy, y, s in conn.execute(
                "SELECT c.code, l.cycle, l.year, l.scale FROM classes c JOIN levels l ON l.code = c.level"
            )
        }
    finally:
        conn.close()
    assert stored == FAMILIES


def test_the_shared_class_list_imports(tmp_path: Path, run_massar) -> None:
    folder = tmp_path / "node"
    NodeStore.init(folder, "12345X", year="2025/2026").close()
    out = json.loads(run_massar("node", "import-roster", CLASS_LIST, "--json", data=folder).stdout)
    assert (out["classes"], out["pupils"]) == (3, 99)


@pytest.mark.parametrize(
    ("klass", "nearest"),
    [
        pytest.param("1ASC-1", "1ASCG", id="missing-track-letter"),
        pytest.param("2BACSV-1", "2BACSVT", id="missing-stream-letter"),
        pytest.param("7APG-1", "6APG", id="no-such-year"),
    ],
)
def test_unknown_level_is_refused_naming_the_nearest(node: Path, tmp_path: Path, run_massar, klass, nearest) -> None:
    path = _class_list(tmp_path, {"1ASCG-1": 2, klass: 2})
    proc = run_massar("node", "import-roster", path, data=node, check=False)
    assert proc.returncode != 0 and "nothing was imported" in proc.stderr
    level = klass.split("-")[0]
    assert f"level {level}" in proc.stderr and "nearest known:" in proc.stderr and nearest in proc.stderr
    conn = sqlite3.connect(node / "node.sqlite")
    try:
        assert conn.execute("SELECT COUNT(*) FROM pupils").fetchone() == (0,)
    finally:
        conn.close()


def test_a_pupil_whose_class_changed_is_moved_with_a_line(node: Path, tmp_path: Path, run_massar) -> None:
    first = [fake_class_sheet("1ASCG-1", 3, seed=1), fake_class_sheet("1ASCG-2", 2, seed=2, sheet_name="Sheet2")]
    path = tmp_path / "ListEleve_20231002.xlsx"
    write_class_list(path, first)
    run_massar("node", "import-roster", path, data=node)
    mover = first[0].pupils[1]
    later = [
        replace(first[0], pupils=[first[0].pupils[0], first[0].pupils[2]]),
        replace(first[1], pupils=[*first[1].pupils, replace(mover, row=first[1].pupils[-1].row + 1)]),
    ]
    path2 = tmp_path / "ListEleve_20231120.xlsx"
    write_class_list(path2, later)
    out = run_massar("node", "import-roster", path2, data=node).stdout
    assert f"moved {mover.code} from 1ASCG-1 to 1ASCG-2" in out
    conn = sqlite3.connect(node / "node.sqlite")
    try:
        assert conn.execute("SELECT class FROM enrolments WHERE pupil = ?", [mover.code]).fetchone() == ("1ASCG-2",)
    finally:
        conn.close()
