"""The registry of school nodes: tokens (stored only as derived keys), revocation, status."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

import sqlite_utils

from domain.clock import SYSTEM_CLOCK, Clock, iso_now
from domain.codes import check_school_code
from domain.database import write_transaction
from domain.errors import Conflict, NotFound
from protocol.auth import node_key_from_token

if TYPE_CHECKING:
    from .backend import CentralStore


def add_school(
    store: CentralStore | sqlite_utils.Database, code: str, name: str, *, clock: Clock = SYSTEM_CLOCK
) -> str:
    """Register a school; returns its node token, which is shown once and never stored."""
    code = check_school_code(code)
    token = secrets.token_urlsafe(24)
    key = node_key_from_token(code, token).hex()
    if isinstance(store, sqlite_utils.Database):
        register_school(store, code, name, key, clock=clock)
    else:
        store.add_school(code, name, key)
    return token


def register_school(db: sqlite_utils.Database, code: str, name: str, key: str, *, clock: Clock = SYSTEM_CLOCK) -> None:
    with write_transaction(db):
        row = db.execute("SELECT revoked FROM _schools WHERE code = ?", [code]).fetchone()
        if row and not row[0]:
            raise Conflict(
                f"school {code} is already registered; revoke it first to issue a new token", code="already_registered"
            )
        db.conn.execute(
            "INSERT INTO _schools (code, name, node_key, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (code) DO UPDATE SET name = excluded.name, node_key = excluded.node_key, revoked = 0",
            [code, name, key, iso_now(clock)],
        )
        db.conn.execute(
            "INSERT INTO schools (code, name) VALUES (?, ?) ON CONFLICT (code) DO UPDATE SET name = excluded.name",
            [code, name],
        )


def revoke_school(store: CentralStore | sqlite_utils.Database, code: str) -> None:
    code = check_school_code(code)
    if not isinstance(store, sqlite_utils.Database):
        store.revoke_school(code)
        return
    with write_transaction(store):
        cur = store.conn.execute("UPDATE _schools SET revoked = 1 WHERE code = ?", [code])
        if cur.rowcount == 0:
            raise NotFound(f"unknown school {code}", code="unknown_school")


SCHOOLS_SQL = (
    "SELECT s.code, s.name, s.revoked, s.last_sync, s.last_error, s.acked_seq, s.pull_cursor, "
    "(SELECT MAX(sseq) FROM _versions v WHERE v.school = s.code OR v.school IS NULL), "
    "(SELECT COUNT(*) FROM _conflicts c WHERE c.school = s.code) "
    "FROM _schools s ORDER BY s.code"
)


def list_schools(store: CentralStore | sqlite_utils.Database) -> list[dict]:
    rows = store.execute(SCHOOLS_SQL).fetchall() if isinstance(store, sqlite_utils.Database) else store.list_schools()
    return [
        {
            "school": r[0],
            "name": r[1],
            "revoked": bool(r[2]),
            "last_sync": r[3],
            "last_error": r[4],
            "acked_seq": r[5],
            # versions the school has not pulled yet: its pending acknowledgement
            "pending_ack": bool(r[7] and r[7] > r[6]),
            "pull_cursor": r[6],
            "conflicts": r[8],
        }
        for r in rows
    ]


def record_sync(db: sqlite_utils.Database, code: str, *, at: str, pull_cursor: int | None) -> None:
    """A served sync, in the request's write transaction."""
    db.conn.execute(
        "UPDATE _schools SET last_sync = ?, last_error = NULL, pull_cursor = COALESCE(?, pull_cursor) WHERE code = ?",
        [at, pull_cursor, code],
    )


def record_refusal(db: sqlite_utils.Database, code: str, counter: int, error: str) -> None:
    """A refused request of an authenticated school: the operator sees why, and its counter is spent
    (the request's own transaction was rolled back), so a replay of it is refused as a replay."""
    with write_transaction(db):
        db.conn.execute(
            "UPDATE _schools SET last_error = ?, last_counter = max(last_counter, ?) WHERE code = ?",
            [error, counter, code],
        )
