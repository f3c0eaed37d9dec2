"""Importing a school's push bundle at the centre, and writing its reply bundle (SPEC.md "Bundles").

Every request in the bundle goes through the sync endpoint's own steps
(`authenticate`, then `handle_sync` with its counter burnt in the request's
transaction), so a bundle applies exactly once: a second import, or an old
bundle after a newer online sync, finds its counters spent and changes nothing.
The whole bundle is checked (seal, every request's MAC and frame) before the
first request applies. The reply holds the signed answers, then further pages of
what the centre has for the device, signed for the last request's counter.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from domain.clock import SYSTEM_CLOCK, Clock, iso_now
from domain.database import write_transaction
from protocol import capabilities, hlc
from protocol.auth import Credentials, response_mac
from protocol.bundle import (
    KIND_PUSH,
    KIND_REPLY,
    Bundle,
    BundleEntry,
    BundleError,
    decode_bundle,
    encode_bundle,
    peek_device,
)
from protocol.errors import ProtocolError
from protocol.limits import DEFAULT_LIMITS, Limits
from protocol.messages import SyncRequest, SyncResponse, decode_message, encode_message

from .errors import AuthError, UnknownSchool
from .exchange import PULL_PAGE, SYNC_PATH, authenticate, handle_sync
from .ingest import apply_push
from .pull import pull_changes
from .schools import Device, find_device, record_sync
from .versions import next_server_hlc

MAX_REPLY_PAGES = 60_000  # a whole country's national data in 4,000-record pages, far over any school


@dataclass
class ImportResult:
    device: str
    school: str
    requests: int = 0
    already: int = 0
    acked_seq: int = 0
    pulled: int = 0
    refused: int = 0
    reply: bytes | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "device": self.device,
            "school": self.school,
            "requests": self.requests,
            "already_applied": self.already,
            "acked_seq": self.acked_seq,
            "reply_records": self.pulled,
            "refused": self.refused,
        }


def _checked(db: sqlite_utils.Database, data: bytes, limits: Limits) -> tuple[Device, Bundle]:
    device_id = peek_device(data, KIND_PUSH)
    device = find_device(db, device_id)
    # The operator at the centre is trusted with the reason (unlike an HTTP client, told only "not authorized").
    if device is None:
        raise BundleError(f"device {device_id} is not registered on this server (a bundle for another centre?)")
    if device.revoked:
        raise BundleError(f"the token of device {device_id} was revoked: its bundles are refused")
    bundle = decode_bundle(data, KIND_PUSH, device.node_key)
    if not bundle.entries:
        raise BundleError("the bundle holds no request")
    last = 0
    for entry in bundle.entries:
        if entry.counter <= last:
            raise BundleError("the bundle's requests are out of order")
        last = entry.counter
        try:
            authenticate(db, Credentials(device.id, entry.counter, entry.mac), "POST", SYNC_PATH, entry.body)
        except AuthError as exc:
            raise BundleError(f"a request in the bundle fails its signature check for device {device.id}") from exc
        try:
            request = decode_message(entry.body, limits)
        except ProtocolError as exc:
            raise BundleError(f"a request in the bundle is not a valid frame: {exc}") from exc
        if not isinstance(request, SyncRequest) or request.node != device.id:
            raise BundleError(f"a request in the bundle is not a sync request of device {device.id}")
    return device, bundle


def import_bundle(
    db: sqlite_utils.Database, data: bytes, *, clock: Clock = SYSTEM_CLOCK, limits: Limits = DEFAULT_LIMITS
) -> ImportResult:
    """Apply a push bundle once; `result.reply` is None when every request was already applied."""
    device, bundle = _checked(db, data, limits)
    result = ImportResult(device.id, device.school)
    fresh = [e for e in bundle.entries if e.counter > device.last_counter]
    result.already = len(bundle.entries) - len(fresh)
    if not fresh:
        return result
    replies: list[BundleEntry] = []
    response: SyncResponse | None = None
    for entry in fresh:
        creds = Credentials(device.id, entry.counter, entry.mac)
        signed = handle_sync(db, creds, device, entry.body, limits, clock)
        replies.append(BundleEntry(entry.counter, signed.mac, signed.body))
        decoded = decode_message(signed.body)
        if not isinstance(decoded, SyncResponse):  # pragma: no cover - handle_sync builds it
            raise BundleError("the centre built something other than a SyncResponse")
        response = decoded
        result.requests += 1
        result.pulled += len(decoded.pull)
        result.refused += len(decoded.refused)
    last = response
    if last is None:  # pragma: no cover - fresh is not empty
        raise BundleError("the bundle holds no request")
    counter = fresh[-1].counter
    while last.more_pull and len(replies) < MAX_REPLY_PAGES:
        last = _next_page(db, device.id, last, clock)
        body = encode_message(last, dictionary_id=capabilities.best_dictionary(last.capabilities) or None)
        key = device.node_key
        replies.append(BundleEntry(counter, response_mac(key, counter, 200, body), body))
        result.pulled += len(last.pull)
    result.acked_seq = last.acked_seq
    result.reply = encode_bundle(Bundle(KIND_REPLY, device.id, bundle.cursor, tuple(replies)), device.node_key)
    return result


def _next_page(db: sqlite_utils.Database, device_id: str, previous: SyncResponse, clock: Clock) -> SyncResponse:
    """The page a node would have asked for next, served as if by an empty push at the new cursor."""
    with write_transaction(db):
        device = find_device(db, device_id)
        if device is None:  # pragma: no cover - checked above, in this process
            raise UnknownSchool(f"device {device_id} is not registered on this server")
        server_hlc = next_server_hlc(db, clock)
        apply_push(db, device, [], server_hlc, pull_cursor=previous.pull_cursor)
        device = find_device(db, device_id) or device
        page = pull_changes(db, device, previous.pull_cursor, PULL_PAGE)
        conflicts = db.execute("SELECT COUNT(*) FROM _conflicts WHERE school = ?", [device.school]).fetchone()[0]
        record_sync(db, device.id, at=iso_now(clock), pull_cursor=page.cursor)
    return SyncResponse(
        capabilities=previous.capabilities,
        acked_seq=previous.acked_seq,
        server_hlc=server_hlc,
        pull=page.changes,
        pull_cursor=page.cursor,
        more_pull=page.more,
        clamp_hlc=hlc.skew_bound(server_hlc),
        conflicts=conflicts,
        refused=(),
        satellites=previous.satellites,
    )
