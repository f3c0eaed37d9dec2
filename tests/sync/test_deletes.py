"""Deletes travel as tombstones, both ways."""

from __future__ import annotations

from domain.database import write_transaction
from domain.grades import delete_grade
from domain.replication import key_slots
from domain.rows import delete_keys
from protocol.messages import SyncRequest
from protocol.tables import BY_NAME

from .helpers import SCHOOL_TABLES, RecordingTransport, fill_school, recording_client, rows, sync


def _version(db, table: str, key: tuple):
    return db.execute(
        "SELECT origin, deleted FROM _versions WHERE tbl = ? AND k1 = ? AND k2 = ? AND k3 = ? AND k4 = ? AND k5 = ?",
        [BY_NAME[table].wire_id, *key_slots(key)],
    ).fetchone()


def test_a_node_delete_travels_as_a_tombstone_and_removes_the_central_row(central, make_node) -> None:
    node = make_node("SA01")
    fill_school(node, seed=7, pupils=20, absence_days=5)
    sync(node)
    grade = tuple(node.db.execute("SELECT year, pupil, subject, semester, assessment FROM grades LIMIT 1").fetchone())
    absence = tuple(node.db.execute("SELECT pupil, day FROM absences LIMIT 1").fetchone())
    with central.db() as db:
        assert rows(db, "grades", "SA01") == rows(node.db, "grades")

    delete_grade(node.db, node.term, grade[1], grade[2], grade[3], grade[4])
    with write_transaction(node.db):
        delete_keys(node.db, "absences", [absence])
    assert node.db.execute("SELECT COUNT(*) FROM _outbox").fetchone()[0] == 2

    transport = RecordingTransport()
    with recording_client(central.url, transport) as client:
        result = sync(node, client=client)
    assert result.pushed == 2 and result.pending == 0
    pushed = [c for e in transport.exchanges if isinstance(e.request, SyncRequest) for c in e.request.push]
    assert {(c.table, c.key, c.row) for c in pushed} == {("grades", grade, None), ("absences", absence, None)}

    with central.db() as db:
        for table in SCHOOL_TABLES:
            assert rows(db, table, "SA01") == rows(node.db, table), table
        assert (
            db.execute(
                "SELECT COUNT(*) FROM grades WHERE year = ? AND pupil = ? AND subject = ? AND semester = ? AND assessment = ?",
                list(grade),
            ).fetchone()[0]
            == 0
        )
        assert db.execute("SELECT COUNT(*) FROM absences WHERE pupil = ? AND day = ?", list(absence)).fetchone()[0] == 0
        # The tombstone is kept as the record's version, so it is not resurrected by an older copy.
        assert _version(db, "grades", grade) == ("SA01", 1)
        assert _version(db, "absences", absence) == ("SA01", 1)


def test_a_central_delete_reaches_the_node(central, make_node) -> None:
    node = make_node("SA01")
    fill_school(node, seed=8, pupils=20, absence_days=5)
    sync(node)
    absence = tuple(node.db.execute("SELECT pupil, day FROM absences LIMIT 1").fetchone())
    before = rows(node.db, "absences")

    with central.db() as db, write_transaction(db):
        delete_keys(db, "absences", [absence])
    with central.db() as db:
        assert _version(db, "absences", absence) == ("central", 1)

    result = sync(node)
    assert result.pulled == 1
    assert (
        node.db.execute("SELECT COUNT(*) FROM absences WHERE pupil = ? AND day = ?", list(absence)).fetchone()[0] == 0
    )
    assert rows(node.db, "absences") == {r for r in before if (r[1], r[2]) != absence}
    # Applying the server's delete is not a local change to send back.
    assert node.db.execute("SELECT COUNT(*) FROM _outbox").fetchone()[0] == 0
    with central.db() as db:
        for table in SCHOOL_TABLES:
            assert rows(db, table, "SA01") == rows(node.db, table), table
    idle = sync(node)
    assert (idle.requests, idle.pushed, idle.pulled) == (1, 0, 0)
