"""One sync exchange: authenticate, apply the pushed chunk, answer with a pulled page.

A request is one write transaction: the counter is burnt, the clock ticks, the
push applies, the page is read and the sync recorded together, so a failure
anywhere leaves the centre as it was (the refusal is then recorded, and the
counter burnt, by `record_refusal`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlite_utils

from domain.clock import SYSTEM_CLOCK, Clock, iso_now, utc_now
from domain.database import write_transaction
from protocol import capabilities, hlc
from protocol.auth import Credentials, macs_equal, request_mac, response_mac
from protocol.errors import MessageError
from protocol.limits import DEFAULT_LIMITS, Limits
from protocol.messages import SyncRequest, SyncResponse, decode_message, encode_message
from protocol.records import Change
from protocol.tables import BY_NAME, PULL_TIERS

from .errors import BadSignature, ReplayedRequest, RevokedToken, ScopeViolation, StaleCounter, UnknownSchool
from .gc_pause import no_gc_passes
from .ingest import apply_push
from .pull import NO_FILTER, TierFilter, pull_changes
from .quotas import DEFAULT_INGEST, IngestLimits, charge_day, check_request
from .satellites import satellites_of
from .schools import DEVICE_COLUMNS, Device, device_of, find_device, record_sync
from .versions import next_server_hlc

SYNC_PATH = "/s"
# Records per pulled page; a node on a cutting link asks for smaller pages.
PULL_PAGE = 4000


@dataclass(frozen=True)
class SignedReply:
    body: bytes
    mac: str


def precheck(db: sqlite_utils.Database, creds: Credentials) -> None:
    """What the headers alone can prove wrong, checked before a byte of the body is read.

    The header's first field names the device (a school's first device is named by the school's code)."""
    device = find_device(db, creds.school)
    if device is None:
        raise UnknownSchool(f"device {creds.school} is not registered on this server")
    if device.revoked:
        raise RevokedToken(f"the token of device {creds.school} was revoked")
    if creds.counter <= device.last_counter:
        raise StaleCounter(f"request counter {creds.counter} is not above the last one used ({device.last_counter})")


def authenticate(db: sqlite_utils.Database, creds: Credentials, method: str, path: str, body: bytes) -> Device:
    """Check device and signature (read only: `burn_counter` spends the counter in the request's transaction)."""
    device = find_device(db, creds.school)
    if device is None:
        raise UnknownSchool(f"device {creds.school} is not registered on this server")
    if device.revoked:
        raise RevokedToken(f"the token of device {creds.school} was revoked")
    if not macs_equal(request_mac(device.node_key, method, path, creds.counter, body), creds.mac):
        raise BadSignature("the request signature does not match its body")
    return device


def burn_counter(db: sqlite_utils.Database, creds: Credentials) -> Device:
    """Spend the request counter, first thing in the write transaction: a replay finds it spent.
    Returns the device as of this transaction (read by the same statement: one round trip less)."""
    device = device_of(
        db.conn.execute(
            f"UPDATE _devices SET last_counter = ? WHERE id = ? AND last_counter < ? RETURNING {DEVICE_COLUMNS}",
            [creds.counter, creds.school, creds.counter],
        ).fetchone()
    )
    if device is None:
        raise ReplayedRequest(f"request counter {creds.counter} was already used (replayed request)")
    return device


_TIER_IDS = tuple(frozenset(BY_NAME[name].wire_id for name in tier) for tier in PULL_TIERS)


def _page_of(request: SyncRequest) -> tuple[int, int, TierFilter]:
    """(cursor, limit, filter) of the pull page a request asks for (SPEC 12.1)."""
    tiers = request.tiers
    if tiers is None:
        return request.pull_cursor, PULL_PAGE, NO_FILTER
    limit = min(PULL_PAGE, tiers.limit)
    if tiers.tier:
        start = max(request.pull_cursor, tiers.cursors[tiers.tier - 1])
        return start, limit, TierFilter(only=_TIER_IDS[tiers.tier - 1])
    return request.pull_cursor, limit, TierFilter(skip=tuple(zip(_TIER_IDS, tiers.cursors, strict=True)))


def handle_sync(
    db: sqlite_utils.Database,
    creds: Credentials,
    device: Device,
    body: bytes,
    limits: Limits = DEFAULT_LIMITS,
    clock: Clock = SYSTEM_CLOCK,
    ingest: IngestLimits = DEFAULT_INGEST,
) -> SignedReply:
    with no_gc_passes():  # a large push or pull page is ~100,000 short-lived tuples (server/gc_pause.py)
        return _handle_sync(db, creds, device, body, limits, clock, ingest)


def _handle_sync(
    db: sqlite_utils.Database,
    creds: Credentials,
    device: Device,
    body: bytes,
    limits: Limits,
    clock: Clock,
    ingest: IngestLimits,
) -> SignedReply:
    request = decode_message(body, limits)
    if not isinstance(request, SyncRequest):
        raise MessageError("the sync endpoint takes a SyncRequest")
    if request.node != device.id:
        raise ScopeViolation(f"request signed by {device.id} speaks for {request.node}")
    common = capabilities.negotiate(capabilities.SUPPORTED, request.capabilities)
    # What the frame decodes to is bounded before the write lock is even taken.
    size = check_request(request.push, ingest)
    day = utc_now(clock).date().isoformat()
    # The clamp is measured from the wall clock, not from the server's HLC that stored stamps move.
    bound = hlc.skew_bound(hlc.pack(clock.now_ms(), 0))

    def charge(fresh: Sequence[Change]) -> None:
        share = size * len(fresh) // max(1, len(request.push))
        charge_day(db, device.school, day, len(fresh), share, ingest)

    with write_transaction(db):
        device = burn_counter(db, creds)
        server_hlc = next_server_hlc(db, clock)
        pushed = apply_push(
            db, device, request.push, server_hlc, pull_cursor=request.pull_cursor, bound=bound, charge=charge
        )
        if pushed.restored:
            device = find_device(db, device.id) or device  # a restore moves its floor
        tier = request.tiers.tier if request.tiers else 0
        page = None
        if request.want_pull:
            page = pull_changes(db, device, *_page_of(request))
        conflicts = db.execute("SELECT COUNT(*) FROM _conflicts WHERE school = ?", [device.school]).fetchone()[0]
        # A tier's page moves that tier's cursor only (the node's), not the device's pull cursor.
        record_sync(db, device.id, at=iso_now(clock), pull_cursor=page.cursor if page and not tier else None)
        satellites = satellites_of(db, device.school) if capabilities.SATELLITES in common else ()
    response = SyncResponse(
        capabilities=common,
        acked_seq=pushed.acked_seq,
        server_hlc=server_hlc,
        pull=page.changes if page else [],
        pull_cursor=page.cursor if page else request.pull_cursor,
        more_pull=page.more if page else False,
        clamp_hlc=bound,
        conflicts=conflicts,
        refused=tuple(pushed.refused),
        satellites=satellites,
    )
    encoded = encode_message(response, dictionary_id=capabilities.best_dictionary(common) or None)
    return SignedReply(encoded, response_mac(device.node_key, creds.counter, 200, encoded))
