"""Devices, restores and transfers, through the `massar` CLI and a real central server (issue 11).

Each scenario drives the operator's and the secretary's commands in subprocesses
against the central server of the `central` fixture (uvicorn on 127.0.0.1):
a replaced PC gets the whole school back; a node restored from an old backup
and used offline loses nothing; two devices of a school converge; a pupil who
arrives from another school syncs without blocking anything and brings the
marks of his first semester.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from domain import incidents
from domain.grades import GradeEntry, record_grades
from domain.pupils import Term
from syncclient.store import NodeStore
from tests.support.clock import ManualClock

from .helpers import SCHOOL_TABLES, YEAR, fill_school, rows, sync

GRADE_KEY = "year = ? AND pupil = ? AND subject = ? AND semester = ? AND assessment = ?"


def _massar(run_massar, *args: str, data: Path) -> dict | list:
    return json.loads(run_massar(*args, "--json", data=data).stdout)


def _add_device(run_massar, central, school: str, name: str) -> dict:
    return _massar(run_massar, "server", "add-device", "--school", school, "--name", name, data=central.folder)


def _init(run_massar, folder: Path, school: str, central, token: str) -> dict:
    return _massar(
        run_massar, "node", "init", "--school", school, "--year", YEAR, "--server", central.url, "--token", token,
        data=folder,
    )  # fmt: skip


def _school_rows(db, school: str) -> dict[str, set[tuple]]:
    return {t: rows(db, t, school) for t in SCHOOL_TABLES}


def _central_rows(central, school: str) -> dict[str, set[tuple]]:
    with central.db() as db:
        return _school_rows(db, school)


def _node_rows(folder: Path, school: str) -> dict[str, set[tuple]]:
    store = NodeStore.open(folder)
    try:
        return _school_rows(store.db, school)
    finally:
        store.close()


def _edit(store: NodeStore, key: tuple, score: str) -> None:
    record_grades(store.db, store.term, [GradeEntry(key[1], key[2], key[3], key[4], Decimal(score))])


def _score(db, key: tuple) -> int | None:
    row = db.execute(f"SELECT score FROM grades WHERE {GRADE_KEY}", list(key)).fetchone()
    return None if row is None else row[0]


def test_a_replaced_pc_restores_the_whole_school(central, make_node, run_massar, tmp_path: Path) -> None:
    old = make_node("SA01")
    fill_school(old, seed=4, pupils=12, absence_days=3)
    sync(old)
    device = _add_device(run_massar, central, "SA01", "new secretariat PC")
    assert device["school"] == "SA01" and device["device"] != "SA01" and device["token"].startswith(device["device"])

    new = tmp_path / "new-pc"
    assert _init(run_massar, new, "SA01", central, device["token"])["device"] == device["device"]
    result = _massar(run_massar, "node", "sync", data=new)
    assert result["pulled"] > 100 and result["rejected"] == 0

    assert _node_rows(new, "SA01") == _central_rows(central, "SA01")
    pupils = sorted(r[0] for r in _central_rows(central, "SA01")["pupils"])
    for pupil in pupils[:4]:  # the report a director prints, on the new PC and at the centre
        node_report = _massar(run_massar, "node", "report", "--student", pupil, data=new)
        central_report = _massar(
            run_massar, "server", "report", "--student", pupil, "--year", YEAR, data=central.folder
        )
        assert node_report["semesters"] == central_report["semesters"], pupil
    listed = _massar(run_massar, "server", "schools", data=central.folder)
    (school,) = [s for s in listed if s["school"] == "SA01"]
    assert {d["device"] for d in school["devices"]} == {"SA01", device["device"]}
    assert all(d["last_sync"] for d in school["devices"])


def test_a_pc_reinstalled_with_the_schools_own_token_gets_its_own_edits_back(
    central, make_node, run_massar, tmp_path: Path
) -> None:
    old = make_node("SA01")
    fill_school(old, seed=5, pupils=12, absence_days=2)
    sync(old)
    fresh = tmp_path / "reinstalled"
    _init(run_massar, fresh, "SA01", central, central.tokens["SA01"])
    _massar(run_massar, "node", "sync", data=fresh)
    assert _node_rows(fresh, "SA01") == _central_rows(central, "SA01")


def _marked(store: NodeStore, limit: int, order: str = "pupil") -> list[tuple]:
    """Keys of the first `limit` marks with a score, by `order`."""
    return store.db.execute(
        "SELECT year, pupil, subject, semester, assessment FROM grades WHERE score IS NOT NULL "
        f"ORDER BY {order} LIMIT ?",
        [limit],
    ).fetchall()


def _backup(store: NodeStore, to: Path) -> None:
    target = sqlite3.connect(to)
    try:
        store.db.conn.backup(target)
    finally:
        target.close()


def _restore(backup: Path, folder: Path, clock: ManualClock) -> NodeStore:
    """The dead PC's database replaced by the backup, as a technician would, and opened again."""
    (folder / "node.sqlite").unlink()
    for suffix in ("-wal", "-shm"):
        (folder / f"node.sqlite{suffix}").unlink(missing_ok=True)
    backup.rename(folder / "node.sqlite")
    return NodeStore.open(folder, clock=clock)


