"""A push bundle carried from one device of a school to another (SPEC.md 12.3): applied as the sibling's work.

The receiving device cannot check the sibling's seal: only the centre holds each
device's key. So it applies the sibling's changes *provisionally*: never in its
own outbox (the sibling, or the centre's import of the same bundle, delivers
them, under the sibling's origin and numbers, where the seal and MACs are
checked), and the centre's version of a record replaces the provisional one at
this device's next sync. What it can check, it does, before anything applies:
the file's layout and every frame's CRC-32 (damage, truncation), that the
requests are the sibling's, and that every row is of this device's school.

Conflicts follow the centre's rule (SPEC 10.4 step 6): against a local edit
still pending, the greater (hlc, origin) wins; a local edit that loses leaves
the outbox for the local conflict log, as it would lose at the centre. A change
made on an older server version than the one this device holds is left for the
centre to decide. A bundle of a device older than one already imported (or the
same) changes nothing.

The device also keeps the sibling's latest bundle and, at its next online sync,
relays its signed requests to the centre unchanged (`relay_held`): if the
sibling's PC dies before it reaches the centre, its work still arrives, as its
own. The centre checks them as any request of that device, and its counters make
them apply once whoever delivers them first (the sibling, the centre's
operator with the file, or this device).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from domain.database import write_transaction
from domain.replication import applying_remote
from domain.rows import delete_keys, upsert_rows
from protocol.bundle import KIND_PUSH, BundleError, decode_unsealed
from protocol.errors import ProtocolError
from protocol.messages import SyncRequest, decode_message
from protocol.records import Change
from protocol.tables import BY_NAME

from .store import NodeStore


@dataclass
class SiblingApplied:
    device: str
    changes: int = 0
    applied: int = 0
    kept_local: int = 0
    lost_local: int = 0
    already: bool = False

    def as_json(self) -> dict[str, object]:
        return {
            "from_device": self.device,
            "changes": self.changes,
            "applied": self.applied,
            "kept_local": self.kept_local,
            "lost_local": self.lost_local,
            "verified": False,
        }


def _setting_key(device: str) -> str:
    return f"sibling_counter:{device}"


def _checked_changes(store: NodeStore, data: bytes) -> tuple[str, int, list[Change]]:
    bundle = decode_unsealed(data, KIND_PUSH)
    if bundle.device == store.device:
        raise BundleError(f"this is this device's own bundle ({bundle.device}): it is for the centre")
    if not bundle.entries:
        raise BundleError("the bundle holds no request")
    changes: list[Change] = []
    last = 0
    for entry in bundle.entries:
        if entry.counter <= last:
            raise BundleError("the bundle's requests are out of order")
        last = entry.counter
        try:
            request = decode_message(entry.body)
        except ProtocolError as exc:
            raise BundleError(f"a request in the bundle is damaged: {exc}") from exc
        if not isinstance(request, SyncRequest) or request.node != bundle.device:
            raise BundleError(f"a request in the bundle is not a sync request of device {bundle.device}")
        changes.extend(request.push)
    school = store.school
    for c in changes:
        spec = BY_NAME[c.table]
        if spec.national:
            raise BundleError(f"the bundle of device {bundle.device} writes a national table ({c.table})")
        where = c.row[spec.column_names.index("school")] if c.row is not None else None
        if where is None and "school" in spec.key:
            where = c.key[spec.key.index("school")]
        if where is None:  # a delete by a key without the school: whose is the row it would remove here?
            match = " AND ".join(f"{k} = ?" for k in spec.key)
            held = store.db.execute(f"SELECT school FROM {spec.name} WHERE {match}", list(c.key)).fetchone()
            where = None if held is None else held[0]
        if where is not None and where != school:
            raise BundleError(f"the bundle of device {bundle.device} is of school {where}, not of {school}")
    return bundle.device, last, changes


def import_sibling(store: NodeStore, data: bytes) -> SiblingApplied:
    """Apply a sibling device's push bundle, as its work; every check passes before the first row applies."""
    device, last_counter, changes = _checked_changes(store, data)
    result = SiblingApplied(device, changes=len(changes))
    db = store.db
    if last_counter <= int(store.setting(_setting_key(device), 0) or 0):
        result.already = True
        return result
    if changes:
        _hold(store, device, data)
    now = dt.datetime.fromtimestamp(store.clock.now_ms() / 1000, dt.UTC).isoformat(timespec="seconds")
    try:
        with write_transaction(db):
            for c in changes:
                spec = BY_NAME[c.table]
                pk = json.dumps(list(c.key), ensure_ascii=False)
                pending = db.execute(
                    "SELECT hlc FROM _outbox WHERE tbl = ? AND pk = json(?)", [spec.wire_id, pk]
                ).fetchone()
                if pending is not None:
                    # The centre's rule: the greater (hlc, origin) wins, the integer first, then the id's UTF-8.
                    if (pending[0], store.device.encode()) > (c.hlc, c.origin.encode()):
                        result.kept_local += 1
                        continue
                    _log_lost(db, spec.name, c, pending[0], pk, now)
                    db.conn.execute("DELETE FROM _outbox WHERE tbl = ? AND pk = json(?)", [spec.wire_id, pk])
                    result.lost_local += 1
                else:
                    base = db.execute("SELECT sseq FROM _base WHERE tbl = ? AND pk = json(?)", [spec.wire_id, pk])
                    held = base.fetchone()
                    if held is not None and c.base < held[0]:
                        # The sibling edited an older server version than ours: the centre decides, and a
                        # winning sibling edit comes back to us in a pull.
                        result.kept_local += 1
                        continue
                with applying_remote(db):
                    if c.row is None:
                        delete_keys(db, spec.name, [c.key])
                    else:
                        upsert_rows(db, spec.name, [c.row])
                result.applied += 1
            # Our next edits come after what we have seen: HLC order follows causality.
            top = max((c.hlc for c in changes), default=0)
            db.conn.execute("UPDATE _clock SET hlc = MAX(hlc, ?) WHERE id = 1", [top])
            store.set_setting(_setting_key(device), last_counter)
    except sqlite3.IntegrityError as exc:
        raise BundleError(f"a row of device {device}'s bundle is refused by this node's database: {exc}") from exc
    return result


