"""A sync carried on a USB stick or a phone: export a push bundle, apply the centre's reply bundle.

The push bundle holds the requests a sync would send (the same frames, counters
and MACs; see protocol/bundle.py); the reply holds the centre's signed answers.
A reply applies page by page only from the pull cursor the node is at, and only
when it moves something, so a reply imported twice, or after the node has since
synced online, changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from domain.clock import SYSTEM_CLOCK, Clock
from domain.database import read_snapshot, write_transaction
from protocol import capabilities
from protocol.auth import macs_equal, request_mac, response_mac
from protocol.bundle import KIND_PUSH, KIND_REPLY, Bundle, BundleEntry, BundleError, decode_bundle, encode_bundle
from protocol.errors import ProtocolError
from protocol.messages import SyncRequest, SyncResponse, decode_message, encode_message

from .errors import NotConfigured
from .inbox import apply_response
from .outbox import node_hlc, pending_changes, pending_count
from .session import MAX_CHUNK_RECORDS, SYNC_PATH
from .store import NodeStore

# A request of a bundle stays well under the centre's 4 MiB frame limit.
MAX_BUNDLE_FRAME = 1024 * 1024


@dataclass
class Exported:
    device: str
    changes: int
    requests: int
    bytes: int

    def as_json(self) -> dict[str, object]:
        return {"device": self.device, "changes": self.changes, "requests": self.requests, "bytes": self.bytes}


@dataclass
class ReplyApplied:
    acknowledged: int = 0
    pulled: int = 0
    rejected: int = 0
    pages: int = 0
    skipped: int = 0
    pending: int = 0
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in ("acknowledged", "pulled", "rejected", "pages", "skipped", "pending")}


def _key(store: NodeStore) -> bytes:
    key = store.setting("node_key")
    if not key:
        raise NotConfigured(
            "this node has no key of the centre: run `massar node init --data DIR --school CODE "
            "--server URL --token TOKEN` with the token the centre printed"
        )
    return bytes.fromhex(key)


def _chunks(device: str, cursor: int, hlc_now: int, changes: list) -> list[bytes]:
    """Frames of at most MAX_CHUNK_RECORDS changes and about MAX_BUNDLE_FRAME bytes; the last asks for the pull."""
    bodies: list[bytes] = []
    start = 0
    while True:
        size = min(MAX_CHUNK_RECORDS, len(changes) - start)
        while True:
            part = changes[start : start + size]
            last = start + size >= len(changes)
            body = encode_message(SyncRequest(device, capabilities.SUPPORTED, cursor, part, hlc_now, want_pull=last))
            if len(body) <= MAX_BUNDLE_FRAME or size <= 1:
                break
            size = max(1, size // 2)
        bodies.append(body)
        start += size
        if start >= len(changes):
            return bodies


def export_bundle(store: NodeStore) -> tuple[bytes, Exported]:
    """Everything the centre has not acknowledged yet, signed as the requests of one sync."""
    key = _key(store)
    db = store.db
    with read_snapshot(db):
        cursor = int(store.setting("pull_cursor", 0))
        hlc_now = node_hlc(db)
        changes = pending_changes(db, store.device, pending_count(db))
    bodies = _chunks(store.device, cursor, hlc_now, changes)
    with write_transaction(db):  # one counter per request, spent now: a later sync numbers above them
        first = max(int(store.setting("request_counter", 0)) + 1, store.clock.now_ms())
        store.set_setting("request_counter", first + len(bodies) - 1)
    entries = tuple(
        BundleEntry(first + i, request_mac(key, "POST", SYNC_PATH, first + i, body), body)
        for i, body in enumerate(bodies)
    )
    data = encode_bundle(Bundle(KIND_PUSH, store.device, cursor, entries), key)
    return data, Exported(store.device, len(changes), len(entries), len(data))


def _responses(store: NodeStore, data: bytes) -> tuple[Bundle, list[SyncResponse]]:
    key = _key(store)
    bundle = decode_bundle(data, KIND_REPLY, key)
    if bundle.device != store.device:
        raise BundleError(f"this reply is for device {bundle.device}, not for this node ({store.device})")
    responses = []
    for entry in bundle.entries:
        if not macs_equal(response_mac(key, entry.counter, 200, entry.body), entry.mac):
            raise BundleError("an answer in the reply fails its signature check (damaged or edited)")
        try:
            response = decode_message(entry.body)
        except ProtocolError as exc:
            raise BundleError(f"an answer in the reply is not a valid frame: {exc}") from exc
        if not isinstance(response, SyncResponse):
            raise BundleError("the reply holds something other than the centre's sync answers")
        responses.append(response)
    return bundle, responses


def import_reply(store: NodeStore, data: bytes, *, clock: Clock = SYSTEM_CLOCK) -> ReplyApplied:
    """Apply the pages of a reply that move this node forward; every check passes before the first applies."""
    bundle, responses = _responses(store, data)
    result = ReplyApplied()
    start = bundle.cursor
    for response in responses:
        here = int(store.setting("pull_cursor", 0))
        acked = int(store.setting("acked_seq", 0))
        moves = response.pull_cursor != start or response.acked_seq > acked or bool(response.refused)
        if here != start or not moves:
            result.skipped += 1
        else:
            applied = apply_response(store.db, store.school, response, store.clock.now_ms())
            result.pages += 1
            result.acknowledged += applied.acknowledged
            result.pulled += applied.pulled
            result.rejected += applied.rejected
        start = response.pull_cursor
    result.pending = pending_count(store.db)
    return result


def export_to(folder: Path, out: Path) -> Exported:
    store = NodeStore.open(folder)
    try:
        data, info = export_bundle(store)
    finally:
        store.close()
    write_bundle_file(out, data)
    return info


def import_reply_from(folder: Path, path: Path) -> ReplyApplied:
    data = read_bundle_file(path)
    store = NodeStore.open(folder)
    try:
        return import_reply(store, data)
    finally:
        store.close()


def read_bundle_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read {path}: {exc.strerror or exc}") from exc


def write_bundle_file(path: Path, data: bytes) -> None:
    # Written beside, then renamed: a stick pulled out mid-write never leaves half a bundle under the name.
    part = path.with_name(path.name + ".part")
    try:
        part.write_bytes(data)
        part.replace(path)
    except OSError as exc:
        raise BundleError(f"cannot write {path}: {exc.strerror or exc}") from exc
