"""`massar node import-roster` with Massar's ListEleve class list (.xls and .xlsx)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from syncclient.massarfiles import ClassListPupil, write_class_list
from syncclient.massarfiles.fakes import fake_class_sheet
from syncclient.store import NodeStore

from .conftest import SCHOOL, YEAR, counts, massar


@pytest.fixture
def node(tmp_path: Path) -> Path:
    folder = tmp_path / "node"
    NodeStore.init(folder, SCHOOL, year=YEAR).close()
    return folder


@pytest.mark.parametrize("suffix", [pytest.param(".xls", id="xls"), pytest.param(".xlsx", id="xlsx")])
def test_class_list_becomes_the_roster(node: Path, tmp_path: Path, suffix: str) -> None:
    sheets = [fake_class_sheet("1APIC-1", 5, seed=1), fake_class_sheet("2APIC-3", 4, seed=2, sheet_name="Sheet2")]
    path = tmp_path / f"ListEleve_20231002{suffix}"
    write_class_list(path, sheets)

    proc = massar("node", "import-roster", "--data", node, path, "--json")

    assert json.loads(proc.stdout) == {"pupils": 9, "classes": 2, "moved": []}
    conn = sqlite3.connect(node / "node.sqlite")
    try:
        classes = dict(conn.execute("SELECT code, level FROM classes").fetchall())
        stored = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT p.code, p.last_name_ar, p.first_name_ar, p.gender, p.birth_date, p.birth_place, e.class "
                "FROM pupils p JOIN enrolments e ON e.pupil = p.code"
            )
        }
    finally:
        conn.close()
    assert classes == {"1APIC-1": "1APIC", "2APIC-3": "2APIC"}
    for sheet in sheets:
        for p in sheet.pupils:
            assert stored[p.code] == (
                p.last_name,
                p.first_name,
                p.gender,
                p.birth_date,
                p.birth_place,
                sheet.class_code,
            )


def _bad(pupil: ClassListPupil, **changes: object) -> ClassListPupil:
    return replace(pupil, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("suffix", "damage", "expected"),
    [
        pytest.param(
            ".xlsx",
            lambda s1, s2: (replace(s1, pupils=[_bad(s1.pupils[0], code="R12")] + s1.pupils[1:]), s2),
            ["row 8, column الرمز", "bad Massar code 'R12'"],
            id="malformed-code",
        ),
        pytest.param(
            ".xls",
            lambda s1, s2: (s1, replace(s2, pupils=[*s2.pupils, _bad(s2.pupils[0], code=s1.pupils[2].code)])),
            ["row 11, column الرمز", "[Sheet2] duplicate Massar code", "Sheet1!10"],
            id="code-in-two-classes",
        ),
        pytest.param(
            ".xlsx",
            lambda s1, s2: (s1, replace(s2, pupils=[_bad(s2.pupils[1], first_name="")] + s2.pupils[2:])),
            ["[Sheet2]", "الإسم", "empty first name"],
            id="empty-name",
        ),
        pytest.param(
            ".xlsx",
            lambda s1, s2: (s1, replace(s2, class_code="ZZZ-1")),
            ["القسم", "ZZZ-1", "not a known Massar level"],
            id="unknown-level",
        ),
    ],
)
def test_bad_class_list_is_refused_whole(node: Path, tmp_path: Path, suffix: str, damage, expected: list[str]) -> None:
    sheets = damage(fake_class_sheet("1APIC-1", 4, seed=3), fake_class_sheet("1APIC-2", 3, seed=4, sheet_name="Sheet2"))
    path = tmp_path / f"ListEleve_20231002{suffix}"
    write_class_list(path, list(sheets))
    before = counts(node)

    proc = massar("node", "import-roster", "--data", node, path, check=False)

    assert proc.returncode != 0
    assert "nothing was imported" in proc.stderr
    for text in expected:
        assert text in proc.stderr
    assert "Traceback" not in proc.stderr
    assert counts(node) == before
