"""One sync exchange: authenticate, apply the pushed chunk, answer with a pulled page."""

from __future__ import annotations

from dataclasses import dataclass

from protocol import capabilities
from protocol import hlc as hlc_clock
from protocol.auth import Credentials, macs_equal, request_mac, response_mac
from protocol.errors import MessageError
from protocol.limits import DEFAULT_LIMITS, Limits
from protocol.messages import SyncRequest, SyncResponse, decode_message, encode_message

from .backend import CentralStore
from .errors import BadSignature, ReplayedRequest, RevokedToken, ScopeViolation, StaleCounter, UnknownSchool

SYNC_PATH = "/s"
# Records per pulled page; a node on a cutting link asks for smaller pages.
PULL_PAGE = 4000


@dataclass(frozen=True)
class SignedReply:
    body: bytes
    mac: str


def precheck(store: CentralStore, creds: Credentials) -> None:
    """What the headers alone can prove wrong, checked before a byte of the body is read."""
    row = store.school_entry(creds.school)
    if row is None:
        raise UnknownSchool(f"school {creds.school} is not registered on this server")
    if row[1]:
        raise RevokedToken(f"the token of school {creds.school} was revoked")
    if creds.counter <= row[2]:
        raise StaleCounter(f"request counter {creds.counter} is not above the last one used ({row[2]})")


def authenticate(store: CentralStore, creds: Credentials, method: str, path: str, body: bytes) -> bytes:
    """Check school, signature and counter; the counter is burnt before any work (replays fail)."""
    row = store.school_entry(creds.school)
    if row is None:
        raise UnknownSchool(f"school {creds.school} is not registered on this server")
    if row[1]:
        raise RevokedToken(f"the token of school {creds.school} was revoked")
    key = bytes.fromhex(row[0])
    if not macs_equal(request_mac(key, method, path, creds.counter, body), creds.mac):
        raise BadSignature("the request signature does not match its body")
    if not store.burn_counter(creds.school, creds.counter):
        raise ReplayedRequest(f"request counter {creds.counter} was already used (replayed request)")
    return key


def handle_sync(
    store: CentralStore, creds: Credentials, key: bytes, body: bytes, limits: Limits = DEFAULT_LIMITS
) -> SignedReply:
    request = decode_message(body, limits)
    if not isinstance(request, SyncRequest):
        raise MessageError("the sync endpoint takes a SyncRequest")
    if request.node != creds.school:
        raise ScopeViolation(f"request signed by {creds.school} speaks for {request.node}")
    common = capabilities.negotiate(capabilities.SUPPORTED, request.capabilities)
    pushed, server_hlc = store.push(creds.school, request.push)
    # One read snapshot for the page, the cursor it reports and the conflict count.
    if request.want_pull:
        page, conflicts = store.pull(creds.school, request.pull_cursor, PULL_PAGE)
    else:
        page, conflicts = None, store.conflict_count(creds.school)
    store.record_sync(creds.school, error=None, pull_cursor=page.cursor if page else None)
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
