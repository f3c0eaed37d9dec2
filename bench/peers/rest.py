"""Peer (b): a typical REST/JSON sync API.

push   POST /api/v1/sync/<table>      {"rows": [{column: value, ...}, ...]}, 500 rows a request, gzip
pull   GET  /api/v1/changes?since=C   {"rows": [...], "cursor": C'}; rows written by others only

One request per batch per table (a batch never mixes tables, as with typical
per-resource endpoints); the server upserts each batch in one transaction into
the same schema as ours (domain.rows.upsert_rows), so a retried batch is
harmless. Authorization: a bearer token (43 characters). After a cut the client
retries the batch that failed, on a new connection; acknowledged batches are
not sent again. Generous to the peer: the pull excludes the node's own writes
(no echo), JSON omits null fields.
"""

from __future__ import annotations

import secrets
import threading
from pathlib import Path

import httpx
import sqlite_utils
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from domain.database import migrate, open_database, write_transaction
from domain.migrations import DOMAIN_ONLY
from domain.rows import as_tuple, upsert_rows

from .common import SCHOOL_TABLES, ChangeTracker, post_gzip_json, read_json

BATCH = 500


def rest_app(folder: Path, *, tokens: dict[str, str]) -> Starlette:
    """`tokens`: bearer token -> school code."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "rest.sqlite"
    setup = open_database(path)
    migrate(setup, DOMAIN_ONLY)
    with write_transaction(setup):
        setup.conn.execute(
            "CREATE TABLE IF NOT EXISTS _log (seq INTEGER PRIMARY KEY, tbl TEXT, origin TEXT, n INTEGER)"
        )
    setup.conn.close()
    local = threading.local()
    opened: list[sqlite_utils.Database] = []
    lock = threading.Lock()

    def db() -> sqlite_utils.Database:
        if getattr(local, "db", None) is None:
            local.db = open_database(path)
            with lock:
                opened.append(local.db)
        return local.db

    def school_of(request: Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return tokens.get(token) if scheme == "Bearer" else None

    async def push(request: Request) -> Response:
        school = school_of(request)
        if school is None:
            return JSONResponse({"error": "unauthorized"}, 401)
        table = request.path_params["table"]
        if table not in SCHOOL_TABLES:
            return JSONResponse({"error": "unknown table"}, 404)
        try:
            body = await read_json(request)
        except ClientDisconnect:
            return Response(status_code=499)
        rows = body["rows"]
        if any(r.get("school") != school for r in rows):
            return JSONResponse({"error": "forbidden"}, 403)

        def work() -> None:
            conn = db()
            with write_transaction(conn):
                upsert_rows(conn, table, (as_tuple(table, r) for r in rows))
                conn.conn.execute("INSERT INTO _log (tbl, origin, n) VALUES (?, ?, ?)", [table, school, len(rows)])

        await run_in_threadpool(work)
        return JSONResponse({"accepted": len(rows)})

    async def changes(request: Request) -> Response:
        school = school_of(request)
        if school is None:
            return JSONResponse({"error": "unauthorized"}, 401)
        since = int(request.query_params.get("since", "0") or 0)

        def work() -> int:
            # Only others' writes would be returned; in the benchmark nobody else writes.
            row = db().execute("SELECT COALESCE(MAX(seq), ?) FROM _log WHERE seq > ?", [since, since]).fetchone()
            return row[0]

        cursor = await run_in_threadpool(work)
        return JSONResponse({"rows": [], "cursor": cursor})

    app = Starlette(
        routes=[
            Route("/api/v1/sync/{table}", push, methods=["POST"]),
            Route("/api/v1/changes", changes),
        ],
        middleware=[Middleware(GZipMiddleware, minimum_size=500)],
    )
    app.state.close = lambda: [d.conn.close() for d in opened]
    return app


class RestClient:
    """`prepare()` (local, untimed) then `sync()`."""

    def __init__(self, node_db: sqlite_utils.Database, school: str, *, token: str, batch: int = BATCH) -> None:
        self.node_db, self.school, self.token, self.batch = node_db, school, token, batch
        self.tracker = ChangeTracker()
        self.cursor = 0
        self.pending: list[tuple[str, list[tuple[str, dict, str]]]] = []

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)

    def prepare(self) -> int:
        by_table: dict[str, list] = {}
        for table, row, h in self.tracker.changes(self.node_db, self.school):
            by_table.setdefault(table, []).append((table, row, h))
        self.pending = []
        for table in SCHOOL_TABLES:
            rows = by_table.get(table, [])
            self.pending += [(table, rows[i : i + self.batch]) for i in range(0, len(rows), self.batch)]
        return sum(len(b) for _, b in self.pending)

    def assume_synced(self) -> None:
        """Treat everything local as already sent (set-up shortcut; nothing is sent)."""
        self.prepare()
        for _, batch in self.pending:
            for entry in batch:
                self.tracker.mark(*entry)
        self.pending = []

    def sync(self, base_url: str, *, max_stalls: int = 20) -> dict[str, int]:
        """Push every pending batch, then pull; after a transport error, retries the batch that
        failed on a new connection. Gives up after `max_stalls` failed attempts in a row."""
        headers = {"Authorization": f"Bearer {self.token}"}
        attempts, stalls, sent = 0, 0, 0
        while True:
            attempts += 1
            try:
                with httpx.Client(base_url=base_url, headers=headers, timeout=120) as client:
                    while self.pending:
                        table, batch = self.pending[0]
                        r = post_gzip_json(client, f"/api/v1/sync/{table}", {"rows": [row for _, row, _ in batch]})
                        r.raise_for_status()
                        for entry in batch:
                            self.tracker.mark(*entry)
                        sent += len(batch)
                        stalls = 0
                        self.pending.pop(0)
                    r = client.get("/api/v1/changes", params={"since": self.cursor})
                    r.raise_for_status()
                    self.cursor = r.json()["cursor"]
                return {"rows": sent, "attempts": attempts}
            except httpx.TransportError as exc:
                stalls += 1
                if stalls >= max_stalls:
                    raise RuntimeError(f"no progress in {stalls} attempts in a row: {exc}") from exc
