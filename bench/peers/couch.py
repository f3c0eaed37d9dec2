"""Peer (a): CouchDB/PouchDB replication, the way PouchDB's `db.sync(remote)` talks to CouchDB.

One JSON document per record: `_id` is the table and the natural key
(`grades:2025/2026:M123456789:MATH:1:3`), the record's non-null columns, plus
`type`; `_rev` is `N-<md5>` as PouchDB makes it. Request bodies are gzip
(Content-Encoding: gzip, which CouchDB accepts), responses gzip above 500 bytes.

A sync is a push replication then a pull replication, sequentially, with the
requests PouchDB makes (pouchdb-replicate, http adapter):

push   GET /                      remote uuid, for the replication id
       GET /db/                   the database exists
       GET /db/_local/<rep>       checkpoint (404 the first time)
       per batch of `batch_size` changed docs (PouchDB default 100):
         POST /db/_revs_diff      which revisions the server lacks
         POST /db/_bulk_docs      {"docs": [...], "new_edits": false} (only the missing ones)
         GET  /db/_local/<rep>    checkpoint: read ...
         PUT  /db/_local/<rep>    ... then write (PouchDB's updateCheckpoint does both)
pull   GET /db/_local/<rep2>      checkpoint
       POST /db/_changes?filter=_selector&style=all_docs&since=S&limit=100 with the
         selector {"school": <own school>} (one database for all schools, filtered
         replication), repeated until empty;
         for changes the node lacks: POST /db/_bulk_get, then checkpoint GET + PUT.

The changes feed of the pull includes the documents this node just pushed (it
cannot tell them apart): PouchDB pages through them and, finding it has every
revision, fetches no document. That echo is part of CouchDB replication and is
counted. Generous simplifications: sequence numbers are integers (CouchDB 2+
sends long opaque strings), the GET / and GET /db/ of the pull are not repeated.

After a cut, the client starts the replication again, as PouchDB's retry does:
from the last checkpoint, asking `_revs_diff` again.

The server keeps documents in SQLite (`docs`, `changes`, `local`), one write
transaction per request, like CouchDB's append-only b-tree commits.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
from base64 import b64decode
from pathlib import Path
from typing import Any

import httpx
import sqlite_utils
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from protocol.tables import BY_NAME

from .common import ChangeTracker, dumps, post_gzip_json, put_gzip_json, read_json

DB_NAME = "massar"
SERVER_HEADERS = {
    # What CouchDB 3 sends with every response (Date and Content-* come from uvicorn/Starlette).
    "Server": "CouchDB/3.3.3 (Erlang OTP/24)",
    "Cache-Control": "must-revalidate",
    "X-CouchDB-Body-Time": "0",
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    id TEXT PRIMARY KEY, rev TEXT NOT NULL, seq INTEGER NOT NULL, school TEXT, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS docs_by_seq ON docs (seq);
CREATE TABLE IF NOT EXISTS local (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v);
"""


def doc_id(table: str, row: dict) -> str:
    return table + ":" + ":".join(str(row[k]) for k in BY_NAME[table].key)


def _json(value: Any, status: int = 200) -> Response:
    headers = dict(SERVER_HEADERS, **{"X-Couch-Request-ID": secrets.token_hex(5)})
    return Response(dumps(value), status_code=status, media_type="application/json", headers=headers)


# --------------------------------------------------------------------------
# Server


