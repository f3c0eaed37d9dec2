"""The PostgreSQL centre as operators run it: `massar server init/add-school/serve --database URL`,
two server processes on one database, and a server SIGKILLed in the middle of pushes."""

from __future__ import annotations

import random
import subprocess
import threading
import time
from pathlib import Path

import psycopg

import sample
from protocol.auth import node_key_from_token
from protocol.tables import BY_NAME, TABLES
from syncclient.session import SyncSession
from syncclient.store import NodeStore
from tests.support.processes import REPO, ServeProcess, child_env, free_port, massar_argv, massar_json

YEAR = "2024/2025"
SCHOOL_TABLES = tuple(t.name for t in TABLES if not t.national)


def _init(dsn: str, schools: list[str]) -> dict[str, str]:
    """`massar server init` and `add-school` through the CLI; the schools' tokens."""
    assert massar_json("server", "init", "--database", dsn)["backend"] == "postgresql"
    return {s: massar_json("server", "add-school", "--database", dsn, "--school", s, "--name", f"École {s}")["token"]
            for s in schools}  # fmt: skip


def _node(
    folder: Path, school: str, token: str, server: str, *, pupils: int, seed: int
) -> tuple[NodeStore, sample.SampleSchool]:
    store = NodeStore.init(
        folder, school, name=f"École {school}", year=YEAR, server=server,
        node_key=node_key_from_token(school, token).hex(),
    )  # fmt: skip
    made = sample.make_school(store.db, store.term, seed=seed, pupils=pupils, classes=max(3, pupils // 30))
    sample.semester_grades(store.db, store.term, made, 1, seed=seed)
    sample.absences(store.db, store.term, made, days=5, seed=seed)
    return store, made


def _rows(conn: psycopg.Connection | None, node: NodeStore | None, table: str, school: str) -> set[tuple]:
    cols = ", ".join(BY_NAME[table].column_names)
    if conn is not None:
        return set(conn.execute(f"SELECT {cols} FROM {table} WHERE school = %s", [school]).fetchall())
    assert node is not None
    return set(map(tuple, node.db.execute(f"SELECT {cols} FROM {table} WHERE school = ?", [school]).fetchall()))


def _check_exactly_once(dsn: str, node: NodeStore, school: str) -> None:
    """The centre holds the node's rows, each once, and acknowledged the node's last change."""
    with psycopg.connect(dsn) as conn:
        for table in SCHOOL_TABLES:
            central = _rows(conn, None, table, school)
            assert central == _rows(None, node, table, school), table
            live = conn.execute(
                "SELECT count(*) FROM _versions WHERE tbl = %s AND school = %s AND deleted = 0",
                [BY_NAME[table].wire_id, school],
            ).fetchone()[0]
            assert live == len(central), f"{table}: {live} live versions for {len(central)} rows"
        total, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT seq) FROM _versions WHERE origin = %s", [school]
        ).fetchone()
        assert total == distinct, "one node change recorded for two records"
        acked = conn.execute("SELECT acked_seq FROM _schools WHERE code = %s", [school]).fetchone()[0]
    assert acked == node.db.execute("SELECT seq FROM _clock").fetchone()[0]
    assert node.db.execute("SELECT COUNT(*) FROM _outbox").fetchone()[0] == 0


def test_two_server_processes_on_one_postgresql_serve_schools_at_once(postgres_dsn: str, tmp_path: Path) -> None:
    schools = ["SP01", "SP02", "SP03", "SP04"]
    tokens = _init(postgres_dsn, schools)
    servers = [ServeProcess(["--database", postgres_dsn], free_port(), tmp_path / f"serve{i}.log") for i in (1, 2)]
    nodes: list[NodeStore] = []
    made: list[sample.SampleSchool] = []
    try:
        for s in servers:
            s.start()
        for i, school in enumerate(schools):
            node, school_sample = _node(
                tmp_path / school, school, tokens[school], servers[i % 2].url, pupils=40, seed=i
            )
            nodes.append(node)
            made.append(school_sample)
        errors: list[BaseException] = []

        def sync_all(node: NodeStore) -> None:
            try:
                session = SyncSession(node)
                try:
                    session.run()
                finally:
                    session.close()
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        # Every school at once, half through each process, twice: the second time through the other process.
        for round_ in range(2):
            for i, node in enumerate(nodes):
                node.set_setting("server", servers[(i + round_) % 2].url)
                if round_:
                    sample.incidents(node.db, node.term, made[i], seed=100 + i, count=3)
            threads = [threading.Thread(target=sync_all, args=(n,)) for n in nodes]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=300)
            assert not errors, errors
        for node, school in zip(nodes, schools, strict=True):
            _check_exactly_once(postgres_dsn, node, school)
        # Version numbers from both processes never collide.
        with psycopg.connect(postgres_dsn) as conn:
            count, distinct, top = conn.execute(
                "SELECT count(*), count(DISTINCT sseq), max(sseq) FROM _versions"
            ).fetchone()
            assert count == distinct and top == conn.execute("SELECT sseq FROM _clock").fetchone()[0]
        listed = massar_json("server", "schools", "--database", postgres_dsn)
        assert [d["school"] for d in listed] == schools and all(d["last_sync"] for d in listed)
    finally:
        for s in servers:
            s.stop()
        for n in nodes:
            n.close()


def test_sigkill_of_the_server_during_pushes_to_postgresql_loses_nothing(postgres_dsn: str, tmp_path: Path) -> None:
    rng = random.Random(17)
    tokens = _init(postgres_dsn, ["SK01"])
    server = ServeProcess(["--database", postgres_dsn], free_port(), tmp_path / "serve.log")
    node, _ = _node(tmp_path / "node", "SK01", tokens["SK01"], server.url, pupils=200, seed=3)
    folder = tmp_path / "node"
    kills = 0
    try:
        server.start()
        node.set_setting("chunk_budget", 4096)  # many requests: a kill lands in the middle of one
        node.close()
        for _ in range(6):
            proc = subprocess.Popen(
                massar_argv("node", "sync", "--data", folder, "--json", "--timeout", "20"),
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=child_env(), cwd=REPO,
            )  # fmt: skip
            time.sleep(rng.uniform(0.3, 1.5))
            if proc.poll() is None:
                server.kill()
                kills += 1
                server.start()
            out, _ = proc.communicate(timeout=300)
            assert b"Traceback" not in out, out.decode(errors="replace")
            assert proc.returncode in (0, 1), out.decode(errors="replace")
        assert kills >= 2, "the syncs finished before any kill: make the school bigger"
        final = subprocess.run(
            massar_argv("node", "sync", "--data", folder, "--json", "--timeout", "30"),
            capture_output=True, env=child_env(), cwd=REPO, timeout=300,
        )  # fmt: skip
        assert final.returncode == 0, final.stdout + final.stderr
        node = NodeStore.open(folder)
        _check_exactly_once(postgres_dsn, node, "SK01")
        with psycopg.connect(postgres_dsn) as conn:
            # Every accepted change took exactly one version number: a chunk applied twice would take more.
            issued = conn.execute("SELECT sseq FROM _clock").fetchone()[0]
        assert issued == node.db.execute("SELECT seq FROM _clock").fetchone()[0]
    finally:
        server.stop()
        node.close()
