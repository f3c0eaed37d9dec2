"""Bundles carried between two devices of one school with no link to the centre (issue 12, SPEC 12.3).

Both devices are driven through the `massar` CLI in subprocesses; the centre is
the real uvicorn server of the `central` fixture, reached only at the end. A
sibling's changes apply as its work: never in the receiver's outbox, so that
after both sync the centre holds each record once, under the device that made
it. Damaged, foreign and own bundles are refused with one line, nothing applied.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.support.digests import node_digest, school_digest

from .helpers import YEAR, fill_school

SCHOOL = "SA01"


def _json(run_massar, *args: str, data: Path) -> dict:
    return json.loads(run_massar(*args, "--json", data=data).stdout)


def _device(run_massar, centre: Path, folder: Path, *, server: str | None, first: bool, school: str = SCHOOL) -> str:
    if first:
        token = _json(run_massar, "server", "add-school", "--school", school, "--name", "مدرسة", data=centre)["token"]
    else:
        token = _json(run_massar, "server", "add-device", "--school", school, "--name", "PC 2", data=centre)["token"]
    link = [f"--server={server}"] if server else []
    return _json(
        run_massar, "node", "init", "--school", school, "--year", YEAR, *link, f"--token={token}", data=folder
    )["device"]


def _fill(folder: Path, seed: int, pupils: int = 12) -> None:
    from syncclient.store import NodeStore

    store = NodeStore.open(folder)
    try:
        fill_school(store, seed, pupils=pupils, absence_days=2)
    finally:
        store.close()


def _carry(run_massar, source: Path, target: Path, name: str) -> dict:
    bundle = source.parent / f"{name}.massar"
    run_massar("node", "export-bundle", "-o", str(bundle), data=source)
    return _json(run_massar, "node", "import-bundle", str(bundle), data=target)


def _query(folder: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(folder / "node.sqlite")
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _grade_cli(pupil: str, subject: str, score: str) -> list[str]:
    return ["node", "grade", "--student", pupil, "--subject", subject, "--semester", "1", "--assessment", "1",
            "--score", score]  # fmt: skip


def test_two_devices_exchange_a_day_by_bundles_then_all_three_converge(central, run_massar, tmp_path: Path) -> None:
    a, b = tmp_path / "pc-a", tmp_path / "pc-b"
    device_a = _device(run_massar, central.folder, a, server=central.url, first=True)
    device_b = _device(run_massar, central.folder, b, server=central.url, first=False)
    _fill(a, seed=31)

    # Morning: A's roster and marks reach B by a stick, as A's work (B's outbox stays empty).
    first = _carry(run_massar, a, b, "a-morning")
    assert first["changed"] and first["from_device"] == device_a and first["applied"] == first["changes"] > 100
    assert _query(b, "SELECT COUNT(*) FROM _outbox") == [(0,)]
    assert school_digest(a / "node.sqlite", SCHOOL) == school_digest(b / "node.sqlite", SCHOOL)

    # The day: each device records its own work, and both change the same mark without seeing the other.
    pupil, subject = _query(a, "SELECT pupil, subject FROM grades WHERE semester = 1 AND assessment = 1 LIMIT 1")[0]
    other = _query(a, "SELECT code FROM pupils WHERE code != ? ORDER BY code LIMIT 1", (pupil,))[0][0]
    run_massar(*_grade_cli(pupil, subject, "17"), data=b)
    run_massar("node", "absence", "--student", other, "--date", "2025-03-04", "--full-day", data=b)
    run_massar(*_grade_cli(pupil, subject, "9"), data=a)
    run_massar("node", "absence", "--student", pupil, "--date", "2025-03-05", "--hours", "1,2", data=a)

    # Evening: the sticks cross. B's bundle holds only B's work; A's holds all A has not given the centre.
    to_a = _carry(run_massar, b, a, "b-evening")
    to_b = _carry(run_massar, a, b, "a-evening")
    assert to_a["changes"] == 2 and to_a["from_device"] == device_b
    assert school_digest(a / "node.sqlite", SCHOOL) == school_digest(b / "node.sqlite", SCHOOL)
    # The concurrent mark: one winner on both devices, the loser logged on the side whose edit lost.
    assert to_a["lost_local"] + to_b["lost_local"] == 1 and to_a["kept_local"] + to_b["kept_local"] == 1
    logged = [_query(f, "SELECT COUNT(*) FROM _conflicts")[0][0] for f in (a, b)]
    assert sorted(logged) == [0, 1]
    b_pending = _query(b, "SELECT COUNT(*) FROM _outbox")[0][0]
    assert b_pending == 2 - to_b["lost_local"]  # only B's own work waits on B

    # The same stick imported again: nothing changes, and the device says so.
    before = node_digest(b / "node.sqlite")
    again = run_massar("node", "import-bundle", str(tmp_path / "a-evening.massar"), data=b)
    assert "already imported" in again.stdout and len(again.stdout.strip().splitlines()) == 1
    assert node_digest(b / "node.sqlite") == before

    # A signal at last: both sync (B first, then A, then B for what A brought).
    pushed_b = _json(run_massar, "node", "sync", data=b)
    _json(run_massar, "node", "sync", data=a)
    _json(run_massar, "node", "sync", data=b)
    _json(run_massar, "node", "sync", data=a)
    assert pushed_b["pushed"] == b_pending
    centre = school_digest(central.path, SCHOOL)
    assert school_digest(a / "node.sqlite", SCHOOL) == centre == school_digest(b / "node.sqlite", SCHOOL)
    with central.db() as db:
        origins = dict(
            db.execute("SELECT origin, COUNT(*) FROM _versions WHERE school = ? GROUP BY origin", [SCHOOL]).fetchall()
        )
        conflicts = db.execute("SELECT COUNT(*) FROM _conflicts WHERE school = ?", [SCHOOL]).fetchone()[0]
    # A's work is A's at the centre; B pushed its own (a winning mark and an absence, or the absence alone).
    assert origins.get(device_b, 0) == b_pending and origins[device_a] >= first["changes"]
    assert conflicts <= 1
    for folder in (a, b):
        assert _json(run_massar, "node", "status", data=folder)["pending_changes"] == 0


def test_a_sibling_whose_pc_dies_still_reaches_the_centre_through_the_device_that_holds_its_bundle(
    central, run_massar, tmp_path: Path
) -> None:
    import shutil

    a, b = tmp_path / "pc-a", tmp_path / "pc-b"
    device_a = _device(run_massar, central.folder, a, server=central.url, first=True)
    device_b = _device(run_massar, central.folder, b, server=central.url, first=False)
    _fill(a, seed=33, pupils=8)
    carried = _carry(run_massar, a, b, "a-work")
    shutil.rmtree(a)  # A's disk dies before A ever reaches the centre

    synced = _json(run_massar, "node", "sync", data=b)
    assert synced["relayed"] == 1 and synced["pushed"] == 0  # A's work went as A's, none as B's
    assert school_digest(b / "node.sqlite", SCHOOL) == school_digest(central.path, SCHOOL)
    with central.db() as db:
        origins = dict(db.execute("SELECT origin, COUNT(*) FROM _versions GROUP BY origin").fetchall())
    assert origins.get(device_a) == carried["changes"] and device_b not in origins
    assert not (b / "siblings" / f"{device_a}.massar").exists()
    assert _json(run_massar, "node", "sync", data=b)["relayed"] == 0


def test_a_held_bundle_the_sibling_delivered_itself_is_relayed_without_effect(
    central, run_massar, tmp_path: Path
) -> None:
    a, b = tmp_path / "pc-a", tmp_path / "pc-b"
    _device(run_massar, central.folder, a, server=central.url, first=True)
    device_b = _device(run_massar, central.folder, b, server=central.url, first=False)
    _fill(a, seed=34, pupils=6)
    _carry(run_massar, a, b, "a-work")
    _json(run_massar, "node", "sync", data=a)  # A found a signal first: its counters are spent
    with central.db() as db:
        before = db.execute("SELECT COUNT(*), MAX(sseq) FROM _versions").fetchone()
    synced = _json(run_massar, "node", "sync", data=b)
    with central.db() as db:
        assert db.execute("SELECT COUNT(*), MAX(sseq) FROM _versions").fetchone() == before
        assert db.execute("SELECT COUNT(*) FROM _versions WHERE origin = ?", [device_b]).fetchone()[0] == 0
    assert synced["relayed"] == 0 and synced["pushed"] == 0 and not list((b / "siblings").glob("*.massar"))
    assert school_digest(b / "node.sqlite", SCHOOL) == school_digest(central.path, SCHOOL)


@pytest.fixture
def offline(run_massar, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A centre, device A of SB01 with a day of work exported, device B of SB01: no server anywhere."""
    centre = tmp_path / "centre"
    run_massar("server", "init", data=centre)
    a, b = tmp_path / "pc-a", tmp_path / "pc-b"
    _device(run_massar, centre, a, server=None, first=True, school="SB01")
    _device(run_massar, centre, b, server=None, first=False, school="SB01")
    _fill(a, seed=32, pupils=6)
    run_massar("node", "export-bundle", "-o", str(tmp_path / "a.massar"), data=a)
    return centre, a, b


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        pytest.param(lambda d: _flip(d, len(d) // 2), "damaged", id="tampered-body"),
        pytest.param(lambda d: d[: len(d) - 40], "truncated", id="truncated"),
        pytest.param(lambda d: d[:12], "truncated", id="cut-in-header"),
        pytest.param(lambda d: b"PK\x03\x04" + d[4:], "not a Massar bundle", id="not-a-bundle"),
    ],
)
def test_a_damaged_sibling_bundle_is_refused_and_nothing_applies(
    offline, run_massar, tmp_path: Path, damage, message: str
) -> None:
    _, _, b = offline
    bundle = tmp_path / "a.massar"
    bundle.write_bytes(damage(bundle.read_bytes()))
    before = node_digest(b / "node.sqlite")
    out = run_massar("node", "import-bundle", str(bundle), data=b, check=False)
    assert out.returncode == 1 and message in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert node_digest(b / "node.sqlite") == before


