"""Two `massar server serve` processes on one PostgreSQL database, as a national centre runs them behind
a load balancer: schools sync through either at once, and nothing is lost, doubled or numbered twice."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

import sample
from protocol.auth import node_key_from_token
from protocol.tables import BY_NAME
from server.store import open_central
from syncclient.session import SyncSession
from syncclient.store import NodeStore

from .faultkit import SCHOOL_TABLES, YEAR, ServerProcess, free_port, run_massar, table_hashes

pytestmark = pytest.mark.faults

SCHOOLS = ("SP01", "SP02", "SP03", "SP04")


def _cli(*args: object) -> object:
    proc = run_massar(*args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _node(folder: Path, school: str, token: str, server: str, seed: int) -> tuple[NodeStore, sample.SampleSchool]:
    store = NodeStore.init(
        folder, school, name=f"École {school}", year=YEAR, server=server,
        node_key=node_key_from_token(school, token).hex(),
    )  # fmt: skip
    made = sample.make_school(store.db, store.term, seed=seed, pupils=40, classes=3)
    sample.semester_grades(store.db, store.term, made, 1, seed=seed)
    sample.absences(store.db, store.term, made, days=5, seed=seed)
    return store, made


def test_two_server_processes_on_one_postgresql_serve_schools_at_once(postgres_dsn: str, tmp_path: Path) -> None:
    assert _cli("server", "init", "--database", postgres_dsn) == {"data": postgres_dsn}
    tokens = {s: _cli("server", "add-school", "--database", postgres_dsn, "--school", s, "--name", s) for s in SCHOOLS}
    servers = [ServerProcess(postgres_dsn, free_port(), tmp_path / f"serve{i}.log") for i in (1, 2)]
    nodes: list[NodeStore] = []
    made: list[sample.SampleSchool] = []
    try:
        for server in servers:
            server.start()
        for i, school in enumerate(SCHOOLS):
            token = tokens[school]["token"]  # type: ignore[index]
            node, school_sample = _node(tmp_path / school, school, token, servers[i % 2].url, seed=i)
            nodes.append(node)
            made.append(school_sample)
        errors: list[BaseException] = []

        def sync(node: NodeStore) -> None:
            try:
                session = SyncSession(node)
                try:
                    session.run()
                finally:
                    session.close()
            except BaseException as exc:  # reported by the test's thread
                errors.append(exc)

        # Every school at once, half through each process; then again, each through the other process.
        for round_ in range(2):
            for i, node in enumerate(nodes):
                node.set_setting("server", servers[(i + round_) % 2].url)
                if round_:
                    sample.incidents(node.db, node.term, made[i], seed=100 + i, count=3)
            threads = [threading.Thread(target=sync, args=(n,)) for n in nodes]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=300)
            assert not errors, errors
        central = open_central(postgres_dsn)
        try:
            for node in nodes:
                node.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
                assert table_hashes(node.path, node.school) == table_hashes(postgres_dsn, node.school)
                for table in SCHOOL_TABLES:
                    live, rows = (
                        central.execute(sql, params).fetchone()[0]
                        for sql, params in (
                            (
                                "SELECT COUNT(*) FROM _versions WHERE tbl = ? AND school = ? AND deleted = 0",
                                [BY_NAME[table].wire_id, node.school],
                            ),
                            (f"SELECT COUNT(*) FROM {table} WHERE school = ?", [node.school]),
                        )
                    )
                    assert live == rows, f"{node.school} {table}: {live} live versions for {rows} rows"
                acked = central.execute("SELECT acked_seq FROM _devices WHERE id = ?", [node.school]).fetchone()[0]
                assert acked == node.db.execute("SELECT seq FROM _clock").fetchone()[0]
                assert node.db.execute("SELECT COUNT(*) FROM _outbox").fetchone()[0] == 0
            # The version numbers both processes handed out never collide, and none is skipped.
            count, distinct, top = central.execute(
                "SELECT COUNT(*), COUNT(DISTINCT sseq), MAX(sseq) FROM _versions"
            ).fetchone()
            assert count == distinct and top == central.execute("SELECT sseq FROM _clock").fetchone()[0]
        finally:
            central.conn.close()
        listed = _cli("server", "schools", "--database", postgres_dsn)
        assert [d["school"] for d in listed] == list(SCHOOLS) and all(d["last_sync"] for d in listed)  # type: ignore[union-attr]
    finally:
        for server in servers:
            server.stop()
        for node in nodes:
            node.close()
