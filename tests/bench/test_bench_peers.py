"""bench/peers and bench/floor: the peers really sync, survive cuts, and the floor packs losslessly sized data."""

from __future__ import annotations

import sqlite3

import msgpack
import pytest

import sample
from bench.floor import floor, pack
from bench.systems import CouchSystem, RestSystem
from domain.pupils import Term
from protocol.tables import BY_NAME
from syncclient.store import NodeStore
from tests.support.netproxy import NetProxy

TERM = Term("C01234", "2025/2026")


@pytest.fixture
def node(tmp_path):
    folder = tmp_path / "node"
    store = NodeStore.init(folder, TERM.school, year=TERM.year)
    try:
        s = sample.make_school(store.db, TERM, seed=5, pupils=40, classes=3)
        sample.semester_grades(store.db, TERM, s, 1, seed=5)
        sample.absences(store.db, TERM, s, days=10, seed=5)
        counts = {t: store.db[t].count for t in ("classes", "pupils", "enrolments", "guardians", "grades", "absences")}
    finally:
        store.close()
    return folder, s, counts


def _server_count(path, sql):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


@pytest.mark.parametrize("cls", [CouchSystem, RestSystem])
def test_peer_syncs_everything_then_nothing_even_through_cuts(tmp_path, node, cls):
    folder, s, counts = node
    system = cls(tmp_path / "srv")
    node_client = system.node(folder, TERM.school)
    # The first two connections drop after 6 KB (a PouchDB batch needs more than that in one
    # connection: cutting every connection there would never let it finish).
    proxy = NetProxy(system.port, cut_after=6000, fault_connections=2).start()
    try:
        assert node_client.prepare() == sum(counts.values())
        info = node_client.sync(proxy.url)
        assert info["attempts"] == 3 and proxy.stats().cuts == 2
        proxy.configure(cut_after=None)
        if cls is CouchSystem:
            assert _server_count(tmp_path / "srv" / "couchdb" / "couch.sqlite", "SELECT COUNT(*) FROM docs") == sum(
                counts.values()
            )
        else:
            path = tmp_path / "srv" / "rest" / "rest.sqlite"
            assert _server_count(path, "SELECT COUNT(*) FROM grades") == counts["grades"]
            assert _server_count(path, "SELECT COUNT(*) FROM absences") == counts["absences"]
        assert node_client.prepare() == 0
        proxy.reset()
        node_client.sync(proxy.url)
        proxy.wait_idle()
        stats = proxy.stats()
        assert stats.round_trips == (5 if cls is CouchSystem else 1)
    finally:
        proxy.stop()
        node_client.close()
        system.close()


def test_a_peer_that_can_never_finish_gives_up(tmp_path, node):
    """Every connection cut at 3 KB: a PouchDB batch of 100 documents never fits."""
    folder, s, counts = node
    system = CouchSystem(tmp_path / "srv")
    client = system.node(folder, TERM.school)
    proxy = NetProxy(system.port, cut_after=3000).start()
    try:
        client.prepare()
        with pytest.raises(RuntimeError, match="no progress"):
            client.client.sync(proxy.url, max_stalls=3)
    finally:
        proxy.stop()
        client.close()
        system.close()


def test_floor_packs_every_row(node):
    folder, s, counts = node
    store = NodeStore.open(folder)
    try:
        rows = {
            t: store.db.execute(f"SELECT {', '.join(BY_NAME[t].column_names)} FROM {t}").fetchall()
            for t in ("grades", "absences")
        }
    finally:
        store.close()
    tables = msgpack.unpackb(pack(rows))
    assert [(t[0], t[1]) for t in tables] == [(14, counts["grades"]), (15, counts["absences"])]
    result = floor(rows, roster=s.pupils)
    assert result["records"] == counts["grades"] + counts["absences"]
    assert 0 < result["roster_known"]["bytes"] <= result["self_contained"]["bytes"] < len(pack(rows))
