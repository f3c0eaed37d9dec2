"""A school PC whose clock is years ahead (dead CMOS battery) cannot make its edits win forever:
the central clamps its stamps, corrects the node's clock, and a later correction still wins."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from domain.grades import GradeEntry, record_grades
from protocol import hlc as hlc_clock
from protocol.tables import BY_NAME

from .conftest import both_backends
from .helpers import fill_school, sync

pytestmark = both_backends

FIVE_YEARS_MS = 5 * 365 * 24 * 3600 * 1000
GRADES = BY_NAME["grades"]


def _score(db, key) -> int:
    return db.execute(
        "SELECT score FROM grades WHERE year = ? AND pupil = ? AND subject = ? AND semester = ? AND assessment = ?",
        list(key),
    ).fetchone()[0]


def _version(central, key) -> tuple:
    found = central.version_of("grades", tuple(key))
    return None if found is None else found[:2]


def _correct(central, key, score: str) -> None:
    central.correct_grade(key[0], GradeEntry(key[1], key[2], key[3], key[4], Decimal(score)))


def _edit(db, term, key, score: str) -> None:
    record_grades(db, term, [GradeEntry(key[1], key[2], key[3], key[4], Decimal(score))])


@pytest.mark.parametrize("how", ["offset", "hlc"])
def test_a_clock_years_ahead_is_clamped_corrected_and_does_not_win_later(central, make_node, clock, how: str) -> None:
    _now_ms = clock.now_ms
    node = make_node("SA01")
    fill_school(node, seed=9, pupils=15, absence_days=2)
    sync(node)
    key = node.db.execute(
        "SELECT year, pupil, subject, semester, assessment FROM grades "
        "WHERE assessment = 1 AND score IS NOT NULL AND score < 1500 LIMIT 1"
    ).fetchone()

    if how == "offset":
        node.db.execute("UPDATE _clock SET offset_ms = ?", [FIVE_YEARS_MS])
    else:
        node.db.execute("UPDATE _clock SET hlc = ?", [hlc_clock.pack(_now_ms() + FIVE_YEARS_MS, 0)])
    _edit(node.db, node.term, key, "11")
    stamped = node.db.execute("SELECT hlc FROM _outbox").fetchone()[0]
    assert hlc_clock.wall_ms(stamped) > _now_ms() + FIVE_YEARS_MS - 60_000  # the edit carries the bad clock

    result = sync(node)
    after = _now_ms()
    assert result.pushed == 1
    with central.db() as db:
        assert _score(db, key) == 1100
    origin, stored = _version(central, key)
    assert origin == "SA01"
    # Clamped: at most MAX_SKEW past the server's clock at the time (which is before `after`).
    assert stored < stamped
    assert hlc_clock.wall_ms(stored) <= after + hlc_clock.MAX_SKEW_MS

    # The node's clock was corrected: offset near 0, HLC back near real time.
    offset, node_hlc = node.db.execute("SELECT offset_ms, hlc FROM _clock").fetchone()
    assert abs(offset) < 5_000, offset
    assert hlc_clock.wall_ms(node_hlc) <= _now_ms() + hlc_clock.MAX_SKEW_MS

    # The secretary edits the mark again offline; a moment later the directorate corrects it.
    # Concurrent edits: the later one (the correction) must win, which it would not if the
    # node still stamped with its bad clock (its edit would be clamped to now + MAX_SKEW).
    _edit(node.db, node.term, key, "12")
    node_edit = node.db.execute("SELECT hlc FROM _outbox").fetchone()[0]
    clock.advance(5)
    _correct(central, key, "13")
    _, correction = _version(central, key)
    assert correction > node_edit

    result = sync(node)
    assert result.conflicts >= 1
    with central.db() as db:
        assert _score(db, key) == 1300
        lost = db.execute("SELECT loser_origin, loser_row FROM _conflicts").fetchall()
    assert _score(node.db, key) == 1300
    assert [(o, json.loads(r)[6]) for o, r in lost] == [("SA01", 1200)]

    # And a correction made after everything reaches the node like any other.
    _correct(central, key, "14.5")
    assert sync(node).pulled == 1
    assert _score(node.db, key) == 1450
