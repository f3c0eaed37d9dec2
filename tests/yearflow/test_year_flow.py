"""Closing a year and opening the next: outcomes, the director's confirmation, a digest that never
changes, a closed year that refuses writes, and the new enrolments at the centre after sync."""

from __future__ import annotations

import json
import sqlite3

import pytest

from domain import absences, grades, pupils
from domain.codes import parse_date
from domain.grades import GradeEntry
from domain.year_end import year_digest
from syncclient.store import NodeStore

from .conftest import NEXT, PUPILS, SCHOOL, YEAR


@pytest.fixture
def synced_school(make_node, run_massar):
    store = make_node(SCHOOL, year=YEAR)
    for code, cls, last, first, gender in PUPILS:
        pupils.register_pupil(
            store.db, store.term, class_code=cls, last_name=last, first_name=first, gender=gender, code=code
        )
    grades.record_grades(
        store.db, store.term, [GradeEntry("A100000001", "ARA", 1, 1, grades.parse_score("14.5"), False, False, None)]
    )
    absences.record_absences(
        store.db, store.term, [absences.AbsenceEntry("B100000002", parse_date("2025-03-03"), 3, recorded_by="t")]
    )
    folder = store.path.parent

    def node(*args: str, check: bool = True):
        proc = run_massar("node", *args, data=folder, check=check)
        return json.loads(proc.stdout) if "--json" in args and proc.returncode == 0 else proc

    return store, node


def test_close_confirm_open_keeps_last_year_and_syncs_the_new_one(synced_school, central):
    store, node = synced_school
    node("decide", "--student", "A100000001", "--decision", "pass")
    node("decide", "--student", "B100000002", "--decision", "repeat")
    node("decide", "--student", "C100000003", "--decision", "pass")
    node("orient", "--student", "C100000003", "--stream", "TCSF")
    node("decide", "--student", "D100000004", "--decision", "exclude")
    proc = node("close-year", check=False)
    assert proc.returncode != 0 and "1 pupil(s) have no council decision yet (E100000005)" in proc.stderr
    node("decide", "--student", "E100000005", "--decision", "pass")

    closed = node("close-year", "--json")
    assert (closed["pass"], closed["repeat"], closed["oriented"], closed["leaver"]) == (1, 1, 1, 2)
    proposals = {p["pupil"]: (p["outcome"], p["next_class"]) for p in closed["proposals"]}
    assert proposals == {
        "A100000001": ("pass", "2APIC-2"),
        "B100000002": ("repeat", "1APIC-2"),
        "C100000003": ("oriented", "TCSF-1"),
        "D100000004": ("leaver", None),
        "E100000005": ("leaver", None),  # primary ends here: the collège is another school
    }
    refused = node("open-year", "--year", NEXT, check=False)
    assert refused.returncode != 0 and "3 proposed class(es) are not confirmed" in refused.stderr
    node("sync")
    before = year_digest(store.db, SCHOOL, YEAR)

    node("confirm-classes", "--student", "B100000002", "--class", "1APIC-1")
    assert node("confirm-classes", "--json")["to_confirm"] == 0
    wrong = node("open-year", "--year", "2026/2027", check=False)
    assert wrong.returncode != 0 and "the year after 2024/2025 is 2025/2026" in wrong.stderr
    opened = node("open-year", "--year", NEXT, "--json")
    assert (opened["opened"], opened["enrolled"], opened["digest"]) == (NEXT, 3, before)
    assert opened["closed_years"] == [
        {"year": YEAR, "digest": before, "closed_at": opened["closed_years"][0]["closed_at"], "intact": True}
    ]
    assert node("status", "--json")["year"] == NEXT

    fresh = NodeStore.open(store.path.parent)
    try:
        assert fresh.term.year == NEXT
        assert year_digest(fresh.db, SCHOOL, YEAR) == before
        # last year is read-only on the node, whatever the code path
        for sql in (
            f"UPDATE grades SET score = 2000 WHERE year = '{YEAR}'",
            f"INSERT INTO council_decisions VALUES ('{SCHOOL}', '{YEAR}', 'A100000001', 'repeat', NULL, '2025-07-01')",
            "DELETE FROM absences WHERE day = '2025-03-03'",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="year_closed"):
                fresh.db.conn.execute(sql)
        assert year_digest(fresh.db, SCHOOL, YEAR) == before
    finally:
        fresh.close()
    # through the CLI the guard is a refusal in one line, not a crash, and nothing changes
    late = node("justify", "--student", "B100000002", "--date", "2025-03-03", "--reason", "certificat", check=False)
    assert late.returncode != 0 and "internal error" not in late.stderr
    assert late.stderr.strip().splitlines() == [late.stderr.strip()] and "closed school year" in late.stderr
    check = NodeStore.open(store.path.parent)
    try:
        assert year_digest(check.db, SCHOOL, YEAR) == before
    finally:
        check.close()

    node("sync")
    with central.db() as db:
        enrolled = dict(db.execute("SELECT pupil, class FROM enrolments WHERE year = ?", [NEXT]).fetchall())
        assert enrolled == {"A100000001": "2APIC-2", "B100000002": "1APIC-1", "C100000003": "TCSF-1"}
        outcomes = dict(db.execute("SELECT pupil, outcome FROM year_outcomes WHERE year = ?", [YEAR]).fetchall())
        assert outcomes["D100000004"] == "leaver" and outcomes["C100000003"] == "oriented"
        assert db.execute("SELECT decision FROM orientation_decisions WHERE pupil = 'C100000003'").fetchall() == [
            ("TCSF",)
        ]
        assert year_digest(db, SCHOOL, YEAR) == before  # the centre holds last year exactly as the node does