def test_a_backup_restored_then_used_offline_loses_nothing(central, make_node, tmp_path: Path) -> None:
    node = make_node("SA01")
    fill_school(node, seed=6, pupils=12, absence_days=2)
    sync(node)
    folder = node.path.parent
    keys = _marked(node, 3, order="pupil, subject")
    backup = tmp_path / "backup.sqlite"
    _backup(node, backup)

    # After the backup: marks entered and synced; then the PC dies.
    _edit(node, keys[0], "17")
    _edit(node, keys[1], "16.5")
    assert sync(node).pushed == 2
    node.close()

    # The backup is restored and used offline before its next sync: a new mark, and keys[1] again.
    restored = _restore(backup, folder, central.clock)
    try:
        central.clock.advance(1000)
        _edit(restored, keys[2], "8.25")
        _edit(restored, keys[1], "15")
        result = sync(restored)
        assert result.pending == 0 and not result.errors
        with central.db() as db:
            assert [_score(db, k) for k in keys] == [1700, 1500, 825]
        # The edit synced after the backup came back to the restored PC.
        assert [_score(restored.db, k) for k in keys] == [1700, 1500, 825]
        assert _school_rows(restored.db, "SA01") == _central_rows(central, "SA01")
        # And its numbering continues above what the centre acknowledged: a later edit is not skipped.
        _edit(restored, keys[0], "18")
        assert sync(restored).pushed == 1
        with central.db() as db:
            assert _score(db, keys[0]) == 1800
    finally:
        restored.close()


def test_a_backup_restored_and_never_edited_gets_its_lost_edits_back_at_its_next_pull(
    central, make_node, tmp_path: Path
) -> None:
    """Its cursor did not go back (the backup was taken right after a sync) and it has nothing to push:
    the answer's acknowledgement above its own numbers gives it away, and the same sync pulls back
    the edits made after the backup, with one more request. A sync with nothing to do stays one."""
    node = make_node("SA01")
    fill_school(node, seed=12, pupils=8, absence_days=1)
    sync(node)
    assert (sync(node).requests, sync(node).pulled) == (1, 0)  # the backup's cursor is the last one sent
    folder = node.path.parent
    keys = _marked(node, 2)
    backup = tmp_path / "backup.sqlite"
    _backup(node, backup)
    _edit(node, keys[0], "17")
    _edit(node, keys[1], "4.5")
    assert sync(node).pushed == 2
    node.close()

    restored = _restore(backup, folder, central.clock)
    try:
        central.clock.advance(1000)
        result = sync(restored)
        assert result.pushed == 0 and result.pending == 0 and not result.errors
        assert result.requests == 2 and result.pulled >= 2
        assert [_score(restored.db, k) for k in keys] == [1700, 450]
        assert _school_rows(restored.db, "SA01") == _central_rows(central, "SA01")
        assert sync(restored).requests == 1
        # Its numbering continues above the centre's: a later edit is applied, not skipped.
        _edit(restored, keys[1], "5")
        assert sync(restored).pushed == 1
        with central.db() as db:
            assert _score(db, keys[1]) == 500
    finally:
        restored.close()


