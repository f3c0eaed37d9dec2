"""The node reads its outbox two ways (syncclient/outbox.py): each entry looked up by its key, or,
when most of a table waits, the table read whole and matched to the outbox's index. Both must give
the same changes, deleted rows and re-keyed rows included."""

from __future__ import annotations

from pathlib import Path

import pytest

import sample
from domain.database import write_transaction
from domain.pupils import Term
from protocol.tables import BY_NAME
from syncclient import outbox
from syncclient.store import NodeStore

from .helpers import YEAR

SCHOOL = "04512K"


@pytest.fixture
def node(tmp_path: Path) -> NodeStore:
    store = NodeStore.init(tmp_path / "node", SCHOOL, name="Collège test", year=YEAR)
    term = Term(SCHOOL, YEAR)
    made = sample.make_school(store.db, term, seed=3, pupils=60, classes=3)
    sample.semester_grades(store.db, term, made, 1, seed=3)
    return store


def by_key_lookups(store: NodeStore, limit: int) -> list:
    """pending_changes with the whole-table read turned off: every entry looked up by its key."""
    saved = outbox._scan_join
    outbox._scan_join = lambda *args: []
    try:
        return outbox.pending_changes(store.db, SCHOOL, limit)
    finally:
        outbox._scan_join = saved


@pytest.mark.parametrize("limit", [1, 300, 10**6], ids=["one", "some", "all"])
def test_both_reads_give_the_same_changes(node: NodeStore, limit: int) -> None:
    grades = BY_NAME["grades"]
    assert outbox._scan_join(node.db, grades, grades.wire_id, "", []), "a semester of marks is read whole"
    assert outbox.pending_changes(node.db, SCHOOL, limit) == by_key_lookups(node, limit)


def test_deleted_and_rekeyed_rows_fall_back_to_key_lookups(node: NodeStore) -> None:
    with write_transaction(node.db):
        node.db.conn.execute("DELETE FROM grades WHERE rowid IN (SELECT rowid FROM grades LIMIT 5)")
        node.db.conn.execute(
            "UPDATE grades SET assessment = 4 WHERE rowid IN (SELECT rowid FROM grades WHERE assessment = 5 LIMIT 2)"
        )
    grades = BY_NAME["grades"]
    assert outbox._scan_join(node.db, grades, grades.wire_id, "", []) == [], "an entry without its row"
    changes = outbox.pending_changes(node.db, SCHOOL, 10**6)
    assert changes == by_key_lookups(node, 10**6)
    assert sum(c.row is None for c in changes) == 7  # 5 deleted, 2 moved off their old key
