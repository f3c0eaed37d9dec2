"""The systems compared, behind one small interface.

    system = SYSTEMS[name](workdir, node_folder, school)
    system.port                  # the server's port (the bench puts a NetProxy in front)
    n = system.prepare()         # local, untimed: find what changed since the last sync
    info = system.sync(url)      # one full sync through `url` (the proxy), retrying after cuts
    system.close()

Every system syncs the same node: peers read its SQLite file, ours syncs it.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import sqlite_utils

from .peers.couch import CouchClient, couch_app
from .peers.rest import RestClient, rest_app
from .serve import ServerThread


def _read_only(node_folder: Path) -> sqlite_utils.Database:
    conn = sqlite3.connect(f"file:{node_folder / 'node.sqlite'}?mode=ro", uri=True, check_same_thread=False)
    return sqlite_utils.Database(conn)


class CouchSystem:
    name = "couchdb"
    label = "CouchDB/PouchDB replication (JSON docs, gzip)"

    def __init__(self, workdir: Path, node_folder: Path, school: str) -> None:
        self.app = couch_app(workdir / "couch")
        self.server = ServerThread(self.app, server_header=False).start()
        self.node_db = _read_only(node_folder)
        self.client = CouchClient(self.node_db, school)

    @property
    def port(self) -> int:
        return self.server.port

    def prepare(self) -> int:
        return self.client.prepare()

    def sync(self, url: str) -> dict[str, Any]:
        return self.client.sync(url)

    def close(self) -> None:
        self.server.stop()
        self.app.state.close()
        self.node_db.conn.close()


class RestSystem:
    name = "rest"
    label = "REST/JSON API (batches of 500, gzip)"

    def __init__(self, workdir: Path, node_folder: Path, school: str) -> None:
        token = RestClient.new_token()
        self.app = rest_app(workdir / "rest", tokens={token: school})
        self.server = ServerThread(self.app).start()
        self.node_db = _read_only(node_folder)
        self.client = RestClient(self.node_db, school, token=token)

    @property
    def port(self) -> int:
        return self.server.port

    def prepare(self) -> int:
        return self.client.prepare()

    def sync(self, url: str) -> dict[str, Any]:
        return self.client.sync(url)

    def close(self) -> None:
        self.server.stop()
        self.app.state.close()
        self.node_db.conn.close()


# ---------------------------------------------------------------------------
# SLOT "ours": our sync engine.
#
# PROVISIONAL: wired against the engine as it stands (server.app.create_app,
# server.schools.add_school, NodeStore settings "server"/"node_key",
# syncclient.session.sync_once); the lead confirms the API when it settles.
# `available()` keeps the harness running (peers only) when it cannot be imported.


def ours_available() -> str | None:
    """None when our engine can be benchmarked, else why not."""
    try:
        import server.app  # noqa: F401
        import server.schools  # noqa: F401
        import syncclient.session  # noqa: F401
        from protocol.auth import node_key_from_token  # noqa: F401
    except Exception as exc:  # an engine mid-rewrite must not stop the peers' figures
        return f"{type(exc).__name__}: {exc}"
    return None


class OursSystem:
    name = "ours"
    label = "Massar Sync (columnar msgpack + zstd dictionary)"

    def __init__(self, workdir: Path, node_folder: Path, school: str) -> None:
        from protocol.auth import node_key_from_token
        from server.app import create_app
        from server.schools import add_school
        from server.store import open_central
        from syncclient.store import NodeStore

        central = workdir / "central"
        db = open_central(central, create=True)
        try:
            token = add_school(db, school, f"School {school}")
        finally:
            db.conn.close()
        self.app = create_app(central)
        self.server = ServerThread(self.app).start()
        self.node_folder = node_folder
        store = NodeStore.open(node_folder)
        try:
            store.set_setting("node_key", node_key_from_token(school, token).hex())
        finally:
            store.close()

    @property
    def port(self) -> int:
        return self.server.port

    def prepare(self) -> int:
        from syncclient.changelog import pending_count
        from syncclient.store import NodeStore

        store = NodeStore.open(self.node_folder)
        try:
            return pending_count(store.db)
        finally:
            store.close()

    def sync(self, url: str, *, max_attempts: int = 10_000) -> dict[str, Any]:
        from syncclient.errors import SyncClientError
        from syncclient.session import sync_once
        from syncclient.store import NodeStore

        store = NodeStore.open(self.node_folder)
        try:
            store.set_setting("server", url)
        finally:
            store.close()
        attempts = 0
        while True:
            attempts += 1
            try:
                result = sync_once(self.node_folder)
            except SyncClientError:
                if attempts >= max_attempts:
                    raise
                time.sleep(0.01)
                continue
            if result.pending == 0:
                return {**result.as_json(), "attempts": attempts}
            if attempts >= max_attempts:
                raise RuntimeError(f"ours: still {result.pending} pending after {attempts} attempts")

    def close(self) -> None:
        self.server.stop()


PEERS = (CouchSystem, RestSystem)
