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

from .errors import BadSignature, ReplayedRequest, RevokedToken, ScopeViolation, StaleCounter, UnknownSchool
from .ingest import apply_push
from .pull import pull_changes
from .quotas import DEFAULT_INGEST, IngestLimits, charge_day, check_request
from .schools import record_sync
from .versions import next_server_hlc

SYNC_PATH = "/s"
# Records per pulled page; a node on a cutting link asks for smaller pages.
PULL_PAGE = 4000


@dataclass(frozen=True)
class SignedReply:
    body: bytes
    mac: str


def precheck(db: sqlite_utils.Database, creds: Credentials) -> None:
    """What the headers alone can prove wrong, checked before a byte of the body is read."""
    row = db.execute("SELECT revoked, last_counter FROM _schools WHERE code = ?", [creds.school]).fetchone()
    if row is None:
        raise UnknownSchool(f"school {creds.school} is not registered on this server")
    if row[0]:
        raise RevokedToken(f"the token of school {creds.school} was revoked")
    if creds.counter <= row[1]:
        raise StaleCounter(f"request counter {creds.counter} is not above the last one used ({row[1]})")


def authenticate(db: sqlite_utils.Database, creds: Credentials, method: str, path: str, body: bytes) -> bytes:
    """Check school and signature (read only: `burn_counter` spends the counter in the request's transaction)."""
    row = db.execute("SELECT node_key, revoked FROM _schools WHERE code = ?", [creds.school]).fetchone()
    if row is None:
        raise UnknownSchool(f"school {creds.school} is not registered on this server")
    if row[1]:
        raise RevokedToken(f"the token of school {creds.school} was revoked")
    key = bytes.fromhex(row[0])
    if not macs_equal(request_mac(key, method, path, creds.counter, body), creds.mac):
        raise BadSignature("the request signature does not match its body")
    return key


def burn_counter(db: sqlite_utils.Database, creds: Credentials) -> None:
    """Spend the request counter, first thing in the write transaction: a replay finds it spent."""
    burnt = db.conn.execute(
        "UPDATE _schools SET last_counter = ? WHERE code = ? AND last_counter < ?",
        [creds.counter, creds.school, creds.counter],
    ).rowcount
    if not burnt:
        raise ReplayedRequest(f"request counter {creds.counter} was already used (replayed request)")


def handle_sync(
    db: sqlite_utils.Database,
    creds: Credentials,
    key: bytes,
    body: bytes,
    limits: Limits = DEFAULT_LIMITS,
    clock: Clock = SYSTEM_CLOCK,
    ingest: IngestLimits = DEFAULT_INGEST,
) -> SignedReply:
    request = decode_message(body, limits)
    if not isinstance(request, SyncRequest):
        raise MessageError("the sync endpoint takes a SyncRequest")
    if request.node != creds.school:
        raise ScopeViolation(f"request signed by {creds.school} speaks for {request.node}")
    common = capabilities.negotiate(capabilities.SUPPORTED, request.capabilities)
    # What the frame decodes to is bounded before the write lock is even taken.
    size = check_request(request.push, ingest)
    now_ms = clock.now_ms()
    day = utc_now(clock).date().isoformat()
    # The clamp is measured from the wall clock, not from the server's HLC that stored stamps move.
    bound = hlc.skew_bound(hlc.pack(now_ms, 0))

    def charge(fresh: Sequence[Change]) -> None:
        share = size * len(fresh) // max(1, len(request.push))
        charge_day(db, creds.school, day, len(fresh), share, ingest)

    with write_transaction(db):
        burn_counter(db, creds)
        server_hlc = next_server_hlc(db, clock)
        pushed = apply_push(db, creds.school, request.push, server_hlc, bound=bound, charge=charge)
        page = pull_changes(db, creds.school, request.pull_cursor, PULL_PAGE) if request.want_pull else None
        conflicts = db.execute("SELECT COUNT(*) FROM _conflicts WHERE school = ?", [creds.school]).fetchone()[0]
        record_sync(db, creds.school, at=iso_now(clock), pull_cursor=page.cursor if page else None)
    response = SyncResponse(
        capabilities=common,
        acked_seq=pushed.acked_seq,
        server_hlc=server_hlc,
        pull=page.changes if page else [],
        pull_cursor=page.cursor if page else request.pull_cursor,
        more_pull=page.more if page else False,
        clamp_hlc=bound,
        conflicts=conflicts,
    )
    encoded = encode_message(response, dictionary_id=capabilities.best_dictionary(common) or None)
    return SignedReply(encoded, response_mac(key, creds.counter, 200, encoded))
