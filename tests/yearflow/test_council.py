"""The class council decides; the average only proposes (CLI, report and bulletin)."""

from __future__ import annotations

import sqlite3

import pytest

from .conftest import YEAR


def _rows(cli, sql: str) -> list[tuple]:
    conn = sqlite3.connect(cli.data / "node.sqlite")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_report_shows_proposed_until_the_council_decides(school):
    cli = school
    for semester, score in (("1", "8"), ("2", "9")):
        cli(
            "grade",
            "--student",
            "A100000001",
            "--subject",
            "ARA",
            "--semester",
            semester,
            "--assessment",
            "1",
            "--score",
            score,
        )
    report = cli("report", "--student", "A100000001", "--json")
    assert report["council"] == {"decision": "repeat", "status": "proposed", "note": None}

    out = cli("decide", "--student", "A100000001", "--decision", "pass", "--note", "effort soutenu", "--json")
    assert (out["decision"], out["note"], out["year"]) == ("pass", "effort soutenu", YEAR)
    report = cli("report", "--student", "A100000001", "--json")
    assert report["council"] == {"decision": "pass", "status": "decided", "note": "effort soutenu"}
    # without marks there is nothing to propose
    assert cli("report", "--student", "B100000002", "--json")["council"]["status"] == "pending"


def test_bulletin_prints_the_councils_decision_not_the_average(school, tmp_path):
    cli = school
    for semester in ("1", "2"):
        cli(
            "grade",
            "--student",
            "A100000001",
            "--subject",
            "ARA",
            "--semester",
            semester,
            "--assessment",
            "1",
            "--score",
            "7",
        )
    out = tmp_path / "b.html"
    cli("bulletin", "--student", "A100000001", "--semester", "2", "-o", str(out))
    assert "(مقترح)" not in out.read_text(encoding="utf-8")  # no proposal while the semesters are open
    for semester in ("1", "2"):
        cli("close-semester", "--semester", semester)
    cli("bulletin", "--student", "A100000001", "--semester", "2", "-o", str(out))
    assert "غير ناجحة (مقترح)" in out.read_text(encoding="utf-8")
    cli("decide", "--student", "A100000001", "--decision", "pass", "--note", "حسب مجهود التلميذة")
    cli("bulletin", "--student", "A100000001", "--semester", "2", "-o", str(out))
    html = out.read_text(encoding="utf-8")
    assert "تنتقل (قرار مجلس القسم)" in html and "حسب مجهود التلميذة" in html
    assert "(مقترح)" not in html


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--student", "A100000001", "--decision", "promote"), "unknown council decision"),
        (("--student", "Z999999999", "--decision", "pass"), "unknown pupil"),
        (("--student", "A100000001", "--decision", "pass", "--note", "x" * 301), "longer than 300"),
    ],
    ids=["bad-decision", "unknown-pupil", "long-note"],
)
def test_bad_decisions_are_one_line_errors_and_change_nothing(school, args, message):
    proc = school("decide", *args, check=False)
    assert proc.returncode != 0 and message in proc.stderr and proc.stderr.count("\n") == 1
    assert _rows(school, "SELECT COUNT(*) FROM council_decisions") == [(0,)]