def couch_app(folder: Path, *, users: dict[str, str]) -> Starlette:
    """`users`: user name -> password (Basic auth); the dict may grow while the server runs.

    One database for every school, as a filtered-replication setup would have it
    (CouchDB's per-user databases would cost the same bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "couch.sqlite"
    local = threading.local()
    opened: list[sqlite3.Connection] = []
    lock = threading.Lock()
    uuid = hashlib.md5(str(path).encode()).hexdigest()

    def db() -> sqlite_utils.Database:
        if getattr(local, "db", None) is None:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            local.db = sqlite_utils.Database(conn)
            with lock:
                opened.append(conn)
        return local.db

    with sqlite3.connect(path) as setup:
        setup.executescript(SCHEMA)
    setup.close()

    def authorised(request: Request) -> bool:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme != "Basic":
            return False
        try:
            user, _, password = b64decode(value).decode().partition(":")
        except ValueError:
            return False
        return users.get(user) == password and password != ""

    async def root(request: Request) -> Response:
        return _json(
            {
                "couchdb": "Welcome",
                "version": "3.3.3",
                "git_sha": "40afbcfc7",
                "uuid": uuid,
                "features": ["access-ready", "partitioned", "pluggable-storage-engines", "reshard", "scheduler"],
                "vendor": {"name": "The Apache Software Foundation"},
            }
        )

    async def db_info(request: Request) -> Response:
        if not authorised(request):
            return _json({"error": "unauthorized", "reason": "Name or password is incorrect."}, 401)

        def work() -> dict:
            conn = db()
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0), COUNT(*) FROM docs").fetchone()
            return {
                "instance_start_time": "0",
                "db_name": DB_NAME,
                "purge_seq": "0",
                "update_seq": str(seq[0]),
                "sizes": {"file": 0, "external": 0, "active": 0},
                "props": {},
                "doc_del_count": 0,
                "doc_count": seq[1],
                "disk_format_version": 8,
                "compact_running": False,
                "cluster": {"q": 2, "n": 1, "w": 1, "r": 1},
            }

        return _json(await run_in_threadpool(work))

    async def local_doc(request: Request) -> Response:
        if not authorised(request):
            return _json({"error": "unauthorized"}, 401)
        name = "_local/" + request.path_params["name"]
        if request.method == "GET":
            row = await run_in_threadpool(
                lambda: db().execute("SELECT body FROM local WHERE id = ?", [name]).fetchone()
            )
            if row is None:
                return _json({"error": "not_found", "reason": "missing"}, 404)
            return _json(json.loads(row[0]))
        try:
            body = await read_json(request)
        except ClientDisconnect:
            return Response(status_code=499)

        def put() -> str:
            conn = db()
            old = conn.execute("SELECT body FROM local WHERE id = ?", [name]).fetchone()
            n = int(json.loads(old[0]).get("_rev", "0-0").split("-")[1]) + 1 if old else 1
            body["_id"], body["_rev"] = name, f"0-{n}"
            conn.execute(
                "INSERT INTO local (id, body) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                [name, json.dumps(body)],
            )
            return body["_rev"]

        rev = await run_in_threadpool(put)
        return _json({"ok": True, "id": name, "rev": rev}, 201)

    async def revs_diff(request: Request) -> Response:
        if not authorised(request):
            return _json({"error": "unauthorized"}, 401)
        try:
            asked: dict[str, list[str]] = await read_json(request)
        except ClientDisconnect:
            return Response(status_code=499)

        def work() -> dict:
            conn = db()
            have: dict[str, str] = {}
            ids = list(asked)
            for i in range(0, len(ids), 500):
                part = ids[i : i + 500]
                sql = f"SELECT id, rev FROM docs WHERE id IN ({','.join('?' for _ in part)})"
                have.update(conn.execute(sql, part).fetchall())
            return {
                i: {"missing": [r for r in revs if have.get(i) != r]}
                for i, revs in asked.items()
                if have.get(i) not in revs
            }

        return _json(await run_in_threadpool(work))

    async def bulk_docs(request: Request) -> Response:
        if not authorised(request):
            return _json({"error": "unauthorized"}, 401)
        try:
            body = await read_json(request)
        except ClientDisconnect:
            return Response(status_code=499)

        def work() -> None:
            conn = db()
            conn.conn.execute("BEGIN IMMEDIATE")
            try:
                seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM docs").fetchone()[0]
                rows = []
                for doc in body["docs"]:
                    seq += 1
                    body_text = json.dumps(doc, separators=(",", ":"))
                    rows.append((doc["_id"], doc["_rev"], seq, doc.get("school"), body_text))
                conn.conn.executemany(
                    "INSERT INTO docs (id, rev, seq, school, body) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE "
                    "SET rev = excluded.rev, seq = excluded.seq, school = excluded.school, body = excluded.body "
                    "WHERE CAST(excluded.rev AS INTEGER) >= CAST(docs.rev AS INTEGER)",
                    rows,
                )
                conn.conn.execute("COMMIT")
            except BaseException:
                conn.conn.execute("ROLLBACK")
                raise

        await run_in_threadpool(work)
        return _json([], 201)  # new_edits=false answers with an empty list

    async def changes(request: Request) -> Response:
        """The changes feed; POST with filter=_selector and {"selector": {"school": S}} filters by school."""
        if not authorised(request):
            return _json({"error": "unauthorized"}, 401)
        since = int(request.query_params.get("since", "0") or 0)
        limit = int(request.query_params.get("limit", "100"))
        school = None
        if request.method == "POST":
            try:
                body = await read_json(request)
            except ClientDisconnect:
                return Response(status_code=499)
            school = ((body or {}).get("selector") or {}).get("school")

        def work() -> dict:
            where, args = "seq > ?", [since]
            if school is not None:
                where, args = where + " AND school = ?", [since, school]
            rows = (
                db()
                .execute(f"SELECT seq, id, rev FROM docs WHERE {where} ORDER BY seq LIMIT ?", [*args, limit])
                .fetchall()
            )
            results = [{"seq": s, "id": i, "changes": [{"rev": r}]} for s, i, r in rows]
            last = (
                rows[-1][0] if rows else db().execute("SELECT COALESCE(MAX(seq), ?) FROM docs", [since]).fetchone()[0]
            )
            pending = (
                db()
                .execute(f"SELECT COUNT(*) FROM docs WHERE {where.replace('seq > ?', 'seq > ?', 1)}", [last, *args[1:]])
                .fetchone()[0]
            )
            return {"results": results, "last_seq": last, "pending": pending}

        return _json(await run_in_threadpool(work))

    async def bulk_get(request: Request) -> Response:
        if not authorised(request):
            return _json({"error": "unauthorized"}, 401)
        body = await read_json(request)

        def work() -> dict:
            results = []
            for item in body["docs"]:
                row = db().execute("SELECT body FROM docs WHERE id = ?", [item["id"]]).fetchone()
                doc = {"ok": json.loads(row[0])} if row else {"error": {"id": item["id"], "error": "not_found"}}
                results.append({"id": item["id"], "docs": [doc]})
            return {"results": results}

        return _json(await run_in_threadpool(work))

    app = Starlette(
        routes=[
            Route("/", root),
            Route(f"/{DB_NAME}/", db_info),
            Route(f"/{DB_NAME}/_local/{{name}}", local_doc, methods=["GET", "PUT"]),
            Route(f"/{DB_NAME}/_revs_diff", revs_diff, methods=["POST"]),
            Route(f"/{DB_NAME}/_bulk_docs", bulk_docs, methods=["POST"]),
            Route(f"/{DB_NAME}/_changes", changes, methods=["GET", "POST"]),
            Route(f"/{DB_NAME}/_bulk_get", bulk_get, methods=["POST"]),
        ],
        middleware=[Middleware(GZipMiddleware, minimum_size=500)],
    )
    app.state.close = lambda: [c.close() for c in opened]
    return app


# --------------------------------------------------------------------------
# Client


class CouchClient:
    """A school node replicating like PouchDB: `prepare()` (local, untimed), then `sync()`."""

    def __init__(
        self, node_db: sqlite_utils.Database, school: str, *, user: str, password: str, batch_size: int = 100
    ) -> None:
        self.node_db, self.school, self.batch_size = node_db, school, batch_size
        self.tracker = ChangeTracker()
        self.revs: dict[str, tuple[int, list[str]]] = {}  # doc id -> (generation, rev hashes newest first)
        self.local_seq = 0  # the node's own changes feed
        self.pending: list[dict] = []
        self.push_checkpoint = 0  # last local seq the server has (the checkpoint's value)
        self.rep_push = "push-" + hashlib.md5(school.encode()).hexdigest()
        self.rep_pull = "pull-" + hashlib.md5(school.encode()).hexdigest()
        self.auth = httpx.BasicAuth(user, password)
        self._docs: list[tuple[int, dict, tuple]] = []  # (local seq, doc, tracker entry), not yet checkpointed
        self._pulled_to = 0

    def prepare(self) -> int:
        """Read local changes into new document revisions (PouchDB's local writes and changes feed)."""
        for table, row, h in self.tracker.changes(self.node_db, self.school):
            did = doc_id(table, row)
            gen, history = self.revs.get(did, (0, []))
            doc = {"_id": did, "type": table, **row}
            rev_hash = hashlib.md5(dumps([history[:1], doc])).hexdigest()
            gen, history = gen + 1, [rev_hash, *history]
            self.revs[did] = (gen, history)
            self.local_seq += 1
            doc = {**doc, "_rev": f"{gen}-{rev_hash}", "_revisions": {"start": gen, "ids": history}}
            self._docs.append((self.local_seq, doc, (table, row, h)))
        return len(self._docs)

    def assume_synced(self) -> None:
        """Treat everything local as already replicated (set-up shortcut; nothing is sent)."""
        self.prepare()
        for _, _, entry in self._docs:
            self.tracker.mark(*entry)
        self._docs = []
        self.push_checkpoint = self.local_seq

    def sync(self, base_url: str, *, max_stalls: int = 20) -> dict[str, int]:
        """Push then pull; after a transport error, starts again from the checkpoint.
        Gives up after `max_stalls` attempts in a row that moved no checkpoint (a batch that
        never fits between two cuts would loop forever, as it would in PouchDB)."""
        attempts, stalls, pushed = 0, 0, 0
        while True:
            attempts += 1
            before = (len(self._docs), self._pulled_to)
            try:
                with httpx.Client(base_url=base_url, auth=self.auth, timeout=120) as client:
                    pushed += self._push(client)
                    self._pull(client)
                return {"docs": pushed, "attempts": attempts}
            except httpx.TransportError as exc:
                stalls = stalls + 1 if (len(self._docs), self._pulled_to) == before else 0
                if stalls >= max_stalls:
                    raise RuntimeError(f"no progress in {stalls} attempts in a row: {exc}") from exc

    def _checkpoint(self, client: httpx.Client, rep: str) -> int:
        r = client.get(f"/{DB_NAME}/_local/{rep}")
        if r.status_code == 404:
            return 0
        r.raise_for_status()
        return int(r.json()["last_seq"])

    def _write_checkpoint(self, client: httpx.Client, rep: str, seq: int) -> None:
        r = client.get(f"/{DB_NAME}/_local/{rep}")
        old = r.json() if r.status_code == 200 else {}
        body = {"session_id": "s1", "last_seq": seq, "history": [{"last_seq": seq, "session_id": "s1"}]}
        if "_rev" in old:
            body["_rev"] = old["_rev"]
        put_gzip_json(client, f"/{DB_NAME}/_local/{rep}", body).raise_for_status()

    def _push(self, client: httpx.Client) -> int:
        client.get("/").raise_for_status()
        client.get(f"/{DB_NAME}/").raise_for_status()
        since = self._checkpoint(client, self.rep_push)
        todo = [d for d in self._docs if d[0] > since]
        pushed = 0
        for i in range(0, len(todo), self.batch_size):
            batch = todo[i : i + self.batch_size]
            diff = post_gzip_json(client, f"/{DB_NAME}/_revs_diff", {d["_id"]: [d["_rev"]] for _, d, _ in batch})
            diff.raise_for_status()
            missing = diff.json()
            docs = [d for _, d, _ in batch if d["_id"] in missing]
            if docs:
                post_gzip_json(client, f"/{DB_NAME}/_bulk_docs", {"docs": docs, "new_edits": False}).raise_for_status()
                pushed += len(docs)
            self._write_checkpoint(client, self.rep_push, batch[-1][0])
            for _, _, entry in batch:
                self.tracker.mark(*entry)
            self._docs = [d for d in self._docs if d[0] > batch[-1][0]]
        return pushed

    def _pull(self, client: httpx.Client) -> None:
        since = self._checkpoint(client, self.rep_pull)
        while True:
            r = post_gzip_json(
                client,
                f"/{DB_NAME}/_changes?filter=_selector&style=all_docs&since={since}&limit=100",
                {"selector": {"school": self.school}},
            )
            r.raise_for_status()
            feed = r.json()
            if not feed["results"]:
                return
            wanted = []
            for change in feed["results"]:
                gen, history = self.revs.get(change["id"], (0, []))
                if not history or change["changes"][0]["rev"] != f"{gen}-{history[0]}":
                    wanted.append({"id": change["id"], "rev": change["changes"][0]["rev"]})
            if wanted:  # central corrections: fetch them (applying them locally is not benchmarked)
                post_gzip_json(
                    client, f"/{DB_NAME}/_bulk_get?revs=true&latest=true", {"docs": wanted}
                ).raise_for_status()
            since = feed["last_seq"]
            self._write_checkpoint(client, self.rep_pull, since)
            self._pulled_to = since