def _log_lost(db: sqlite_utils.Database, table: str, incoming: Change, local_hlc: int, pk: str, now: str) -> None:
    spec = BY_NAME[table]
    conn = db.conn
    names = ", ".join(spec.column_names)
    where = " AND ".join(f"{k} = ?" for k in spec.key)
    row = conn.execute(f"SELECT {names} FROM {table} WHERE {where}", list(json.loads(pk))).fetchone()
    conn.execute(
        "INSERT INTO _conflicts (tbl, pk, lost_row, lost_hlc, won_origin, won_hlc, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            table,
            pk,
            None if row is None else json.dumps(list(row), ensure_ascii=False, default=str),
            local_hlc,
            incoming.origin,
            incoming.hlc,
            now,
        ],
    )


HELD_FOLDER = "siblings"
# post(device, counter, mac, body) -> HTTP status; raises the caller's error when the link fails.
Post = Callable[[str, int, str, bytes], int]


def _hold(store: NodeStore, device: str, data: bytes) -> None:
    """Keep the sibling's bundle for relaying (a newer one replaces the older: bundles are cumulative)."""
    folder = store.path.parent / HELD_FOLDER
    try:
        folder.mkdir(exist_ok=True)
        part = folder / f"{device}.massar.part"
        part.write_bytes(data)
        part.replace(folder / f"{device}.massar")
    except OSError as exc:
        raise BundleError(f"cannot keep the bundle in {folder}: {exc.strerror or exc}") from exc


def relay_held(store: NodeStore, post: Post) -> int:
    """Send each held sibling bundle's requests to the centre as they are; returns how many it applied.

    A spent counter is refused (401) without effect: the sibling or the centre's operator was first.
    A bundle leaves the folder once every request of it was answered; a link failure keeps it for next time.
    """
    applied = 0
    for path in sorted((store.path.parent / HELD_FOLDER).glob("*.massar")):
        try:
            bundle = decode_unsealed(path.read_bytes(), KIND_PUSH)
        except (OSError, BundleError):
            continue  # checked when imported; a file damaged since is the centre's to refuse, not worth a request
        for entry in bundle.entries:
            status = post(bundle.device, entry.counter, entry.mac, entry.body)
            if status >= 500 or status == 429:  # the centre is busy or the day's quota is spent: later
                return applied
            applied += status == 200
        path.unlink(missing_ok=True)
    return applied


def import_sibling_from(folder: Path, data: bytes) -> SiblingApplied:
    store = NodeStore.open(folder)
    try:
        return import_sibling(store, data)
    finally:
        store.close()
