"""The registry of schools and their devices: tokens (stored only as derived keys), revocation, status.

A school has one device or several (the secretariat's PC, the parents' terminal,
a replaced PC). Each device is its own origin: its own sequence numbers, token,
request counter and sync state, under its school's scope. `add_school` creates
the school's first device, named by the school's code, with a token of the
form issued before devices existed; `add_device` issues `DEVICE.SECRET`
tokens, so `massar node init --token` learns the device from the token.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Sequence
from typing import Any, NamedTuple

import sqlite_utils

from domain.clock import SYSTEM_CLOCK, Clock, iso_now
from domain.codes import check_school_code
from domain.database import write_transaction
from domain.errors import Conflict, InvalidInput, NotFound
from protocol.auth import TOKEN_SEPARATOR, node_key_from_token

_DEVICE_ALPHABET = string.ascii_uppercase + string.digits


class Device(NamedTuple):
    """What the sync endpoint needs to know of the device it serves."""

    id: str
    school: str
    node_key: bytes
    revoked: bool
    last_counter: int
    acked_seq: int
    sent_cursor: int
    seen_cursor: int
    restore_floor: int


DEVICE_COLUMNS = "id, school, node_key, revoked, last_counter, acked_seq, pull_cursor, seen_cursor, restore_floor"
"""`_devices`' columns a `Device` is read from (`device_of`)."""


def device_of(row: Sequence[Any] | None) -> Device | None:
    """The Device of a row of `DEVICE_COLUMNS`."""
    if row is None:
        return None
    return Device(row[0], row[1], bytes.fromhex(row[2]), bool(row[3]), *row[4:])


def find_device(db: sqlite_utils.Database, device_id: str) -> Device | None:
    return device_of(db.execute(f"SELECT {DEVICE_COLUMNS} FROM _devices WHERE id = ?", [device_id]).fetchone())


def _insert_device(db: sqlite_utils.Database, device: str, school: str, name: str, token: str, at: str) -> None:
    db.conn.execute(
        "INSERT INTO _devices (id, school, name, node_key, created_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET name = excluded.name, node_key = excluded.node_key, revoked = 0",
        [device, school, name, node_key_from_token(device, token).hex(), at],
    )


def _token_secret() -> str:
    """A URL-safe secret that never starts with '-'.

    Operators paste it after `--token`; argparse takes a leading '-' for an
    option, so one token in 64 made `massar node init` fail.
    """
    while True:
        secret = secrets.token_urlsafe(24)
        if not secret.startswith("-"):
            return secret


def add_school(db: sqlite_utils.Database, code: str, name: str, *, clock: Clock = SYSTEM_CLOCK) -> str:
    """Register a school and its first device; returns the device's token, shown once and never stored."""
    code = check_school_code(code)
    token = _token_secret()
    with write_transaction(db):
        row = db.execute("SELECT revoked FROM _devices WHERE id = ?", [code]).fetchone()
        if row and not row[0]:
            raise Conflict(
                f"school {code} is already registered; revoke it first to issue a new token", code="already_registered"
            )
        if db.execute("SELECT 1 FROM _devices WHERE id = ? AND school != ?", [code, code]).fetchone():
            raise Conflict(f"{code} already names a device of another school", code="already_registered")
        db.conn.execute(
            "INSERT INTO _schools (code, name, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (code) DO UPDATE SET name = excluded.name",
            [code, name, iso_now(clock)],
        )
        _insert_device(db, code, code, "first device", token, iso_now(clock))
        db.conn.execute(
            "INSERT INTO schools (code, name) VALUES (?, ?) ON CONFLICT (code) DO UPDATE SET name = excluded.name",
            [code, name],
        )
    return token


def _new_device_id(db: sqlite_utils.Database) -> str:
    while True:
        candidate = "D" + "".join(secrets.choice(_DEVICE_ALPHABET) for _ in range(7))
        taken = db.execute(
            "SELECT 1 FROM _devices WHERE id = ? UNION ALL SELECT 1 FROM _schools WHERE code = ?",
            [candidate, candidate],
        ).fetchone()
        if not taken:
            return candidate


