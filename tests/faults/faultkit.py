"""Shared pieces of the fault suites: the run's report, the trial scale, row hashes, servers and nodes.

The report (REPORT) is filled by the tests and printed once at the end of the
session by the `pytest_terminal_summary` hook of this folder's conftest.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from protocol.auth import node_key_from_token
from protocol.tables import BY_NAME, TABLES
from tests.support.servers import ServerThread

REPO = Path(__file__).resolve().parents[2]
YEAR = "2024/2025"  # a past school year: every sample date is in the past, whatever the day
SCHOOL_TABLES = tuple(t.name for t in TABLES if not t.national)
NATIONAL_TABLES = tuple(t.name for t in TABLES if t.national)


def fault_scale() -> int:
    """MASSAR_FAULT_SCALE (default 1) multiplies the trial counts for a long run."""
    raw = os.environ.get("MASSAR_FAULT_SCALE", "1").strip() or "1"
    try:
        value = int(raw)
    except ValueError:
        raise RuntimeError(f"MASSAR_FAULT_SCALE must be a positive integer, not {raw!r}") from None
    if value < 1:
        raise RuntimeError(f"MASSAR_FAULT_SCALE must be a positive integer, not {raw!r}")
    return value


SCALE = fault_scale()


# --------------------------------------------------------------------------
# The session report


# Each hostile case counts once under "hostile" and once under its category.
HOSTILE_CATEGORIES = {
    "hostile_api": "central API",
    "hostile_web": "node web forms",
    "hostile_flood": "floods and slow bodies",
    "hostile_publish": "published data",
    "hostile_files": "imported files",
    "hostile_export": "exported sheets",
    "hostile_values": "values from a school",
    "hostile_clock": "clock",
    "hostile_tls": "TLS",
}


@dataclass
class Report:
    counts: Counter = field(default_factory=Counter)
    resent: list[tuple[str, int, int]] = field(default_factory=list)  # (what, bytes re-sent, bytes of the data)
    notes: list[str] = field(default_factory=list)

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] += n

    def hostile(self, category: str) -> None:
        """One more hostile case refused, under `category` (a key of HOSTILE_CATEGORIES)."""
        if category not in HOSTILE_CATEGORIES:
            raise KeyError(category)
        self.counts["hostile"] += 1
        self.counts[category] += 1

    def lines(self) -> list[str]:
        c = self.counts
        out = [f"MASSAR_FAULT_SCALE={SCALE}"]
        if c["kills"] or c["kill_attempts"] or c["kills_import"]:
            out.append(
                f"kills survived: {c['kills'] + c['kills_import']} = {c['kills']} SIGKILLs during syncs "
                f"(node {c['kills_node']}, server {c['kills_server']}; {c['kills_mid_sync']} after requests reached the "
                f"server) + {c['kills_import']} during a local import; "
                f"{c['kill_attempts'] - c['kills']} sync attempts finished before their kill"
            )
        if c["links"]:
            out.append(f"cut or bad links survived: {c['links']} (connections cut by the proxy: {c['cuts']})")
        for what, resent, total in self.resent:
            share = f" ({100 * resent / total:.1f}% of the {total} bytes of a clean sync)" if total else ""
            out.append(f"bytes re-sent after cuts, {what}: {resent}{share}")
        if c["hostile"]:
            parts = ", ".join(f"{label} {c[key]}" for key, label in HOSTILE_CATEGORIES.items() if c[key])
            out.append(f"hostile cases refused: {c['hostile']} ({parts})")
        if c["convergence_examples"]:
            out.append(
                f"convergence examples run: {c['convergence_examples']} ({c['convergence_steps']} steps, "
                f"{c['convergence_syncs']} syncs, {c['convergence_lost_requests']} requests lost, "
                f"{c['convergence_lost_responses']} responses lost, {c['convergence_conflicts']} conflicts logged, "
                f"{c['convergence_restores']} backups restored, {c['convergence_refused']} squatted codes refused)"
            )
        if c["convergence_transfers"]:
            out.append(
                f"transfers in convergence examples: {c['convergence_transfers']} (the arrival reached the centre "
                f"first {c['convergence_transfers_arrival_first']}, the departure first "
                f"{c['convergence_transfers_departure_first']}, both left to the random syncs "
                f"{c['convergence_transfers_offline_first']}; later edits of shared records "
                f"{c['convergence_moved_edits']})"
            )
        out.extend(self.notes)
        return out


REPORT = Report()


# --------------------------------------------------------------------------
# Hashes


def _connect_ro(path: Path | str) -> Any:
    """A SQLite file read-only, or a PostgreSQL centre (a postgresql:// URL) through the centre's adapter."""
    if isinstance(path, str) and path.startswith("postgresql://"):
        from server.store import open_central

        return open_central(path).conn
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def central_file(central: Path | str) -> Path | str:
    """What `query` and `table_hashes` read of a centre: its SQLite file, or its PostgreSQL URL as is."""
    return central if isinstance(central, str) else central / "central.sqlite"


def school_rows(conn: Any, table: str, school: str | None) -> list[tuple]:
    """Every row of a synced table in wire column order, sorted; school-owned tables filtered to `school`."""
    spec = BY_NAME[table]
    sql = f"SELECT {', '.join(spec.column_names)} FROM {table}"
    params: list = []
    if school is not None and not spec.national:
        sql += " WHERE school = ?"
        params.append(school)
    return sorted(map(tuple, conn.execute(sql, params).fetchall()), key=repr)


def table_hashes(
    path: Path | str, school: str | None, tables: tuple[str, ...] = SCHOOL_TABLES
) -> dict[str, tuple[int, str]]:
    """{table: (row count, sha256 of the rows)} of the synced tables, filtered to `school`."""
    conn = _connect_ro(path)
    try:
        out = {}
        for table in tables:
            rows = school_rows(conn, table, school)
            out[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()[:16])
        return out
    finally:
        conn.close()


def query(path: Path | str, sql: str, params: list | tuple = ()) -> list[tuple]:
    conn = _connect_ro(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


# --------------------------------------------------------------------------
# Processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def massar_argv(*args: object) -> list[str]:
    return [sys.executable, "-m", "cli", *map(str, args)]


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MASSAR_DATA"}
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_massar(*args: object, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        massar_argv(*args), capture_output=True, text=True, encoding="utf-8", env=child_env(), cwd=REPO, timeout=timeout
    )


class ServerProcess:
    """`massar server serve` in a subprocess on a fixed port (so nodes keep their URL across restarts).

    With `tls=(certfile, keyfile)` it serves HTTPS; `ca` is then the PEM that verifies its certificate."""

    def __init__(
        self,
        folder: Path | str,
        port: int,
        log: Path,
        *,
        tls: tuple[Path, Path] | None = None,
        ca: Path | None = None,
    ) -> None:
        self.folder, self.port, self.log = folder, port, log
        self.tls, self.ca = tls, ca
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def store_args(self) -> list[object]:
        """--data DIR (SQLite), or --database URL (PostgreSQL)."""
        if isinstance(self.folder, str) and self.folder.startswith("postgresql://"):
            return ["--database", self.folder]
        return ["--data", self.folder]

    def start(self, timeout: float = 30.0) -> None:
        assert self.proc is None
        tls_args = ["--certfile", self.tls[0], "--keyfile", self.tls[1]] if self.tls else []
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                massar_argv("server", "serve", *self.store_args, "--port", self.port, *tls_args),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=child_env(),
                cwd=REPO,
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        verify = ssl.create_default_context(cafile=str(self.ca)) if self.ca else True
        with httpx.Client(timeout=1.0, verify=verify) as client:
            while True:
                if self.proc.poll() is not None:
                    raise AssertionError(f"the server exited {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(self.url + "/health").status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise AssertionError("the server did not answer /health in time")
                time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


# --------------------------------------------------------------------------
# In-process central server and nodes


@dataclass
class CentralThread:
    """The central server (`server.app.create_app`) under uvicorn in a thread of the test process."""

    folder: Path | str  # a data folder (SQLite) or a postgresql:// URL
    server: object = None
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path | str:
        """What `query` and `table_hashes` read: the SQLite file, or the PostgreSQL URL."""
        return central_file(self.folder)

    @property
    def store_args(self) -> list[str]:
        """The `massar server` options naming this store: --data DIR or --database URL."""
        if isinstance(self.folder, str):
            return ["--database", self.folder]
        return ["--data", str(self.folder)]

    @property
    def url(self) -> str:
        return self.server.url  # type: ignore[attr-defined]

    @property
    def port(self) -> int:
        return self.server.port  # type: ignore[attr-defined]

    @contextlib.contextmanager
    def db(self) -> Iterator:
        from server.store import open_central

        conn = open_central(self.folder)
        try:
            yield conn
        finally:
            conn.conn.close()

    def add_school(self, code: str) -> str:
        from server.schools import add_school

        with self.db() as db:
            token = add_school(db, code, f"École {code}")
        self.tokens[code] = token
        return token


@contextlib.contextmanager
def central_thread(folder: Path | str, **app_settings: object) -> Iterator[CentralThread]:
    """`app_settings` go to `server.app.create_app` (e.g. `ingest=IngestLimits(...)`)."""
    from server.app import create_app
    from server.store import open_central

    open_central(folder, create=True).conn.close()
    server = ServerThread(create_app(folder, **app_settings), lifespan="on")  # type: ignore[arg-type]
    server.start()
    try:
        yield CentralThread(folder, server)
    finally:
        server.stop()


def node_key(school: str, token: str) -> str:
    return node_key_from_token(school, token).hex()