def test_another_schools_or_its_own_bundle_is_refused(offline, run_massar, tmp_path: Path) -> None:
    centre, a, _ = offline
    neighbour = tmp_path / "neighbour"
    _device(run_massar, centre, neighbour, server=None, first=True, school="SB02")
    before = node_digest(neighbour / "node.sqlite")
    out = run_massar("node", "import-bundle", str(tmp_path / "a.massar"), data=neighbour, check=False)
    assert out.returncode == 1 and "of school SB01, not of SB02" in out.stderr
    assert node_digest(neighbour / "node.sqlite") == before

    before = node_digest(a / "node.sqlite")
    out = run_massar("node", "import-bundle", str(tmp_path / "a.massar"), data=a, check=False)
    assert out.returncode == 1 and "own bundle" in out.stderr
    assert node_digest(a / "node.sqlite") == before


def test_an_older_bundle_of_a_sibling_after_a_newer_one_changes_nothing(offline, run_massar, tmp_path: Path) -> None:
    _, a, b = offline
    run_massar("node", "absence", "--student", _query(a, "SELECT code FROM pupils LIMIT 1")[0][0],
               "--date", "2025-03-06", "--full-day", data=a)  # fmt: skip
    newer = _carry(run_massar, a, b, "a-newer")
    assert newer["changed"]
    before = node_digest(b / "node.sqlite")
    out = _json(run_massar, "node", "import-bundle", str(tmp_path / "a.massar"), data=b)
    assert not out["changed"] and node_digest(b / "node.sqlite") == before
