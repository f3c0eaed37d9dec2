"""Orientation through the CLI: wishes by round, the council's decision, the appeal window, counts."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from domain import orientation
from domain.pupils import Term
from syncclient.store import NodeStore

from .conftest import SCHOOL, YEAR


def test_wishes_decision_and_counts(school):
    cli = school
    out = cli("wishes", "--student", "C100000003", "--choices", "tcsf, TCTF ,FP", "--round", "first", "--json")
    assert out == {"student": "C100000003", "round": "first", "choices": ["TCSF", "TCTF", "FP"]}
    cli("wishes", "--student", "C100000003", "--choices", "TCTF,TCSF", "--round", "final")
    cli("wishes", "--student", "D100000004", "--choices", "TCSF", "--round", "first")
    # a second entry of a round replaces the first one, shorter lists included
    cli("wishes", "--student", "D100000004", "--choices", "TCLSHF", "--round", "first")
    decided = cli("orient", "--student", "C100000003", "--stream", "TCTF", "--note", "profil technique", "--json")
    assert decided["decision"] == "TCTF" and decided["note"] == "profil technique"
    assert decided["appeal_until"] == (dt.date.today() + dt.timedelta(days=15)).isoformat()

    counts = cli("orientation", "--json")
    assert {(r["class"], r["stream"]): (r["first"], r["final"], r["decided"]) for r in counts} == {
        ("3APIC-1", "TCSF"): (1, 0, 0),
        ("3APIC-1", "TCTF"): (0, 1, 1),
        ("3APIC-1", "TCLSHF"): (1, 0, 0),
    }
    appeal = cli("appeal", "--student", "C100000003", "--note", "souhaite TCSF", "--json")
    assert appeal["appeal_note"] == "souhaite TCSF" and appeal["appealed_on"] == dt.date.today().isoformat()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("wishes", "--student", "A100000001", "--choices", "TCSF", "--round", "first"), "no orientation to choose"),
        (("wishes", "--student", "C100000003", "--choices", "2BACSPF", "--round", "first"), "is not open after"),
        (("wishes", "--student", "C100000003", "--choices", "TCSF,TCSF", "--round", "final"), "chosen twice"),
        (("wishes", "--student", "C100000003", "--choices", "TCSF", "--round", "june"), "invalid choice"),
        (("orient", "--student", "C100000003", "--stream", "1BACSEF"), "is not open after"),
        (("appeal", "--student", "C100000003", "--note", "non"), "no orientation decision"),
    ],
    ids=["not-concerned", "stream-not-open", "twice", "bad-round", "bad-stream", "appeal-without-decision"],
)
def test_bad_orientation_input_changes_nothing(school, args, message):
    proc = school(*args, check=False)
    assert proc.returncode != 0 and message in proc.stderr
    conn = sqlite3.connect(school.data / "node.sqlite")
    try:
        n = conn.execute(
            "SELECT (SELECT COUNT(*) FROM orientation_wishes) + (SELECT COUNT(*) FROM orientation_decisions)"
        )
        assert n.fetchone() == (0,)
    finally:
        conn.close()


def test_families_enter_wishes_only_while_the_round_is_open_and_appeal_only_in_the_window(school):
    store = NodeStore.open(school.data)
    try:
        db, term = store.db, Term(SCHOOL, YEAR)
        db.conn.execute("INSERT INTO orientation_rounds VALUES (?, 'first', '2025-02-01', '2025-02-28', 10)", [YEAR])
        inside, after = dt.date(2025, 2, 10), dt.date(2025, 3, 1)
        assert orientation.open_round(db, YEAR, inside) == "first"
        orientation.record_wishes(db, term, "C100000003", ["TCSF"], "first", by_family=True, today=inside)
        with pytest.raises(orientation.NotAllowed, match="not open"):
            orientation.record_wishes(db, term, "C100000003", ["TCTF"], "first", by_family=True, today=after)
        # the secretariat enters the paper form any time
        orientation.record_wishes(db, term, "C100000003", ["TCTF"], "first", today=after)
        assert orientation.wishes_of(db, YEAR, "C100000003")["first"] == ["TCTF"]

        decided = orientation.orient(db, term, "C100000003", "TCTF", today=dt.date(2025, 7, 1))
        assert decided["appeal_until"] == "2025-07-16"  # 15 days: no final round published
        with pytest.raises(orientation.NotAllowed, match="closed on 2025-07-16"):
            orientation.appeal(db, term, "C100000003", "trop tard", today=dt.date(2025, 7, 17))
        orientation.appeal(db, term, "C100000003", "à temps", today=dt.date(2025, 7, 16))
    finally:
        store.close()
