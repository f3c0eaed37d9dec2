"""One sync exchange: authenticate, apply the pushed chunk, answer with a pulled page.

The store runs the request's writes (`CentralStore.sync`): on SQLite one write
transaction burns the counter, ticks the clock, applies the push, reads the
page and records the sync together; on PostgreSQL the push commits with its
counter and the page is read from the next snapshot (see server/pg/store.py).
Either way a failure leaves the centre as it was (the refusal is then
recorded, and the counter burnt, by `record_refusal`).
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.clock import SYSTEM_CLOCK, Clock
from protocol import capabilities, hlc
from protocol.auth import Credentials, macs_equal, request_mac, response_mac
from protocol.errors import MessageError
from protocol.limits import DEFAULT_LIMITS, Limits
from protocol.messages import SyncRequest, SyncResponse, decode_message, encode_message

from .backend import CentralStore
from .errors import BadSignature, RevokedToken, ScopeViolation, StaleCounter, UnknownSchool

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
    """Check school and signature (read only: the store spends the counter in the request's transaction)."""
    row = store.school_entry(creds.school)
    if row is None:
        raise UnknownSchool(f"school {creds.school} is not registered on this server")
    if row[1]:
        raise RevokedToken(f"the token of school {creds.school} was revoked")
    key = bytes.fromhex(row[0])
    if not macs_equal(request_mac(key, method, path, creds.counter, body), creds.mac):
        raise BadSignature("the request signature does not match its body")
    return key


def handle_sync(
    store: CentralStore,
    creds: Credentials,
    key: bytes,
    body: bytes,
    limits: Limits = DEFAULT_LIMITS,
    clock: Clock = SYSTEM_CLOCK,
) -> SignedReply:
    request = decode_message(body, limits)
    if not isinstance(request, SyncRequest):
        raise MessageError("the sync endpoint takes a SyncRequest")
    if request.node != creds.school:
        raise ScopeViolation(f"request signed by {creds.school} speaks for {request.node}")
    common = capabilities.negotiate(capabilities.SUPPORTED, request.capabilities)
    served = store.sync(
        creds.school,
        creds.counter,
        request.push,
        pull_cursor=request.pull_cursor if request.want_pull else None,
        page_size=PULL_PAGE,
        clock=clock,
    )
    page = served.page
    response = SyncResponse(
        capabilities=common,
        acked_seq=served.pushed.acked_seq,
        server_hlc=served.server_hlc,
        pull=page.changes if page else [],
        pull_cursor=page.cursor if page else request.pull_cursor,
        more_pull=page.more if page else False,
        clamp_hlc=hlc.skew_bound(served.server_hlc),
        conflicts=served.conflicts,
    )
    encoded = encode_message(response, dictionary_id=capabilities.best_dictionary(common) or None)
    return SignedReply(encoded, response_mac(key, creds.counter, 200, encoded))