def test_a_backup_from_before_the_first_sync_restored_later_gets_its_lost_edits_back(
    central, make_node, tmp_path: Path
) -> None:
    """The backup's pending roster was applied since (so resending it shows nothing) and its cursor is 0:
    only the answer's acknowledgement shows the restore, and the same sync repairs it."""
    node = make_node("SA01")
    fill_school(node, seed=13, pupils=8, absence_days=1)
    folder = node.path.parent
    backup = tmp_path / "backup.sqlite"
    _backup(node, backup)  # everything still pending, never synced
    # A record the backup does not hold at all (resending the backup's own pending rows shows nothing),
    # then the node's only sync: one request, so the only cursor the centre ever got from it is 0.
    pupil = node.db.execute("SELECT pupil FROM enrolments ORDER BY pupil LIMIT 1").fetchone()[0]
    day = dt.date.fromisoformat(YEAR[:4] + "-10-06")
    incidents.record_incident(node.db, node.term, pupil, day, "Retard répété", "Avertissement")
    first = sync(node)
    assert first.requests == 1 and first.pending == 0
    node.close()

    restored = _restore(backup, folder, central.clock)
    try:
        central.clock.advance(1000)
        result = sync(restored)
        assert result.pending == 0 and result.rejected == 0 and not result.errors
        assert restored.db.execute("SELECT description FROM incidents WHERE pupil = ?", [pupil]).fetchall() == [
            ("Retard répété",)
        ]
        assert _school_rows(restored.db, "SA01") == _central_rows(central, "SA01")
        assert sync(restored).requests == 1
    finally:
        restored.close()


@pytest.mark.parametrize("lost_edit_corrected", [False, True], ids=["lost-edit-kept", "lost-edit-corrected-since"])
def test_a_restored_pc_whose_first_edit_reuses_a_lost_number_on_a_record_the_centre_wrote_is_seen(
    central, make_node, tmp_path: Path, lost_edit_corrected: bool
) -> None:
    """The PC's edit after the backup reached the centre under number n; restored, the PC gives n to its
    next edit, of a mark last written by the directorate. The record's version (the directorate's) cannot
    tell the two edits apart. The number can, while the centre holds this device's n for another record;
    once the directorate has corrected that record too, the stamps can: the directorate's version of the
    record edited is older than the edit. Before, the new mark was taken for a resend and dropped, and the
    lost edit never came back (convergence CI)."""
    node = make_node("SA01")
    fill_school(node, seed=14, pupils=8, absence_days=1)
    sync(node)
    keys = _marked(node, 2)
    term = Term("SA01", YEAR)
    with central.db() as db:
        record_grades(db, term, [GradeEntry(*keys[1][1:], Decimal("12"))])
    assert sync(node).pulled == 1  # the backup below holds the directorate's correction
    folder = node.path.parent
    backup = tmp_path / "backup.sqlite"
    _backup(node, backup)
    _edit(node, keys[0], "17")
    assert sync(node).pushed == 1
    node.close()
    if lost_edit_corrected:
        central.clock.advance(1000)
        with central.db() as db:
            record_grades(db, term, [GradeEntry(*keys[0][1:], Decimal("18"))])

    restored = _restore(backup, folder, central.clock)
    try:
        central.clock.advance(1000)
        _edit(restored, keys[1], "13.5")
        result = sync(restored)
        assert result.pending == 0 and not result.errors
        expected = [1800 if lost_edit_corrected else 1700, 1350]
        with central.db() as db:
            assert [_score(db, k) for k in keys] == expected
        assert [_score(restored.db, k) for k in keys] == expected
        assert _school_rows(restored.db, "SA01") == _central_rows(central, "SA01")
        assert sync(restored).requests == 1
    finally:
        restored.close()


