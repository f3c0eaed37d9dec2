"""The systems compared, behind one small interface.

    system = SYSTEMS[name](workdir)      # starts its central server (uvicorn, 127.0.0.1, a thread)
    system.port                          # the server's port (the bench puts a NetProxy in front)
    node = system.node(folder, school)   # registers the school, returns its sync client
    n = node.prepare()                   # local, untimed: find what changed since the last sync
    info = node.sync(url)                # one full sync through `url` (the proxy), retrying after cuts
    node.close(); system.close()

Every system syncs the same school node folders: peers read the node's SQLite
file (read-only), ours syncs it.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from pathlib import Path
from typing import Any

import sqlite_utils

from tests.support.servers import ServerThread

from .peers.couch import CouchClient, couch_app
from .peers.rest import RestClient, rest_app


def _read_only(node_folder: Path) -> sqlite_utils.Database:
    conn = sqlite3.connect(f"file:{node_folder / 'node.sqlite'}?mode=ro", uri=True, check_same_thread=False)
    return sqlite_utils.Database(conn)


class _PeerNode:
    def __init__(self, client: Any, db: sqlite_utils.Database) -> None:
        self.client, self.db = client, db

    def prepare(self) -> int:
        return self.client.prepare()

    def assume_synced(self) -> bool:
        """Mark everything local as synced without sending it (scenario 5b's set-up)."""
        self.client.assume_synced()
        return True

    def sync(self, url: str) -> dict[str, Any]:
        return self.client.sync(url)

    def close(self) -> None:
        self.db.conn.close()


class CouchSystem:
    name = "couchdb"
    label = "CouchDB/PouchDB replication (JSON docs, gzip)"

    def __init__(self, workdir: Path) -> None:
        self.users: dict[str, str] = {}
        self.app = couch_app(workdir / self.name, users=self.users)
        self.server = ServerThread(self.app, server_header=False).start()

    @property
    def port(self) -> int:
        return self.server.port

    def node(self, folder: Path, school: str) -> _PeerNode:
        password = secrets.token_urlsafe(12)
        self.users[school] = password
        db = _read_only(folder)
        return _PeerNode(CouchClient(db, school, user=school, password=password), db)

    def close(self) -> None:
        self.server.stop()
        self.app.state.close()


class RestSystem:
    name = "rest"
    label = "REST/JSON API (batches of 500, gzip)"

    def __init__(self, workdir: Path) -> None:
        self.tokens: dict[str, str] = {}
        self.app = rest_app(workdir / self.name, tokens=self.tokens)
        self.server = ServerThread(self.app).start()

    @property
    def port(self) -> int:
        return self.server.port

    def node(self, folder: Path, school: str) -> _PeerNode:
        token = RestClient.new_token()
        self.tokens[token] = school
        db = _read_only(folder)
        return _PeerNode(RestClient(db, school, token=token), db)

    def close(self) -> None:
        self.server.stop()
        self.app.state.close()


# ---------------------------------------------------------------------------
# "ours": our sync engine, through its public entry points (server.app.create_app,
# server.store.open_central, server.schools.add_school, NodeStore settings
# "server"/"node_key", syncclient.session.sync_once). `ours_available()` keeps the
# harness running (peers only) when the engine cannot be imported.


def ours_available() -> str | None:
    """None when our engine can be benchmarked, else why not."""
    try:
        import server.app  # noqa: F401
        import server.schools  # noqa: F401
        import server.store  # noqa: F401
        import syncclient.session  # noqa: F401
        from protocol.auth import node_key_from_token  # noqa: F401
    except Exception as exc:  # an engine mid-rewrite must not stop the peers' figures
        return f"{type(exc).__name__}: {exc}"
    return None


class _OursNode:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def prepare(self) -> int:
        from syncclient.outbox import pending_count
        from syncclient.store import NodeStore

        store = NodeStore.open(self.folder)
        try:
            return pending_count(store.db)
        finally:
            store.close()

    def sync(self, url: str, *, max_attempts: int = 500) -> dict[str, Any]:
        from syncclient.errors import SyncClientError
        from syncclient.session import sync_once
        from syncclient.store import NodeStore

        store = NodeStore.open(self.folder)
        try:
            if store.setting("server") != url:
                store.set_setting("server", url)
        finally:
            store.close()
        attempts = 0
        while True:
            attempts += 1
            try:
                result = sync_once(self.folder)
            except SyncClientError:
                if attempts >= max_attempts:
                    raise
                time.sleep(0.01)
                continue
            if result.pending == 0:
                return {**result.as_json(), "attempts": attempts}
            if attempts >= max_attempts:
                raise RuntimeError(f"ours: still {result.pending} pending after {attempts} attempts")

    def assume_synced(self) -> bool:
        return False  # ours syncs its set-up for real: the server checks pupils against the roster

    def close(self) -> None:
        pass


class OursSystem:
    name = "ours"
    label = "Massar Sync"

    def __init__(self, workdir: Path) -> None:
        from server.app import create_app
        from server.store import open_central

        self.central = workdir / self.name
        open_central(self.central, create=True).conn.close()
        self.app = create_app(self.central)
        self.server = ServerThread(self.app).start()

    @property
    def port(self) -> int:
        return self.server.port

    def node(self, folder: Path, school: str) -> _OursNode:
        from protocol.auth import node_key_from_token
        from server.schools import add_school
        from server.store import open_central
        from syncclient.store import NodeStore

        db = open_central(self.central)
        try:
            token = add_school(db, school, f"School {school}")
        finally:
            db.conn.close()
        store = NodeStore.open(folder)
        try:
            store.set_setting("node_key", node_key_from_token(school, token).hex())
        finally:
            store.close()
        return _OursNode(folder)

    def fresh_device(self, folder: Path, school: str, year: str) -> _OursNode:
        """A new device of `school` (a replaced PC): an empty node that gets the whole school on its first sync."""
        from protocol.auth import node_key_from_token
        from server.schools import add_device
        from server.store import open_central
        from syncclient.store import NodeStore

        db = open_central(self.central)
        try:
            device, token = add_device(db, school, "replaced PC")
        finally:
            db.conn.close()
        NodeStore.init(
            folder, school, year=year, node_key=node_key_from_token(device, token).hex(), device=device
        ).close()
        return _OursNode(folder)

    def close(self) -> None:
        self.server.stop()


PEERS = (CouchSystem, RestSystem)
