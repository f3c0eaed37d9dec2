"""A semester is closed once for the whole school: the closure is a synced record (wire id 23).

Two devices of one school against a real central server (SQLite and PostgreSQL):
the director closes on one PC and the other PC's bulletins and parents' page show
final results with ranks after the syncs; a reopening on the other PC makes the
first provisional again; a close and a reopen made at once end the same on both
PCs and the centre, with the losing edit in the conflict log; a fresh PC restored
from the centre keeps the closure; the families get one "results published" SMS,
from the PC where the director closed the semester. Closing goes through `massar
node close-semester`, as a director's script would.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain import accounts
from domain.semesters import closed_semesters
from protocol.auth import node_key_from_token
from server.schools import add_device
from syncclient.bulletins import render_bulletins
from syncclient.store import NodeStore
from syncclient.web import create_app

from .helpers import YEAR, fill_school, rows, sync

with warnings.catch_warnings():  # starlette warns once, at import, that it prefers httpx2
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

SCHOOL = "SA01"
PROVISIONAL = "نتائج مؤقتة"
PRINTED_RANK = re.compile(r'<span class="num">(\d+)</span> من <span class="num">(\d+)</span>')
PARENT_RANK = re.compile(r'<bdi dir="ltr">(\d+) / (\d+)</bdi>')
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _device(central, tmp_path: Path, name: str) -> NodeStore:
    """Another PC of the school, registered at the centre and initialised empty (its first sync fills it)."""
    with central.db() as db:
        device, token = add_device(db, SCHOOL, name)
    return NodeStore.init(
        tmp_path / name, SCHOOL, year=YEAR, server=central.url, clock=central.clock, device=device,
        node_key=node_key_from_token(device, token).hex(),
    )  # fmt: skip


@pytest.fixture
def school(central, make_node, tmp_path: Path) -> Iterator[tuple[NodeStore, NodeStore, str]]:
    """The office PC (A) with a semester of marks, families who accept SMS, synced; a second PC (B) synced."""
    a = make_node(SCHOOL)
    fill_school(a, seed=11, pupils=10, classes=3, absence_days=1)
    a.db.execute("UPDATE guardians SET sms_consent = 1 WHERE phone IS NOT NULL")
    sync(a)
    b = _device(central, tmp_path, "director-pc")
    try:
        sync(b)
        pupil = a.db.execute(
            "SELECT pupil FROM grades WHERE semester = 1 AND score IS NOT NULL ORDER BY pupil LIMIT 1"
        ).fetchone()[0]
        yield a, b, pupil
    finally:
        b.close()


def _massar(run_massar, store: NodeStore, *args: str) -> dict:
    return json.loads(run_massar(*args, "--json", data=store.path.parent).stdout)


def _bulletin(store: NodeStore, pupil: str) -> str:
    return render_bulletins(store, [pupil], 1)


def _parent_page(store: NodeStore, pupil: str) -> str:
    """What the child's parent reads on this PC's web app (logged in as a parent would)."""
    login, password = accounts.issue_parent_login(store.db, pupil)
    with TestClient(create_app(store.path.parent, secret_key=b"k" * 32)) as client:
        token = CSRF.search(client.get("/login").text).group(1)  # type: ignore[union-attr]
        answer = client.post("/login", data={"csrf": token, "login": login, "password": password})
        assert answer.status_code == 200 and "/login" not in str(answer.url)
        return client.get("/parent").text


def _results_sms(store: NodeStore) -> list[str]:
    return [r[0] for r in store.db.execute("SELECT pupil FROM _sms_outbox WHERE kind = 'results' ORDER BY pupil")]


def _assert_final(store: NodeStore, pupil: str, rank: int) -> None:
    assert closed_semesters(store.db, YEAR, SCHOOL) == {1}
    printed = _bulletin(store, pupil)
    assert PROVISIONAL not in printed and PRINTED_RANK.search(printed).group(1) == str(rank)  # type: ignore[union-attr]
    assert PARENT_RANK.search(_parent_page(store, pupil)).group(1) == str(rank)  # type: ignore[union-attr]


def _assert_provisional(store: NodeStore, pupil: str) -> None:
    assert closed_semesters(store.db, YEAR, SCHOOL) == set()
    printed = _bulletin(store, pupil)
    assert PROVISIONAL in printed and not PRINTED_RANK.search(printed)
    assert not PARENT_RANK.search(_parent_page(store, pupil))


def test_closed_on_one_pc_the_other_pc_prints_final_results_and_the_families_are_told_once(
    central, school, run_massar
) -> None:
    a, b, pupil = school
    _assert_provisional(b, pupil)
    closed = _massar(run_massar, a, "node", "close-semester", "--semester", "1", "--by", "director")
    assert closed == {"year": YEAR, "semester": 1, "closed": True}
    told = _results_sms(a)
    families = {r[0] for r in a.db.execute("SELECT pupil FROM guardians WHERE sms_consent = 1 AND phone IS NOT NULL")}
    assert told == sorted(families) and pupil in told  # one message per family, on the PC where it was closed
    _assert_provisional(b, pupil)  # nothing travels before a sync

    assert sync(a).pushed == 1
    assert sync(b).pulled == 1
    rank = _massar(run_massar, b, "node", "report", "--student", pupil)["semesters"]["1"]["rank"]
    _assert_final(b, pupil, rank)
    assert _results_sms(b) == []  # arrived by sync: the families were told where it was closed
    assert _results_sms(a) == told
    # The centre knows which results are final: its report and both PCs' say the same.
    at_centre = json.loads(
        run_massar("server", "report", "--student", pupil, "--year", YEAR, "--json", data=central.folder).stdout
    )
    for store in (a, b):
        assert _massar(run_massar, store, "node", "report", "--student", pupil)["closed_semesters"] == [1]
    assert at_centre["closed_semesters"] == [1] and at_centre["semesters"]["1"]["rank"] == rank
    with central.db() as db:
        assert {r[:4] for r in rows(db, "semester_closures", SCHOOL)} == {(SCHOOL, YEAR, 1, "director")}


def test_reopened_on_the_other_pc_the_first_is_provisional_again_after_the_syncs(central, school, run_massar) -> None:
    a, b, pupil = school
    _massar(run_massar, a, "node", "close-semester", "--semester", "1")
    sync(a)
    sync(b)
    told = _results_sms(a)
    reopened = _massar(run_massar, b, "node", "close-semester", "--semester", "1", "--reopen")
    assert reopened == {"year": YEAR, "semester": 1, "closed": False}
    rank = _massar(run_massar, a, "node", "report", "--student", pupil)["semesters"]["1"]["rank"]
    _assert_final(a, pupil, rank)  # until the syncs

    assert sync(b).pushed == 1
    assert sync(a).pulled == 1
    _assert_provisional(a, pupil)
    with central.db() as db:
        assert rows(db, "semester_closures", SCHOOL) == set()
    at_centre = json.loads(
        run_massar("server", "report", "--student", pupil, "--year", YEAR, "--json", data=central.folder).stdout
    )
    assert at_centre["closed_semesters"] == []
    assert _results_sms(a) == told and _results_sms(b) == []  # a reopening tells no one


@pytest.mark.parametrize("later", ["reopen", "close"], ids=["the-later-reopen-wins", "the-later-close-wins"])
def test_a_close_and_a_reopen_made_at_once_end_the_same_everywhere_and_the_loser_is_kept(
    central, school, run_massar, later: str
) -> None:
    """Both PCs have semester 1 closed; offline, A reopens it while B's director reopens and closes it again
    (a mark fixed). The centre's rule (the later hybrid clock wins, whoever syncs first) decides."""
    a, b, pupil = school
    clock = central.clock
    from syncclient.semesters import close_semester, reopen_semester

    close_semester(a.db, SCHOOL, YEAR, 1, "director")
    sync(a)
    sync(b)

    def reopen_on_a() -> None:
        reopen_semester(a.db, SCHOOL, YEAR, 1)

    def close_again_on_b() -> None:
        reopen_semester(b.db, SCHOOL, YEAR, 1)
        close_semester(b.db, SCHOOL, YEAR, 1, "deputy")

    first, second = (close_again_on_b, reopen_on_a) if later == "reopen" else (reopen_on_a, close_again_on_b)
    first()
    clock.advance(60_000)
    second()
    sync(a)
    sync(b)
    sync(a)

    expected = {1} if later == "close" else set()
    with central.db() as db:
        at_centre = rows(db, "semester_closures", SCHOOL)
        conflicts = db.execute(
            "SELECT tbl, record, loser_origin, loser_row FROM _conflicts WHERE school = ?", [SCHOOL]
        ).fetchall()
    assert rows(a.db, "semester_closures", SCHOOL) == rows(b.db, "semester_closures", SCHOOL) == at_centre
    assert {r[2] for r in at_centre} == expected
    assert {r[3] for r in at_centre} == ({"deputy"} if later == "close" else set())
    for store in (a, b):
        assert closed_semesters(store.db, YEAR, SCHOOL) == expected
    # The losing edit is on record, not silently dropped: B's close when the reopen won, A's reopen otherwise.
    assert len(conflicts) == 1
    table, record, loser, lost_row = conflicts[0]
    assert (table, json.loads(record)) == ("semester_closures", [SCHOOL, YEAR, 1])
    if later == "reopen":
        assert loser == b.device and json.loads(lost_row)[3] == "deputy"
    else:
        assert loser == a.device and lost_row is None
    listed = json.loads(run_massar("server", "conflicts", "--json", data=central.folder).stdout)
    assert [c["table"] for c in listed] == ["semester_closures"]
    for store in (a, b):  # each PC's status shows the school's conflict
        assert _massar(run_massar, store, "node", "status")["conflicts"] == 1