def add_device(db: sqlite_utils.Database, school: str, name: str, *, clock: Clock = SYSTEM_CLOCK) -> tuple[str, str]:
    """A new device of a registered school: (device id, token); the token is shown once."""
    school = check_school_code(school)
    name = name.strip()
    if not name:
        raise InvalidInput("a device needs a name (e.g. 'parents terminal')", code="missing_name")
    with write_transaction(db):
        if not db.execute("SELECT 1 FROM _schools WHERE code = ?", [school]).fetchone():
            raise NotFound(
                f"unknown school {school}: add it first with `massar server add-school`", code="unknown_school"
            )
        device = _new_device_id(db)
        token = f"{device}{TOKEN_SEPARATOR}{_token_secret()}"
        _insert_device(db, device, school, name, token, iso_now(clock))
    return device, token


def revoke_school(db: sqlite_utils.Database, code: str) -> None:
    """Every device of the school stops at once."""
    code = check_school_code(code)
    with write_transaction(db):
        cur = db.conn.execute("UPDATE _devices SET revoked = 1 WHERE school = ?", [code])
        if cur.rowcount == 0:
            raise NotFound(f"unknown school {code}", code="unknown_school")


def revoke_device(db: sqlite_utils.Database, device: str) -> str:
    """One device stops at once (a stolen PC); the school's other devices go on. Returns its school."""
    device = device.strip().upper()
    with write_transaction(db):
        row = db.execute("SELECT school FROM _devices WHERE id = ?", [device]).fetchone()
        if row is None:
            raise NotFound(f"unknown device {device}", code="unknown_device")
        db.conn.execute("UPDATE _devices SET revoked = 1 WHERE id = ?", [device])
    return row[0]


def list_schools(db: sqlite_utils.Database) -> list[dict]:
    """Each school with its devices: last sync, acknowledgement, pending pull, last error."""
    heads = dict(
        db.execute(
            "SELECT s.code, (SELECT MAX(sseq) FROM _versions v WHERE v.school = s.code OR v.school IS NULL) "
            "FROM _schools s"
        ).fetchall()
    )
    devices: dict[str, list[dict]] = {}
    for r in db.execute(
        "SELECT id, school, name, revoked, last_sync, last_error, acked_seq, pull_cursor, created_at "
        "FROM _devices ORDER BY created_at, id"
    ).fetchall():
        head = heads.get(r[1])
        devices.setdefault(r[1], []).append(
            {
                "device": r[0],
                "name": r[2],
                "revoked": bool(r[3]),
                "last_sync": r[4],
                "last_error": r[5],
                "acked_seq": r[6],
                # versions the device has not pulled yet: its pending acknowledgement
                "pending_ack": bool(head and head > r[7]),
                "pull_cursor": r[7],
            }
        )
    out = []
    for code, name, conflicts in db.execute(
        "SELECT s.code, s.name, (SELECT COUNT(*) FROM _conflicts c WHERE c.school = s.code) FROM _schools s "
        "ORDER BY s.code"
    ).fetchall():
        own = devices.get(code, [])
        first = next((d for d in own if d["device"] == code), own[0] if own else None)
        synced = [d["last_sync"] for d in own if d["last_sync"]]
        errors = [d["last_error"] for d in own if d["last_error"]]
        out.append(
            {
                "school": code,
                "name": name,
                "revoked": bool(own) and all(d["revoked"] for d in own),
                "last_sync": max(synced) if synced else None,
                "last_error": errors[0] if errors else None,
                "acked_seq": first["acked_seq"] if first else 0,
                "pending_ack": any(d["pending_ack"] for d in own if not d["revoked"]),
                "pull_cursor": first["pull_cursor"] if first else 0,
                "conflicts": conflicts,
                "devices": own,
            }
        )
    return out


def record_sync(db: sqlite_utils.Database, device: str, *, at: str, pull_cursor: int | None) -> None:
    """A served sync, in the request's write transaction."""
    db.conn.execute(
        "UPDATE _devices SET last_sync = ?, last_error = NULL, pull_cursor = COALESCE(?, pull_cursor) WHERE id = ?",
        [at, pull_cursor, device],
    )


def record_refusal(db: sqlite_utils.Database, device: str, counter: int, error: str) -> None:
    """A refused request of an authenticated device: the operator sees why, and its counter is spent
    (the request's own transaction was rolled back), so a replay of it is refused as a replay."""
    with write_transaction(db):
        db.conn.execute(
            "UPDATE _devices SET last_error = ?, last_counter = max(last_counter, ?) WHERE id = ?",
            [error, counter, device],
        )
