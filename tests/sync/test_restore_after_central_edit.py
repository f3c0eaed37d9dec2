"""A node restored from a backup whose last sync the centre could not tell apart from the restored node.

The convergence machine found it on PostgreSQL (tests/faults/test_convergence.py, one run in four; the
bug is the same on SQLite): a school records two absences after its backup and syncs once; its PC dies
and the backup comes back; the restored node sends the cursor its backup had (the last one it sent) and
reuses the numbers of the lost edits, its first one on the same record. The centre took that number for
the edit it had applied (the same record under the same number, or a record the directorate corrected
since), skipped it, and never gave the node its lost absence back. The node sees it is behind (the
acknowledgement is above every number it issued) and asks once more, pushing nothing, from a cursor
below the one it sent (SPEC 10.5), which shows the centre the restore.
"""

from __future__ import annotations

import shutil
import sqlite3

import pytest

import sample
from domain import absences
from domain.pupils import Term
from syncclient.store import NodeStore

from .helpers import SCHOOL_TABLES, YEAR, rows, sync

DAYS = sample.school_days(YEAR, 1)[:3]


def _absence(store: NodeStore, pupil: str, day: int, hours: int, justified: bool = False) -> None:
    entry = absences.AbsenceEntry(pupil, DAYS[day], hours, justified, "شهادة طبية" if justified else None, "test")
    absences.record_absences(store.db, store.term, [entry])


@pytest.mark.parametrize("central_justifies", [True, False], ids=["centre-edited-since", "same-number-same-record"])
def test_a_node_restored_behind_its_only_sync_gets_its_lost_edits_back(
    central, make_node, tmp_path, central_justifies: bool
) -> None:
    node = make_node("CB02")
    pupil = sample.make_school(node.db, node.term, seed=101, pupils=6, classes=3).pupils[1]
    folder = node.path.parent
    backup = tmp_path / "backup.sqlite"
    target = sqlite3.connect(backup)
    try:
        node.db.conn.backup(target)
    finally:
        target.close()
    _absence(node, pupil, 1, 251)
    _absence(node, pupil, 2, 93)
    assert sync(node).pending == 0
    node.close()

    for suffix in ("", "-wal", "-shm"):
        (folder / f"node.sqlite{suffix}").unlink(missing_ok=True)
    shutil.copyfile(backup, folder / "node.sqlite")
    restored = NodeStore.open(folder, clock=central.clock)
    try:
        central.clock.advance(1000)
        if central_justifies:
            with central.db() as db:
                absences.justify_absence(db, Term("CB02", YEAR), pupil, DAYS[1], "Décision de la direction")
        central.clock.advance(1000)
        _absence(restored, pupil, 1, 162, justified=True)
        assert sync(restored).pending == 0
        with central.db() as db:
            at_centre = {t: rows(db, t, "CB02") for t in SCHOOL_TABLES}
        # The absence of day 2 (lost with the PC) came back; day 1 is the restored node's newer edit.
        assert {(r[2], r[3]) for r in at_centre["absences"]} == {(DAYS[1].isoformat(), 162), (DAYS[2].isoformat(), 93)}
        assert {t: rows(restored.db, t, "CB02") for t in SCHOOL_TABLES} == at_centre
        result = sync(restored)
        assert (result.pushed, result.pulled, result.pending) == (0, 0, 0)
    finally:
        restored.close()
