"""The operator's and the secretary's commands, as real processes: `massar server serve`,
`add-school`, `schools`, `massar node init/sync/status`, including a server that goes away."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from server.schools import list_schools
from server.store import open_central
from syncclient.status import node_status
from syncclient.store import NodeStore

from .helpers import SCHOOL_TABLES, YEAR, fill_school, rows

REPO = Path(__file__).resolve().parents[2]
STATUS_KEYS = {"school", "pending_changes", "last_sync", "last_error", "conflicts"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _serve(folder: Path, port: int, log: Path) -> Iterator[str]:
    """`massar server serve` in a subprocess; yields its URL once /health answers; stops it after."""
    env = {k: v for k, v in os.environ.items() if k != "MASSAR_DATA"}
    argv = [sys.executable, "-m", "cli", "server", "serve", "--data", str(folder), "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"server did not start (exit {proc.poll()}):\n{log.read_text()}")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _json(proc: subprocess.CompletedProcess[str]):
    return json.loads(proc.stdout)


def test_cli_sync_end_to_end_and_server_unreachable(tmp_path: Path, run_massar) -> None:
    central, node_dir, log = tmp_path / "central", tmp_path / "node", tmp_path / "server.log"
    run_massar("server", "init", data=central)
    added = _json(
        run_massar("server", "add-school", "--school", "sa01", "--name", "Collège Al Amal", "--json", data=central)
    )
    assert added["school"] == "SA01" and len(added["token"]) >= 20
    port = _free_port()

    with _serve(central, port, log) as url:
        run_massar(
            "node",
            "init",
            "--school",
            "SA01",
            "--year",
            YEAR,
            "--server",
            url,
            "--token",
            added["token"],
            data=node_dir,
        )
        store = NodeStore.open(node_dir)
        try:
            fill_school(store, seed=6, pupils=15, absence_days=3)
            pending = store.db.execute("SELECT COUNT(*) FROM _outbox").fetchone()[0]
        finally:
            store.close()

        synced = run_massar("node", "sync", "--json", data=node_dir)
        assert synced.returncode == 0
        result = _json(synced)
        assert result["ok"] is True and result["pushed"] == pending and result["pending"] == 0

        status = _json(run_massar("node", "status", "--json", data=node_dir))
        assert status.keys() >= STATUS_KEYS
        assert status["school"] == "SA01" and status["pending_changes"] == 0
        assert status["last_sync"] and status["last_error"] is None and status["conflicts"] == 0

        schools = _json(run_massar("server", "schools", "--json", data=central))
        assert [s["school"] for s in schools] == ["SA01"]
        assert schools[0]["last_sync"] and schools[0]["last_error"] is None
        assert schools[0]["acked_seq"] >= pending and schools[0]["pending_ack"] is False

    # The server is gone: a local edit waits, the sync says so plainly and exits non-zero.
    store = NodeStore.open(node_dir)
    try:
        store.db.execute("UPDATE grades SET remark = 'vu hors ligne' WHERE rowid = (SELECT MIN(rowid) FROM grades)")
    finally:
        store.close()
    failed = run_massar("node", "sync", "--json", "--timeout", "2", data=node_dir, check=False)
    assert failed.returncode != 0
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1 and "unreachable" in lines[0] and "Traceback" not in failed.stderr, failed.stderr
    assert _json(failed)["error"] == "unreachable"

    status = _json(run_massar("node", "status", "--json", data=node_dir))
    assert status["pending_changes"] == 1 and "unreachable" in (status["last_error"] or "")

    # Back online (same port): the next sync catches up and clears the error.
    with _serve(central, port, log):
        result = _json(run_massar("node", "sync", "--json", data=node_dir))
        assert result["pushed"] == 1 and result["pending"] == 0

    db, store = open_central(central), NodeStore.open(node_dir)
    try:
        status = node_status(store)
        assert status["pending_changes"] == 0 and status["last_error"] is None
        assert list_schools(db)[0]["last_error"] is None
        for table in SCHOOL_TABLES:
            assert rows(db, table, "SA01") == rows(store.db, table), table
    finally:
        db.conn.close()
        store.close()