def test_the_centre_publishes_orientation_rounds_and_sees_every_schools_wishes(
    synced_school, central, run_massar, tmp_path
):
    store, node = synced_school
    published = tmp_path / "rounds.json"
    published.write_text(
        json.dumps(
            {
                "orientation_rounds": [
                    {
                        "year": YEAR,
                        "round": "first",
                        "opens_on": "2025-02-01",
                        "closes_on": "2025-02-28",
                        "appeal_days": 10,
                    },
                    {
                        "year": YEAR,
                        "round": "final",
                        "opens_on": "2025-04-01",
                        "closes_on": "2025-04-30",
                        "appeal_days": 10,
                    },
                ]
            }
        ),
        encoding="utf-8",
    )
    run_massar("server", "publish", published, data=central.folder)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"orientation_rounds": [{"year": YEAR, "round": "first", "opens_on": "soon"}]}))
    refused = run_massar("server", "publish", bad, data=central.folder, check=False)
    assert refused.returncode != 0 and "nothing was published" in refused.stderr

    node("wishes", "--student", "C100000003", "--choices", "TCSF,TCLSHF", "--round", "final")
    node("orient", "--student", "C100000003", "--stream", "TCSF")
    node("sync")
    fresh = NodeStore.open(store.path.parent)
    try:
        rounds = fresh.db.execute("SELECT round, opens_on, closes_on, appeal_days FROM orientation_rounds").fetchall()
        assert sorted(rounds) == [("final", "2025-04-01", "2025-04-30", 10), ("first", "2025-02-01", "2025-02-28", 10)]
    finally:
        fresh.close()
    with central.db() as db:
        assert db.execute(
            "SELECT school, pupil, round, rank, choice FROM orientation_wishes ORDER BY rank"
        ).fetchall() == [(SCHOOL, "C100000003", "final", 1, "TCSF"), (SCHOOL, "C100000003", "final", 2, "TCLSHF")]
        assert db.execute("SELECT school, decision FROM orientation_decisions").fetchall() == [(SCHOOL, "TCSF")]
