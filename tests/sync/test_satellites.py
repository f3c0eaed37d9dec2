"""Satellite schools read at their host school (issue 12): `massar server attach / detach` over a real centre.

A satellite syncs its own work as any school. Once attached, the host's devices
receive its rows (those from before the attach too); a host's write to them is
refused row by row (`satellite_read_only`) while the rest of its push applies;
after `detach` the host's next sync drops its copy without pushing a single
delete, and the centre keeps the satellite's record whole.
"""

from __future__ import annotations

import json

import pytest

import sample
from domain.database import write_transaction
from domain.rows import upsert_rows
from syncclient.outbox import pending_count
from syncclient.rejected import list_rejected
from syncclient.satellites import hosted

from .helpers import SCHOOL_TABLES, fill_school, rows, sync

HOST, SATELLITE = "HOST01", "SAT01"


def _school(db, school: str) -> dict[str, set[tuple]]:
    return {t: rows(db, t, school) for t in SCHOOL_TABLES}


@pytest.fixture
def schools(central, make_node):
    """A host and its satellite, each with a semester of work synced to the centre."""
    host, satellite = make_node(HOST), make_node(SATELLITE)
    fill_school(host, 3, pupils=30, classes=3, absence_days=5)
    sat_sample = fill_school(satellite, 4, pupils=12, classes=3, absence_days=5)
    sync(host)
    sync(satellite)
    return host, satellite, sat_sample


def test_the_host_receives_its_satellite_read_only_and_drops_it_at_detach(central, schools, run_massar, clock) -> None:
    host, satellite, sat_sample = schools
    own_before = _school(host.db, HOST)

    attached = json.loads(
        run_massar("server", "attach", "--school", SATELLITE, "--to", HOST, "--json", data=central.folder).stdout
    )
    assert attached == {
        "satellite": SATELLITE,
        "host": HOST,
        "attached": True,
        "changed": True,
        "shared": attached["shared"],
    }
    assert attached["shared"] > 100
    with central.db() as db:
        assert db.execute("SELECT parent_school FROM schools WHERE code = ?", [SATELLITE]).fetchone()[0] == HOST

    result = sync(host)
    assert result.pulled >= attached["shared"] and result.pushed == 0
    with central.db() as db:
        at_centre = _school(db, SATELLITE)
    assert _school(host.db, SATELLITE) == at_centre
    assert set(hosted(host.db, HOST)) == {SATELLITE}
    assert hosted(host.db, HOST)[SATELLITE].as_of is not None  # the satellite's last exchange with the centre
    # The parent's login is issued at the host, where he reads (accounts never travel).
    a_satellite_pupil = sorted(r[0] for r in host.db.execute("SELECT code FROM pupils WHERE school = ?", [SATELLITE]))[
        0
    ]
    issued = json.loads(
        run_massar("node", "issue-login", "--student", a_satellite_pupil, "--json", data=host.path.parent).stdout
    )
    assert issued["login"] == f"{a_satellite_pupil}@taalim.ma"
    status = json.loads(run_massar("node", "status", "--json", data=host.path.parent).stdout)
    assert [(s["code"], s["name"]) for s in status["satellites"]] == [(SATELLITE, f"École {SATELLITE}")]

    # Later work of the satellite reaches the host too.
    clock.advance(1000)
    sample.absences(satellite.db, satellite.term, sat_sample, days=2, rate=0.5, seed=9, semester=2)
    sync(satellite)
    sync(host)
    with central.db() as db:
        at_centre = _school(db, SATELLITE)
    assert _school(host.db, SATELLITE) == at_centre

    # A write of the host to the satellite's rows (a buggy or older node: the pages refuse it) is refused
    # alone; the host's own write in the same push applies.
    sat_pupil = sorted(r[0] for r in host.db.execute("SELECT code FROM pupils WHERE school = ?", [SATELLITE]))[0]
    own_pupil = sorted(r[0] for r in host.db.execute("SELECT code FROM pupils WHERE school = ?", [HOST]))[0]
    with write_transaction(host.db):
        upsert_rows(host.db, "absences", [(SATELLITE, sat_pupil, "2024-10-07", 3, 0, None, None, None)])
        upsert_rows(host.db, "absences", [(HOST, sat_pupil, "2024-10-08", 3, 0, None, None, None)])
        upsert_rows(host.db, "absences", [(HOST, own_pupil, "2024-10-09", 1, 0, None, None, None)])
    result = sync(host)
    assert result.rejected == 2 and result.pushed == 1
    assert {r["code"] for r in list_rejected(host.db)} == {"satellite_read_only"}
    with central.db() as db:
        assert _school(db, SATELLITE) == at_centre
        assert db.execute("SELECT hours FROM absences WHERE pupil = ? AND day = '2024-10-09'", [own_pupil]).fetchone()

    detached = json.loads(run_massar("server", "detach", "--school", SATELLITE, "--json", data=central.folder).stdout)
    assert detached["changed"] and detached["host"] == HOST and not detached["attached"]
    # The host's rejected edits stay listed until the secretary discards them: nothing typed is thrown away.
    for entry in list_rejected(host.db):
        run_massar("node", "rejected", "--discard", str(entry["id"]), data=host.path.parent)
    result = sync(host)
    assert result.pushed == 0 and pending_count(host.db) == 0
    assert not any(_school(host.db, SATELLITE).values())
    assert hosted(host.db, HOST) == {}
    assert json.loads(run_massar("node", "status", "--json", data=host.path.parent).stdout)["satellites"] == []
    # What the host derived for the satellite's pupils leaves with them: the parent's login too.
    assert not host.db.execute("SELECT 1 FROM accounts WHERE pupil = ?", [a_satellite_pupil]).fetchone()
    mine = _school(host.db, HOST)
    assert {t: v for t, v in mine.items() if t != "absences"} == {
        t: v for t, v in own_before.items() if t != "absences"
    }
    with central.db() as db:
        assert _school(db, SATELLITE) == at_centre  # the removal was never pushed back as deletes
        assert db.execute("SELECT parent_school FROM schools WHERE code = ?", [SATELLITE]).fetchone()[0] is None
    # The satellite itself is untouched by all this.
    assert sync(satellite).pulled == 0