def test_a_restored_pc_that_enters_a_lost_mark_again_with_another_value_is_seen(
    central, make_node, tmp_path: Path
) -> None:
    """The mark entered after the backup reached the centre under number n; restored, the PC enters the
    same mark again, with another value, and gives it n again. Same record, same number: only the row
    tells a resend from a new edit. Before, the centre kept 16.5 and the PC showed 15, silently."""
    node = make_node("SA01")
    fill_school(node, seed=6, pupils=12, absence_days=2)
    sync(node)
    key = _marked(node, 1)[0]
    folder = node.path.parent
    backup = tmp_path / "backup.sqlite"
    _backup(node, backup)
    _edit(node, key, "16.5")
    assert sync(node).pushed == 1
    node.close()

    restored = _restore(backup, folder, central.clock)
    try:
        central.clock.advance(1000)
        _edit(restored, key, "15")
        result = sync(restored)
        assert result.pending == 0 and not result.errors
        with central.db() as db:
            assert _score(db, key) == 1500
        assert _score(restored.db, key) == 1500
        assert _school_rows(restored.db, "SA01") == _central_rows(central, "SA01")
    finally:
        restored.close()


def test_two_devices_of_a_school_converge(central, make_node, run_massar, tmp_path: Path) -> None:
    office = make_node("SA01")
    fill_school(office, seed=7, pupils=12, absence_days=2)
    sync(office)
    device = _add_device(run_massar, central, "SA01", "parents terminal")
    terminal = NodeStore.init(
        tmp_path / "terminal", "SA01", year=YEAR, server=central.url, clock=central.clock, device=device["device"],
        node_key=__import__("protocol.auth", fromlist=["x"]).node_key_from_token(device["device"], device["token"]).hex(),
    )  # fmt: skip
    try:
        sync(terminal)
        keys = office.db.execute(
            "SELECT year, pupil, subject, semester, assessment FROM grades WHERE score IS NOT NULL LIMIT 2"
        ).fetchall()
        _edit(office, keys[0], "12")
        central.clock.advance(10)
        _edit(terminal, keys[1], "13")
        for store in (office, terminal, office):
            sync(store)
        expected = _central_rows(central, "SA01")
        assert _school_rows(office.db, "SA01") == expected
        assert _school_rows(terminal.db, "SA01") == expected
        assert [_score(terminal.db, k) for k in keys] == [1200, 1300]
        # A revoked device stops at once; the other goes on.
        run_massar("server", "revoke-device", "--device", device["device"], data=central.folder)
        assert sync(office).requests == 1
    finally:
        terminal.close()


