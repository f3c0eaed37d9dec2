"""One sync of a school node with the central server: push in byte-sized chunks, then pull pages.

Each request carries a chunk of the oldest pending changes and the pull
cursor; each response acknowledges, corrects the clock and brings a page of
the server's changes, all applied in one transaction. A cut link costs at
most the chunk in flight: the next request starts from what the server
acknowledged, and the chunk budget halves so a link that cuts every few
kilobytes still gets through.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from domain.clock import SYSTEM_CLOCK, Clock, iso_now
from domain.database import read_snapshot, write_transaction
from protocol import capabilities
from protocol.auth import authorization_header, macs_equal, response_mac
from protocol.errors import ProtocolError
from protocol.messages import PullTiers, SyncRequest, SyncResponse, decode_message, encode_message
from protocol.tables import PULL_TIERS

from . import daily_caps
from .errors import BadResponse, NotConfigured, ServerRefused, ServerUnreachable, SyncClientError, UntrustedServer
from .inbox import apply_response, pull_tier_cursors
from .outbox import node_hlc, pending_after, pending_changes, pending_count
from .priority import urgent_first
from .siblings import relay_held
from .store import NodeStore
from .transport import certificate_failure, check_server_url, tls_context

log = logging.getLogger(__name__)

SYNC_PATH = "/s"
MAX_BUDGET = 64 * 1024  # bytes of one pushed frame
# Start at the full size: a cut costs the bytes sent before it whatever the
# chunk, and a semester of marks then fits in one round trip.
START_BUDGET = MAX_BUDGET
MIN_BUDGET = 1024
MAX_CHUNK_RECORDS = 30_000
MIN_BUDGETED_REQUEST = 256  # under a byte budget, less than this left ends the sync
# Under a byte budget, kept for the answer to a push (acknowledgement, clock, refusals are rare): the
# frame is sized to what is left minus this, so the request and its answer together stay within it.
ANSWER_RESERVE = 160
# Under a byte budget the pull goes tier by tier (alerts, the exam calendar, the rest: SPEC 12.1), each
# page asking for as many records as what is left would hold at the bytes a record the last page cost
# (a pupil's identity costs more than a mark): first guess, and the least believed.
PULL_BYTES_PER_RECORD = 24.0
MIN_PULL_BYTES_PER_RECORD = 1.0
MIN_PULL_LIMIT = 16
FULL_PAGE = 4000  # the centre's page when no budget bounds it
MAX_ATTEMPTS = 12  # consecutive failed requests within one sync before giving up


@dataclass
class SyncResult:
    pushed: int = 0
    pulled: int = 0
    requests: int = 0
    failures: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    conflicts: int = 0
    rejected: int = 0
    pending: int = 0
    stopped_at_budget: bool = False
    # Stopped at the budget before the centre's changes were all received: the next sync fetches them.
    pull_pending: bool = False
    # Requests of a sibling device's bundle this node carried and the centre applied (SPEC 12.3).
    relayed: int = 0
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _http_client(server: str, timeout: float, ca_pem: str | None = None) -> httpx.Client:
    client = httpx.Client(
        base_url=server, timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)), verify=tls_context(ca_pem)
    )
    # Every header is paid for in prepaid data: send only what HTTP needs.
    for name in ("accept", "accept-encoding", "user-agent", "connection"):  # HTTP/1.1 keeps alive anyway
        client.headers.pop(name, None)
    return client


class SyncSession:
    """Drives requests until the node has pushed everything and pulled everything."""

    def __init__(
        self,
        store: NodeStore,
        *,
        timeout: float = 60.0,
        client: httpx.Client | None = None,
        byte_budget: int | None = None,
    ) -> None:
        self.store = store
        # Bytes this sync may spend both ways (a prepaid link): urgent changes go first, the rest waits.
        self.byte_budget = byte_budget
        server, key = store.setting("server"), store.setting("node_key")
        if not server or not key:
            raise NotConfigured(
                "this node has no central server: run `massar node init --data DIR --school CODE "
                "--server URL --token TOKEN`"
            )
        self.school = store.school
        # This device's origin: its own numbers under its school's scope (the school's code for its first device).
        self.device = store.device
        self.key = bytes.fromhex(key)
        server = check_server_url(server)  # a node configured before HTTPS was required is stopped here
        self.client = client or _http_client(server, timeout, store.setting("server_ca"))
        self._own_client = client is None
        self.budget = int(store.setting("chunk_budget", START_BUDGET))
        self.ceiling: int | None = None  # the size of the last frame the link cut
        # Bytes per change seen in the last frame, so a small budget reads and packs
        # only about as many changes as will fit instead of the whole outbox.
        # Start optimistic (a semester of marks packs to ~1.3 B a change): reading too few
        # would split a sync that fits in one request.
        self.bytes_per_change = 1.0
        self.pull_bytes_per_record: dict[int, float] = {}  # by tier: what its pages cost a record
        self.last_answer_bytes = 0

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def run(self) -> SyncResult:
        result = SyncResult()
        failures = 0
        asked_again = False
        follow_up: int | None = None  # the cursor of the one pull-only request that shows a restore
        db = self.store.db
        if self.byte_budget is not None:
            urgent_first(db)
        if self.byte_budget is None:
            result.relayed = self._relay_siblings(result)
        pulled_all = False
        # Under a budget: the pull tier asked next (1.. urgent tiers, 0 the rest).
        self.tier = 1 if self.byte_budget is not None else 0
        while True:
            left = None if self.byte_budget is None else self.byte_budget - result.bytes_sent - result.bytes_received
            if left is not None and left < MIN_BUDGETED_REQUEST + ANSWER_RESERVE:
                result.stopped_at_budget = True
                result.pull_pending = not pulled_all
                break
            cursor_sent = int(self.store.setting("pull_cursor", 0)) if follow_up is None else follow_up
            body, pushed_count, want_pull = self._next_request(left, cursor=follow_up)
            tier = self.tier if want_pull else 0
            try:
                response = self._exchange(body, result)
            except ServerUnreachable as exc:
                failures += 1
                result.failures += 1
                result.errors.append(str(exc))
                # Halve what was sent, not a budget the frame did not even reach, and
                # remember that size: the link is likely to cut there again.
                # A frame smaller than MIN_BUDGET (a pull-only request) says nothing of the size the link
                # cuts at: a ceiling taken from it would shrink every later chunk to one change.
                self.ceiling = max(MIN_BUDGET, min(self.ceiling or len(body), len(body)))
                self.budget = max(MIN_BUDGET, min(self.budget, len(body)) // 2)
                if failures >= MAX_ATTEMPTS:
                    self._remember(error=str(exc))
                    raise
                time.sleep(min(0.05 * failures, 0.5))
                continue
            except SyncClientError as exc:
                self._remember(error=str(exc))
                raise
            failures = 0
            follow_up = None  # (a lost follow-up is asked again as it was)
            applied = apply_response(db, self.school, response, self.store.clock.now_ms(), tier=tier)
            if len(response.pull) >= MIN_PULL_LIMIT:
                cost = self.last_answer_bytes / len(response.pull)
                self.pull_bytes_per_record[tier] = max(MIN_PULL_BYTES_PER_RECORD, cost)
            result.rejected += applied.rejected
            result.pushed += applied.acknowledged
            result.pulled += applied.pulled
            result.conflicts = response.conflicts
            pulled_all = want_pull and tier == 0 and not response.more_pull
            if want_pull and tier and not response.more_pull:
                self.tier = tier + 1 if tier < len(PULL_TIERS) else 0  # this tier is done: the next one
            # Grow gently back towards the size that last failed, and let that
            # ceiling rise slowly in case the link got better.
            if self.ceiling is not None:
                self.ceiling = int(self.ceiling * 1.1)
                if self.ceiling >= MAX_BUDGET:
                    self.ceiling = None
            self.budget = max(
                MIN_BUDGET, min(MAX_BUDGET, self.budget * 2, int(self.ceiling * 0.75) if self.ceiling else MAX_BUDGET)
            )
            if applied.resequenced and not asked_again:
                # The centre acknowledges numbers this node never issued: it lost state (a restored backup,
                # a reinstalled PC), which the centre may not have seen (a backup taken right after a sync
                # goes back on nothing, nor does one whose pending changes had all been applied). Ask once
                # more, pushing nothing, with the cursor one below the one just sent (SPEC 10.5): the centre
                # recognises the restore and the same sync gives back this device's own edits it lacks.
                asked_again = True
                follow_up = max(cursor_sent - 1, 0)
                continue
            more_push = pending_after(db, response.acked_seq)
            if not response.more_pull and not more_push and (pulled_all or not want_pull):
                break
            # A refused change is handled too (it left the outbox for the rejected list): a chunk that was
            # only refusals is progress, and the changes after it still go in this sync.
            handled = applied.acknowledged + applied.rejected
            if pushed_count and handled == 0 and not response.more_pull and not applied.resequenced:
                break  # the server acknowledged nothing new: do not loop on it
        result.pending = pending_count(db)
        self._remember(error=None)
        return result

    def _next_request(self, left: int | None = None, *, cursor: int | None = None) -> tuple[bytes, int, bool]:
        """The next request: pending changes that fit, and the pull cursor. With `cursor`, a pull-only
        request from that cursor instead (the one that shows the centre a restore)."""
        db = self.store.db
        # Under a byte budget the frame also fits what is left, and the pull waits until the push is done.
        budget = self.budget if left is None else max(MIN_BUDGETED_REQUEST, min(self.budget, left - ANSWER_RESERVE))
        with read_snapshot(db):
            tier_cursors = pull_tier_cursors(db)
            hlc = node_hlc(db)
            limit = min(MAX_CHUNK_RECORDS, max(64, int(budget / self.bytes_per_change * 1.25)))
            if cursor is None:
                cursor = int(self.store.setting("pull_cursor", 0))
                changes = pending_changes(db, self.device, limit)
                total = pending_count(db) if left is not None else 0
            else:
                changes, total = [], 0
        while True:
            want_pull = left is None or len(changes) >= total
            request = SyncRequest(self.device, capabilities.SUPPORTED, cursor, changes, hlc, want_pull=want_pull)
            body = encode_message(request)
            if want_pull and left is not None:
                # The page's size follows what the budget has left after this frame and its answer.
                room = left - len(body) - ANSWER_RESERVE
                cost = self.pull_bytes_per_record.get(self.tier, PULL_BYTES_PER_RECORD)
                limit_ = max(MIN_PULL_LIMIT, int(room / cost))
                request = dataclasses.replace(request, tiers=PullTiers(tier_cursors, self.tier, limit_))
                body = encode_message(request)
            elif want_pull and any(c > cursor for c in tier_cursors):
                # Rows a budgeted sync took tier by tier are not sent again by the rest of the pull.
                request = dataclasses.replace(request, tiers=PullTiers(tier_cursors, 0, FULL_PAGE))
                body = encode_message(request)
            if len(changes) >= 64:
                self.bytes_per_change = max(0.5, len(body) / len(changes))
            if len(body) <= budget or len(changes) <= 1:
                return body, len(changes), want_pull
            # Shrink in proportion to the overshoot; compression makes it approximate.
            changes = changes[: max(1, int(len(changes) * budget / len(body) * 0.9))]

    def _exchange(self, body: bytes, result: SyncResult) -> SyncResponse:
        counter = self._next_counter()
        headers = {"authorization": authorization_header(self.device, counter, self.key, "POST", SYNC_PATH, body)}
        result.requests += 1
        result.bytes_sent += len(body)
        try:
            reply = self.client.post(SYNC_PATH, content=body, headers=headers)
        except httpx.HTTPError as exc:
            bad_certificate = certificate_failure(exc)
            if bad_certificate is not None:
                raise UntrustedServer(
                    f"the central server's certificate is not trusted ({bad_certificate.verify_message}): "
                    "check the server URL, or give the CA with `massar node init --ca-file`"
                ) from exc
            raise ServerUnreachable(f"central server unreachable: {exc.__class__.__name__}: {exc}") from exc
        result.bytes_received += len(reply.content)
        self.last_answer_bytes = len(reply.content)
        if reply.status_code != 200:
            try:
                err = reply.json()
                code, message = str(err["error"]), str(err.get("message", ""))
            except (ValueError, KeyError, TypeError):
                code, message = "http_error", reply.text[:200]
            if reply.status_code >= 500:
                raise ServerUnreachable(f"central server error {reply.status_code}: {message}")
            raise ServerRefused(reply.status_code, code, message)
        if not macs_equal(response_mac(self.key, counter, 200, reply.content), reply.headers.get("s", "")):
            raise ServerUnreachable("the answer failed its signature check (tampered or cut): will retry")
        try:
            response = decode_message(reply.content)
        except ProtocolError as exc:
            raise BadResponse(f"the server's answer is not a valid frame: {exc}") from exc
        if not isinstance(response, SyncResponse):
            raise BadResponse("the server answered with something other than a SyncResponse")
        return response

    def _relay_siblings(self, result: SyncResult) -> int:
        """Deliver the sibling bundles this node holds before its own work (they are older)."""

        def post(device: str, counter: int, mac: str, body: bytes) -> int:
            result.bytes_sent += len(body)
            reply = self.client.post(SYNC_PATH, content=body, headers={"authorization": f"M {device}:{counter}:{mac}"})
            result.bytes_received += len(reply.content)
            return reply.status_code

        try:
            return relay_held(self.store, post)
        except httpx.HTTPError:
            return 0  # unreachable: the node's own exchange below meets the same link and says so

    def _next_counter(self) -> int:
        """Strictly increasing, and at least the wall clock in ms so a restored backup cannot replay."""
        with write_transaction(self.store.db):
            last = int(self.store.setting("request_counter", 0))
            counter = max(last + 1, self.store.clock.now_ms())
            self.store.set_setting("request_counter", counter)
        return counter

    def _remember(self, *, error: str | None) -> None:
        with write_transaction(self.store.db):
            self.store.set_setting("chunk_budget", self.budget)
            if error is None:
                self.store.set_setting("last_sync", iso_now(self.store.clock))
                self.store.set_setting("last_error", None)
            else:
                self.store.set_setting("last_error", error)
                self.store.set_setting("last_error_at", iso_now(self.store.clock))


def sync_once(
    folder: Path,
    *,
    timeout: float = 60.0,
    clock: Clock = SYSTEM_CLOCK,
    byte_budget: int | None = None,
    daily_cap: bool = False,
) -> SyncResult:
    """Open the node in `folder` and sync it fully (or up to `byte_budget` bytes, and within the node's
    daily cap when `daily_cap`); raises SyncClientError when it cannot."""
    store = NodeStore.open(folder, clock=clock)
    try:
        if daily_cap:
            byte_budget = daily_caps.budget_left(store, byte_budget)
        session = SyncSession(store, timeout=timeout, byte_budget=byte_budget)
        try:
            result = session.run()
            daily_caps.record_usage(store, result.bytes_sent + result.bytes_received)
            return result
        except SyncClientError:
            raise  # run() recorded it
        except Exception as exc:
            # A bug (in applying a pull, say) must not fail silently on every retry: record it for `node status`.
            try:
                session._remember(error=f"internal error: {type(exc).__name__}: {exc}")
            except sqlite3.Error:
                log.exception("could not record the failed sync in the node's database")
            raise
        finally:
            session.close()
    finally:
        store.close()
