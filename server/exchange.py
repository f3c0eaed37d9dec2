"""One sync exchange: authenticate, apply the pushed chunk, answer with a pulled page."""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from domain.database import read_snapshot
from protocol import capabilities
from protocol import hlc as hlc_clock
from protocol.auth import Credentials, macs_equal, request_mac, response_mac
from protocol.errors import MessageError
from protocol.limits import DEFAULT_LIMITS, Limits
from protocol.messages import SyncRequest, SyncResponse, decode_message, encode_message

from .errors import BadSignature, ReplayedRequest, RevokedToken, ScopeViolation, StaleCounter, UnknownSchool
from .ingest import apply_push
from .pull import pull_changes
from .schools import record_sync
from .store import central_write
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
    """Check school, signature and counter; the counter is burnt before any work (replays fail)."""
    row = db.execute("SELECT node_key, revoked FROM _schools WHERE code = ?", [creds.school]).fetchone()
    if row is None:
        raise UnknownSchool(f"school {creds.school} is not registered on this server")
    if row[1]:
        raise RevokedToken(f"the token of school {creds.school} was revoked")
    key = bytes.fromhex(row[0])
    if not macs_equal(request_mac(key, method, path, creds.counter, body), creds.mac):
        raise BadSignature("the request signature does not match its body")
    with central_write(db):
        burnt = db.conn.execute(
            "UPDATE _schools SET last_counter = ? WHERE code = ? AND last_counter < ?",
            [creds.counter, creds.school, creds.counter],
        ).rowcount
    if not burnt:
        raise ReplayedRequest(f"request counter {creds.counter} was already used (replayed request)")
    return key


def handle_sync(
    db: sqlite_utils.Database, creds: Credentials, key: bytes, body: bytes, limits: Limits = DEFAULT_LIMITS
) -> SignedReply:
    request = decode_message(body, limits)
    if not isinstance(request, SyncRequest):
        raise MessageError("the sync endpoint takes a SyncRequest")
    if request.node != creds.school:
        raise ScopeViolation(f"request signed by {creds.school} speaks for {request.node}")
    common = capabilities.negotiate(capabilities.SUPPORTED, request.capabilities)
    with central_write(db):
        server_hlc = next_server_hlc(db)
        pushed = apply_push(db, creds.school, request.push, server_hlc)
    # One read snapshot for the page and the cursor it reports.
    with read_snapshot(db):
        page = pull_changes(db, creds.school, request.pull_cursor, PULL_PAGE) if request.want_pull else None
        conflicts = db.execute("SELECT COUNT(*) FROM _conflicts WHERE school = ?", [creds.school]).fetchone()[0]
    record_sync(db, creds.school, error=None, pull_cursor=page.cursor if page else None)
    response = SyncResponse(
        capabilities=common,
        acked_seq=pushed.acked_seq,
        server_hlc=server_hlc,
        pull=page.changes if page else [],
        pull_cursor=page.cursor if page else request.pull_cursor,
        more_pull=page.more if page else False,
        clamp_hlc=server_hlc + hlc_clock.MAX_SKEW,
        conflicts=conflicts,
    )
    encoded = encode_message(response, dictionary_id=capabilities.best_dictionary(common) or None)
    return SignedReply(encoded, response_mac(key, creds.counter, 200, encoded))