def test_an_arriving_pupil_syncs_without_blocking_and_brings_his_first_semester(central, make_node, run_massar) -> None:
    a, b = make_node("SA01"), make_node("SB02")
    fill_school(a, seed=8, pupils=12, absence_days=3)
    fill_school(b, seed=9, pupils=12, absence_days=3)
    sync(a)
    sync(b)
    pupil, level = a.db.execute(
        "SELECT e.pupil, c.level FROM enrolments e JOIN classes c ON c.school = e.school AND c.year = e.year "
        "AND c.code = e.class ORDER BY e.pupil LIMIT 1"
    ).fetchone()
    klass = b.db.execute("SELECT code FROM classes WHERE level = ? LIMIT 1", [level]).fetchone()[0]
    marks_at_a = a.db.execute("SELECT * FROM grades WHERE pupil = ? AND semester = 1", [pupil]).fetchall()
    assert marks_at_a
    folder_b = b.path.parent

    _massar(run_massar, "node", "leave", "--student", pupil, "--date", "2025-01-20", "--to", "SB02", data=a.path.parent)
    admitted = _massar(
        run_massar, "node", "admit", "--student", pupil, "--class", klass, "--from", "SA01", data=folder_b
    )
    assert admitted["student"] == pupil
    result = _massar(run_massar, "node", "sync", data=folder_b)
    assert result["rejected"] == 0 and result["pending"] == 0
    # The earlier record arrived with the next sync (the centre shares it after the admission).
    _massar(run_massar, "node", "sync", data=folder_b)
    b_marks = b.db.execute("SELECT * FROM grades WHERE pupil = ? AND semester = 1", [pupil]).fetchall()
    assert sorted(b_marks) == sorted(marks_at_a)
    assert b.db.execute("SELECT school FROM pupils WHERE code = ?", [pupil]).fetchone() == ("SB02",)
    report = _massar(run_massar, "node", "report", "--student", pupil, "--semester", "1", data=folder_b)
    assert report["school"] == "SB02" and report["semesters"]

    # The new school's marks for the pupil go through; the old school's edit of him is refused alone.
    b_key = (YEAR, pupil, marks_at_a[0][3], 2, 1)
    _edit(b, b_key, "14")
    assert sync(b).rejected == 0
    a_key = tuple(marks_at_a[0][i] for i in (1, 2, 3, 4, 5))
    _edit(a, a_key, "3")
    other = a.db.execute(
        "SELECT year, pupil, subject, semester, assessment FROM grades WHERE pupil != ? LIMIT 1", [pupil]
    ).fetchone()
    _edit(a, other, "11.75")
    result = sync(a)
    assert result.rejected == 1 and result.pushed >= 1
    with central.db() as db:
        assert _score(db, b_key) == 1400 and _score(db, other) == 1175
        assert _score(db, a_key) == marks_at_a[0][6]


def test_a_departure_reaches_the_centre_even_after_the_new_school_took_the_pupil(
    central, make_node, run_massar
) -> None:
    a, b = make_node("SA01"), make_node("SB02")
    fill_school(a, seed=10, pupils=8, absence_days=1)
    fill_school(b, seed=11, pupils=8, absence_days=1)
    sync(a)
    sync(b)
    leaver, mover = [r[0] for r in a.db.execute("SELECT pupil FROM enrolments ORDER BY pupil LIMIT 2").fetchall()]
    klass = b.db.execute("SELECT code FROM classes ORDER BY code LIMIT 1").fetchone()[0]
    # The new school admits and syncs first: the pupil is SB02's at the centre before SA01 says he left.
    _massar(run_massar, "node", "admit", "--student", mover, "--class", klass, "--from", "SA01", data=b.path.parent)
    assert _massar(run_massar, "node", "sync", data=b.path.parent)["rejected"] == 0

    folder_a = a.path.parent
    _massar(run_massar, "node", "leave", "--student", mover, "--date", "2025-01-20", "--to", "SB02", data=folder_a)
    _massar(run_massar, "node", "leave", "--student", leaver, "--date", "2025-02-03", data=folder_a)
    result = _massar(run_massar, "node", "sync", data=folder_a)
    assert result["rejected"] == 0 and result["pending"] == 0
    with central.db() as db:
        departures = db.execute("SELECT school, year, pupil, left_on, kind, to_school FROM departures").fetchall()
        still_enrolled = db.execute("SELECT count(*) FROM enrolments WHERE school = 'SA01' AND pupil = ?", [leaver])
        assert still_enrolled.fetchone() == (1,)  # the history stays where it was
    assert sorted(departures) == sorted(
        [("SA01", YEAR, leaver, "2025-02-03", "left", None), ("SA01", YEAR, mover, "2025-01-20", "transfer", "SB02")]
    )
    assert _node_rows(folder_a, "SA01")["departures"] == _central_rows(central, "SA01")["departures"]