def test_a_pc_restored_from_the_centre_keeps_the_closure(central, school, run_massar, tmp_path: Path) -> None:
    a, b, pupil = school
    _massar(run_massar, a, "node", "close-semester", "--semester", "1")
    sync(a)
    rank = _massar(run_massar, a, "node", "report", "--student", pupil)["semesters"]["1"]["rank"]
    a.close()  # the office PC dies; a new one is set up from the centre
    fresh = _device(central, tmp_path, "new-office-pc")
    try:
        sync(fresh)
        _assert_final(fresh, pupil, rank)
        assert _results_sms(fresh) == []
    finally:
        fresh.close()


def test_a_host_reads_its_satellites_closure_and_no_other_school_may_write_one(central, make_node, run_massar) -> None:
    host, satellite, other = make_node("HOST01"), make_node("SAT01"), make_node("SB02")
    fill_school(host, seed=12, pupils=6, classes=3, absence_days=1)
    fill_school(satellite, seed=13, pupils=6, classes=3, absence_days=1)
    pupil = satellite.db.execute(
        "SELECT pupil FROM grades WHERE semester = 1 AND score IS NOT NULL ORDER BY pupil LIMIT 1"
    ).fetchone()[0]
    _massar(run_massar, satellite, "node", "close-semester", "--semester", "1")
    for store in (host, satellite):
        sync(store)
    run_massar("server", "attach", "--school", "SAT01", "--to", "HOST01", data=central.folder)
    sync(host)
    # The satellite's parents read at the host: its director's closure is final there too.
    assert closed_semesters(host.db, YEAR, "SAT01") == {1} and closed_semesters(host.db, YEAR, "HOST01") == set()
    rank = _massar(run_massar, satellite, "node", "report", "--student", pupil)["semesters"]["1"]["rank"]
    assert PARENT_RANK.search(_parent_page(host, pupil)).group(1) == str(rank)  # type: ignore[union-attr]

    # The host may not reopen it, nor another school close the host's: refused row by row.
    host.db.execute("DELETE FROM semester_closures WHERE school = 'SAT01'")
    other.db.execute("INSERT INTO semester_closures VALUES ('HOST01', ?, 2, 'intruder', '2025-01-31T10:00:00')", [YEAR])
    assert sync(host).rejected == 1 and sync(other).rejected == 1
    assert [r["code"] for r in _massar(run_massar, host, "node", "rejected")] == ["satellite_read_only"]
    assert [r["code"] for r in _massar(run_massar, other, "node", "rejected")] == ["other_school"]
    with central.db() as db:
        assert {(r[0], r[2]) for r in rows(db, "semester_closures")} == {("SAT01", 1)}