def test_a_new_host_device_gets_the_satellite_once(central, schools, run_massar) -> None:
    from server.schools import add_device

    host, _satellite, _ = schools
    run_massar("server", "attach", "--school", SATELLITE, "--to", HOST, data=central.folder)
    first = sync(host)
    with central.db() as db:
        device, token = add_device(db, HOST, "parents terminal")
        expected = sum(len(v) for v in _school(db, SATELLITE).values())
    from protocol.auth import node_key_from_token
    from syncclient.store import NodeStore

    terminal = NodeStore.init(
        host.path.parent.parent / "terminal",
        HOST,
        server=central.url,
        node_key=node_key_from_token(device, token).hex(),
        device=device,
        clock=central.clock,
    )
    try:
        result = sync(terminal)
        assert _school(terminal.db, SATELLITE) == _school(host.db, SATELLITE)
        own = sum(len(v) for v in _school(terminal.db, HOST).values())
        national = result.pulled - own - expected
        # every satellite record came once, not once through the attach and again from its versions
        assert first.pulled == expected and 0 <= national < expected
    finally:
        terminal.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("attach", "--school", "NOPE1", "--to", HOST), "unknown school NOPE1"),
        (("attach", "--school", SATELLITE, "--to", SATELLITE), "cannot be its own satellite"),
        (("attach", "--school", "bad code!", "--to", HOST), "malformed school code"),
    ],
    ids=["unknown-satellite", "itself", "malformed"],
)
def test_a_wrong_attach_is_one_line_and_changes_nothing(central, schools, run_massar, args, message) -> None:
    proc = run_massar("server", *args, data=central.folder, check=False)
    assert proc.returncode == 1 and message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    with central.db() as db:
        assert db.execute("SELECT COUNT(*) FROM _satellites").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM _shared").fetchone()[0] == 0


def test_attach_twice_and_to_another_host(central, schools, make_node, run_massar) -> None:
    make_node("OTHER1")
    run_massar("server", "attach", "--school", SATELLITE, "--to", HOST, data=central.folder)
    again = run_massar("server", "attach", "--school", SATELLITE, "--to", HOST, data=central.folder)
    assert "already attached" in again.stdout
    other = run_massar("server", "attach", "--school", SATELLITE, "--to", "OTHER1", data=central.folder, check=False)
    assert other.returncode == 1 and "detach it first" in other.stderr
    chained = run_massar("server", "attach", "--school", "OTHER1", "--to", SATELLITE, data=central.folder, check=False)
    assert chained.returncode == 1 and "itself a satellite" in chained.stderr
    run_massar("server", "detach", "--school", SATELLITE, data=central.folder)
    twice = run_massar("server", "detach", "--school", SATELLITE, "--json", data=central.folder)
    assert json.loads(twice.stdout)["changed"] is False
