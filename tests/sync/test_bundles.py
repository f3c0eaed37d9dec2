"""Bundles: a school that never connects exchanges with the centre on a USB stick (issue 12).

Everything goes through the `massar` CLI in subprocesses on real SQLite files:
the school exports a bundle, the centre imports it once and writes a reply,
the school imports the reply. Replays (twice, an old bundle after a newer
online sync, a reply after an online sync) change nothing; tampered, truncated
and foreign files are refused with one line and nothing applied.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from protocol.bundle import KIND_REPLY, decode_bundle
from syncclient.bundles import export_bundle
from syncclient.store import NodeStore
from tests.support.digests import central_digest, node_digest

from .helpers import SCHOOL_TABLES, YEAR, fill_school, rows, sync


def _json(run_massar, *args: str, data: Path) -> dict:
    return json.loads(run_massar(*args, "--json", data=data).stdout)


@pytest.fixture
def centre(run_massar, tmp_path: Path) -> Path:
    folder = tmp_path / "centre"
    run_massar("server", "init", data=folder)
    return folder


def _offline_school(run_massar, centre: Path, folder: Path, school: str = "SB01") -> str:
    """A school registered at the centre whose node has the token but no server: bundles only."""
    token = _json(run_massar, "server", "add-school", "--school", school, "--name", "فرعية", data=centre)["token"]
    run_massar("node", "init", "--school", school, "--year", YEAR, f"--token={token}", data=folder)
    return token


def _fill(folder: Path, seed: int, pupils: int = 20) -> None:
    store = NodeStore.open(folder)
    try:
        fill_school(store, seed, pupils=pupils, absence_days=4)
    finally:
        store.close()


def _school_rows(path: Path, school: str) -> dict[str, set[tuple]]:
    import sqlite_utils

    db = sqlite_utils.Database(path)
    try:
        return {t: rows(db, t, school) for t in SCHOOL_TABLES}
    finally:
        db.conn.close()


def _round_trip(run_massar, centre: Path, node: Path, name: str) -> tuple[dict, dict, Path]:
    bundle = node.parent / f"{name}.massar"
    exported = _json(run_massar, "node", "export-bundle", "-o", str(bundle), data=node)
    applied = _json(run_massar, "server", "import-bundle", str(bundle), data=centre)
    replied = _json(run_massar, "node", "import-bundle", applied["reply"], data=node)
    return exported, replied, bundle


def test_a_school_that_never_connects_ends_equal_to_the_centre(run_massar, centre: Path, tmp_path: Path) -> None:
    node = tmp_path / "school"
    _offline_school(run_massar, centre, node)
    _fill(node, seed=21)
    exported, replied, _ = _round_trip(run_massar, centre, node, "semester")
    assert exported["changes"] > 500 and replied["acknowledged"] == exported["changes"] and replied["pending"] == 0
    assert _school_rows(node / "node.sqlite", "SB01") == _school_rows(centre / "central.sqlite", "SB01")

    # The directorate corrects a mark at the centre; the correction travels back in the next reply.
    pupil, subject = _a_mark(node)
    run_massar(
        "server", "grade", "--student", pupil, "--subject", subject, "--semester", "1", "--assessment", "1",
        "--score", "13.5", "--year", YEAR, data=centre,
    )  # fmt: skip
    run_massar("node", "absence", "--student", pupil, "--date", "2025-03-03", "--full-day", data=node)
    _, replied, _ = _round_trip(run_massar, centre, node, "week")
    assert replied["acknowledged"] == 1 and replied["pulled"] >= 1
    assert _school_rows(node / "node.sqlite", "SB01") == _school_rows(centre / "central.sqlite", "SB01")
    node_report = _json(run_massar, "node", "report", "--student", pupil, data=node)
    central_report = _json(run_massar, "server", "report", "--student", pupil, "--year", YEAR, data=centre)
    assert node_report["semesters"] == central_report["semesters"]


def _a_mark(folder: Path) -> tuple[str, str]:
    import sqlite3

    conn = sqlite3.connect(folder / "node.sqlite")
    try:
        row = conn.execute(
            "SELECT pupil, subject FROM grades WHERE semester = 1 AND assessment = 1 AND score IS NOT NULL "
            "ORDER BY pupil, subject LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    return row[0], row[1]


def test_a_new_pc_gets_the_whole_school_back_through_a_bundle(run_massar, centre: Path, tmp_path: Path) -> None:
    node = tmp_path / "school"
    _offline_school(run_massar, centre, node)
    _fill(node, seed=22, pupils=100)  # over one 4,000-record page: the reply carries several
    _round_trip(run_massar, centre, node, "first")
    device = _json(run_massar, "server", "add-device", "--school", "SB01", "--name", "new PC", data=centre)
    fresh = tmp_path / "new-pc"
    run_massar("node", "init", "--school", "SB01", "--year", YEAR, f"--token={device['token']}", data=fresh)
    exported, replied, bundle = _round_trip(run_massar, centre, fresh, "restore")
    assert exported["changes"] == 0 and replied["pulled"] > 4000
    reply = Path(str(bundle) + ".reply").read_bytes()
    store = NodeStore.open(fresh)
    try:
        assert len(decode_bundle(reply, KIND_REPLY, bytes.fromhex(store.setting("node_key"))).entries) > 1
    finally:
        store.close()
    assert _school_rows(fresh / "node.sqlite", "SB01") == _school_rows(centre / "central.sqlite", "SB01")


def test_importing_twice_changes_nothing_and_says_so(run_massar, centre: Path, tmp_path: Path) -> None:
    node = tmp_path / "school"
    _offline_school(run_massar, centre, node)
    _fill(node, seed=23)
    bundle = tmp_path / "b.massar"
    run_massar("node", "export-bundle", "-o", str(bundle), data=node)
    first = _json(run_massar, "server", "import-bundle", str(bundle), "-o", str(tmp_path / "r1"), data=centre)
    assert first["changed"]
    before = central_digest(centre / "central.sqlite")
    again = run_massar("server", "import-bundle", str(bundle), "-o", str(tmp_path / "r2"), data=centre)
    assert "already applied" in again.stdout and len(again.stdout.strip().splitlines()) == 1
    assert central_digest(centre / "central.sqlite") == before and not (tmp_path / "r2").exists()

    run_massar("node", "import-bundle", str(tmp_path / "r1"), data=node)
    before = node_digest(node / "node.sqlite")
    again = run_massar("node", "import-bundle", str(tmp_path / "r1"), data=node)
    assert "nothing changed" in again.stdout and len(again.stdout.strip().splitlines()) == 1
    assert node_digest(node / "node.sqlite") == before


def test_an_old_bundle_or_reply_after_an_online_sync_changes_nothing(central, make_node, run_massar) -> None:
    store = make_node("SA01")
    fill_school(store, seed=24, pupils=12, absence_days=2)
    old, _ = export_bundle(store)
    bundle = store.path.parent.parent / "old.massar"
    bundle.write_bytes(old)
    sync(store)  # the school found a signal after all
    before = central_digest(central.path)
    out = run_massar("server", "import-bundle", str(bundle), data=central.folder)
    assert "nothing changed" in out.stdout
    assert central_digest(central.path) == before

    # A reply to a bundle exported before the node's online sync: applied at the centre, stale at the node.
    central.clock.advance(1000)
    stale, _ = export_bundle(store)
    bundle.write_bytes(stale)
    reply = _json(run_massar, "server", "import-bundle", str(bundle), data=central.folder)["reply"]
    central.clock.advance(1000)
    sync(store)
    store.close()
    before = node_digest(store.path)
    out = run_massar("node", "import-bundle", reply, data=store.path.parent)
    assert "nothing changed" in out.stdout
    assert node_digest(store.path) == before


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        pytest.param(lambda b: _flip(b, len(b) // 2), "signature does not match", id="tampered-body"),
        pytest.param(lambda b: _flip(b, 10), "not registered", id="tampered-device"),
        pytest.param(lambda b: b[: len(b) - 40], "signature does not match", id="truncated"),
        pytest.param(lambda b: b[:9], "truncated", id="cut-in-header"),
        pytest.param(lambda b: b"PK\x03\x04" + b[4:], "not a Massar bundle", id="not-a-bundle"),
    ],
)
def test_damaged_bundles_are_refused_and_nothing_applies(
    run_massar, centre: Path, tmp_path: Path, damage, message: str
) -> None:
    node = tmp_path / "school"
    _offline_school(run_massar, centre, node)
    _fill(node, seed=25, pupils=8)
    bundle = tmp_path / "b.massar"
    run_massar("node", "export-bundle", "-o", str(bundle), data=node)
    bundle.write_bytes(damage(bundle.read_bytes()))
    before = central_digest(centre / "central.sqlite")
    out = run_massar("server", "import-bundle", str(bundle), data=centre, check=False)
    assert out.returncode == 1 and message in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert central_digest(centre / "central.sqlite") == before


def test_foreign_bundles_and_replies_are_refused(run_massar, centre: Path, tmp_path: Path) -> None:
    other = tmp_path / "other-centre"
    run_massar("server", "init", data=other)
    node = tmp_path / "school"
    _offline_school(run_massar, centre, node)
    _fill(node, seed=26, pupils=8)
    bundle = tmp_path / "b.massar"
    run_massar("node", "export-bundle", "-o", str(bundle), data=node)
    out = run_massar("server", "import-bundle", str(bundle), data=other, check=False)
    assert out.returncode == 1 and "not registered on this server" in out.stderr

    # The same school code registered on another centre: another key, another signature.
    _json(run_massar, "server", "add-school", "--school", "SB01", "--name", "x", data=other)
    out = run_massar("server", "import-bundle", str(bundle), data=other, check=False)
    assert out.returncode == 1 and "signature does not match" in out.stderr

    # A reply meant for another school's node.
    neighbour = tmp_path / "neighbour"
    _offline_school(run_massar, centre, neighbour, school="SB02")
    reply = Path(_json(run_massar, "server", "import-bundle", str(bundle), data=centre)["reply"])
    before = node_digest(neighbour / "node.sqlite")
    out = run_massar("node", "import-bundle", str(reply), data=neighbour, check=False)
    assert out.returncode == 1 and "signature does not match" in out.stderr
    assert node_digest(neighbour / "node.sqlite") == before


def test_a_semester_bundle_costs_about_what_a_sync_costs(run_massar, centre: Path, tmp_path: Path) -> None:
    node = tmp_path / "school"
    _offline_school(run_massar, centre, node)
    _fill(node, seed=27, pupils=60)
    exported = _json(run_massar, "node", "export-bundle", "-o", str(tmp_path / "s.massar"), data=node)
    assert exported["changes"] > 2000
    assert exported["bytes"] / exported["changes"] <= 3.0  # README's wire target for a sync
