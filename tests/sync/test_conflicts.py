"""A grade edited offline at the school while the directorate corrects it centrally.

Both replicas end with the version of the later clock; the loser is kept in the
central conflict log (`massar server conflicts`) and counted by `massar node status`.
An edit made after pulling the correction is sequential, not a conflict.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from domain.grades import GradeEntry, record_grades
from protocol.tables import BY_NAME

from .conftest import both_backends
from .helpers import YEAR, fill_school, sync

pytestmark = both_backends

GRADES = BY_NAME["grades"]


def _a_scored_grade(db) -> tuple:
    """Key of one test mark (assessment 1) that has a score."""
    return db.execute(
        "SELECT year, pupil, subject, semester, assessment FROM grades "
        "WHERE assessment = 1 AND score IS NOT NULL AND score < 1500 ORDER BY pupil, subject LIMIT 1"
    ).fetchone()


def _grade(db, key) -> tuple | None:
    row = db.execute(
        f"SELECT {', '.join(GRADES.column_names)} FROM grades "
        "WHERE year = ? AND pupil = ? AND subject = ? AND semester = ? AND assessment = ?",
        list(key),
    ).fetchone()
    return None if row is None else tuple(row)


def _central_version(central, key) -> tuple:
    return central.version_of("grades", tuple(key))


def _secretary_edits(store, key, score: str) -> None:
    record_grades(store.db, store.term, [GradeEntry(key[1], key[2], key[3], key[4], Decimal(score))])


def _directorate_corrects(run_massar, central, key, score: str) -> None:
    run_massar(
        "server", "grade", "--student", key[1], "--subject", key[2], "--semester", str(key[3]),
        "--assessment", str(key[4]), "--score", score, "--year", YEAR, "--json", *central.cli_location,
    )  # fmt: skip


def _conflicts_cli(run_massar, central) -> list[dict]:
    return json.loads(run_massar("server", "conflicts", "--json", *central.cli_location).stdout)


def _node_status(run_massar, store) -> dict:
    return json.loads(run_massar("node", "status", "--json", data=store.path.parent).stdout)


@pytest.mark.parametrize("later", ["central", "node"])
def test_concurrent_edits_resolve_to_the_later_clock_and_keep_the_loser(
    central, make_node, run_massar, later: str
) -> None:
    node = make_node("SA01")
    fill_school(node, seed=3, pupils=20, classes=3, absence_days=2)
    sync(node)
    key = _a_scored_grade(node.db)
    original = _grade(node.db, key)

    if later == "central":
        # The node's clock runs a minute late: its edit is earlier than the correction.
        node.db.execute("UPDATE _clock SET offset_ms = -60000")
        _secretary_edits(node, key, "12.25")
        # The correction comes from a `massar` subprocess, on the real clock: later than the
        # in-process node's clock by construction (tests/sync/conftest.py), no sleep needed.
        _directorate_corrects(run_massar, central, key, "13.5")
    else:
        # The correction first; the node's edit is a minute later (inside MAX_SKEW, not clamped).
        _directorate_corrects(run_massar, central, key, "13.5")
        node.db.execute("UPDATE _clock SET offset_ms = 60000")
        _secretary_edits(node, key, "12.25")

    node_row = _grade(node.db, key)
    with central.db() as db:
        central_row = _grade(db, key)
    assert node_row[6] == 1225 and central_row[6] == 1350 and original[6] not in (1225, 1350)
    node_hlc = node.db.execute("SELECT hlc FROM _outbox WHERE tbl = ?", [GRADES.wire_id]).fetchone()[0]
    origin, central_hlc, _ = _central_version(central, key)
    assert origin == "central"
    assert (node_hlc < central_hlc) == (later == "central")  # the test controls the order

    result = sync(node)
    assert result.conflicts >= 1 and result.pending == 0
    winner, loser = (central_row, node_row) if later == "central" else (node_row, central_row)
    with central.db() as db:
        assert _grade(db, key) == winner
    assert _grade(node.db, key) == winner

    conflicts = _conflicts_cli(run_massar, central)
    assert len(conflicts) == 1
    c = conflicts[0]
    assert c["table"] == "grades" and c["school"] == "SA01" and c["record"] == list(key)
    assert (c["winner"], c["loser"]) == (("central", "SA01") if later == "central" else ("SA01", "central"))
    assert tuple(c["lost_row"]) == loser
    assert c["winner_hlc"] > c["loser_hlc"]

    status = _node_status(run_massar, node)
    assert status["conflicts"] >= 1 and status["pending_changes"] == 0

    # Settled: the next sync changes nothing on either side.
    again = sync(node)
    assert (again.requests, again.pushed, again.pulled) == (1, 0, 0)
    assert _grade(node.db, key) == winner


def test_an_edit_made_after_pulling_the_correction_is_not_a_conflict(central, make_node, run_massar) -> None:
    node = make_node("SA01")
    fill_school(node, seed=4, pupils=20, classes=3, absence_days=2)
    sync(node)
    key = _a_scored_grade(node.db)

    _directorate_corrects(run_massar, central, key, "13.5")
    pulled = sync(node)
    assert pulled.pulled == 1 and _grade(node.db, key)[6] == 1350

    # The secretary now edits on top of the correction: it simply replaces it, even with an earlier clock.
    node.db.execute("UPDATE _clock SET offset_ms = -60000")
    _secretary_edits(node, key, "14")
    result = sync(node)
    assert result.pushed == 1 and result.conflicts == 0
    with central.db() as db:
        assert _grade(db, key)[6] == 1400
        assert db.execute("SELECT COUNT(*) FROM _conflicts").fetchone()[0] == 0
    assert _grade(node.db, key)[6] == 1400
    assert _conflicts_cli(run_massar, central) == []
    assert _node_status(run_massar, node)["conflicts"] == 0
