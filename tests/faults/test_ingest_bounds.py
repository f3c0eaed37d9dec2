"""An authenticated school that pushes too much, or stamps its edits years ahead (issue 15, points 4 and 5).

Amplification: a tiny frame whose constant columns decode to 100,000 incidents of 2,000 characters is
refused before anything is written (rows and decoded bytes per request), and so is the push that goes
over the school's daily allowance; another school's sync is answered meanwhile. Clock ratchet: pushes
stamped ten years ahead, or just under the clamp each time, never move the central clock more than
MAX_SKEW ahead of the real time, and a node that syncs afterwards adopts no more than that.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

import sample
from protocol import capabilities, hlc
from protocol.auth import authorization_header
from protocol.limits import Limits
from protocol.messages import SyncRequest, SyncResponse, decode_message, encode_message
from protocol.records import Change
from server.quotas import IngestLimits
from syncclient.session import SyncSession
from syncclient.store import NodeStore
from tests.support.digests import central_digest
from tests.support.postgres import CENTRAL_BACKENDS, central_location

from .faultkit import REPORT, YEAR, CentralThread, central_thread, node_key, query

pytestmark = pytest.mark.faults

BIG, HONEST = "SB01", "SB02"
HONEST_SYNC_BOUND = 60.0  # seconds: a liveness bound, not a speed claim
PUPIL = "Z999999950"


@dataclass
class Site:
    central: CentralThread
    keys: dict[str, bytes]
    honest: NodeStore
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(int(time.time() * 1000) * 1000))

    def acked(self, school: str = BIG) -> int:
        return query(self.central.path, "SELECT acked_seq FROM _devices WHERE id = ?", [school])[0][0]

    def post(self, request: SyncRequest, school: str = BIG) -> httpx.Response:
        body = encode_message(request, limits=Limits(max_records=200_000))
        auth = authorization_header(school, next(self.counter), self.keys[school], "POST", "/s", body)
        return httpx.post(self.central.url + "/s", content=body, headers={"authorization": auth}, timeout=120)


def incidents(site: Site, n: int, text: str, *, stamp: int | None = None) -> SyncRequest:
    first = site.acked() + 1
    stamp = stamp if stamp is not None else hlc.pack(int(time.time() * 1000), 0)
    changes = [
        Change("incidents", (PUPIL, "2024-11-05", n), (BIG, PUPIL, "2024-11-05", n, text, text), BIG, n, stamp)
        for n in range(first, first + n)
    ]
    # An up-to-date node's pull cursor: 0 after pushing is how a reinstalled PC shows itself.
    head = query(site.central.path, "SELECT sseq FROM _clock WHERE id = 1")[0][0]
    return SyncRequest(BIG, capabilities.SUPPORTED, max(head, 1), changes, stamp)


def open_site(tmp_path: Path, limits: IngestLimits | None = None, store: Path | str | None = None) -> Iterator[Site]:
    kwargs = {"ingest": limits} if limits else {}
    with central_thread(store or tmp_path / "central", **kwargs) as central:
        keys = {code: bytes.fromhex(node_key(code, central.add_school(code))) for code in (BIG, HONEST)}
        honest = NodeStore.init(tmp_path / "honest", HONEST, year=YEAR, server=central.url, node_key=keys[HONEST].hex())
        try:
            sch = sample.make_school(honest.db, honest.term, seed=8, pupils=8, classes=1, level_mix={"1APIC": 1.0})
            sample.semester_grades(honest.db, honest.term, sch, 1, seed=8)
            yield Site(central, keys, honest)
        finally:
            honest.close()


@pytest.fixture(params=CENTRAL_BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    """A centre on SQLite, then on PostgreSQL."""
    yield from open_site(tmp_path, store=central_location(request, tmp_path / "central"))


def honest_sync(site: Site) -> float:
    started = time.monotonic()
    session = SyncSession(site.honest, timeout=HONEST_SYNC_BOUND)
    try:
        assert session.run().failures == 0
    finally:
        session.close()
    return time.monotonic() - started


def test_a_tiny_frame_of_a_hundred_thousand_long_rows_is_refused_before_writing(site: Site) -> None:
    request = incidents(site, 100_000, "x" * 2000)
    body = encode_message(request, limits=Limits(max_records=200_000))
    assert len(body) < 20_000, len(body)  # the amplification: a few KB announcing 400 MB of text
    before = central_digest(site.central.path)
    answer: dict[str, object] = {}

    def attack() -> None:
        answer["reply"] = site.post(request)

    attacker = threading.Thread(target=attack)
    attacker.start()
    seconds = honest_sync(site)  # answered while the attack is read and refused
    attacker.join(120)
    reply = answer["reply"]
    assert isinstance(reply, httpx.Response)
    assert reply.status_code == 413 and reply.json()["error"] == "too_much_data", reply.text
    assert seconds < HONEST_SYNC_BOUND
    assert query(site.central.path, "SELECT COUNT(*) FROM incidents WHERE school = ?", [BIG]) == [(0,)]
    # Only the honest school's own sync changed the store.
    assert central_digest(site.central.path) != before
    assert query(site.central.path, "SELECT COUNT(*) FROM grades WHERE school = ?", [HONEST])[0][0] > 0
    REPORT.notes.append(
        f"amplification: {len(body)} B frame of 100,000 x 2,000-char rows refused; honest sync {seconds:.1f} s"
    )
    REPORT.hostile("hostile_values")


def test_decoded_text_over_the_request_allowance_is_refused(site: Site) -> None:
    request = incidents(site, 10_000, "y" * 2000)  # 10,000 rows is fine; 40 MB of text is not
    before = central_digest(site.central.path)
    reply = site.post(request)
    assert reply.status_code == 413 and reply.json()["error"] == "too_much_data", reply.text
    assert central_digest(site.central.path) == before
    REPORT.hostile("hostile_values")


def test_a_school_over_its_daily_allowance_is_refused_until_the_next_day(tmp_path: Path) -> None:
    for site in open_site(tmp_path, IngestLimits(day_rows=2_500, day_bytes=10**9)):
        for _ in range(2):
            assert site.post(incidents(site, 1_000, "ok")).status_code == 200
        before = central_digest(site.central.path)
        reply = site.post(incidents(site, 1_000, "ok"))  # would make 3,000 rows today
        assert reply.status_code == 429 and reply.json()["error"] == "daily_quota", reply.text
        assert central_digest(site.central.path) == before
        assert query(site.central.path, "SELECT COUNT(*) FROM incidents WHERE school = ?", [BIG]) == [(2_000,)]
        # Another school has its own allowance (its first sync: some 500 rows).
        assert honest_sync(site) < HONEST_SYNC_BOUND
    REPORT.hostile("hostile_values")


def central_clock_ahead_ms(site: Site) -> int:
    stored = query(site.central.path, "SELECT hlc FROM _clock WHERE id = 1")[0][0]
    return hlc.wall_ms(stored) - int(time.time() * 1000)


@pytest.mark.parametrize("attack", ["ten-years-ahead", "just-under-the-clamp"])
def test_pushes_stamped_ahead_never_ratchet_the_central_clock(site: Site, attack: str) -> None:
    ten_years = 10 * 365 * 24 * 3600 * 1000
    server_hlc = hlc.pack(int(time.time() * 1000), 0)
    for i in range(30):
        if attack == "ten-years-ahead":
            stamp = hlc.pack(int(time.time() * 1000) + ten_years, 0)
        else:
            stamp = server_hlc + hlc.MAX_SKEW - 1  # the most the server let through last time, again
        reply = site.post(incidents(site, 1, f"horloge {i}", stamp=stamp))
        assert reply.status_code == 200, reply.text
        answer = decode_message(reply.content)
        assert isinstance(answer, SyncResponse)
        server_hlc = answer.server_hlc
    slack_ms = 60_000  # the test's own running time
    ahead = central_clock_ahead_ms(site)
    assert ahead <= hlc.MAX_SKEW_MS + slack_ms, f"the central clock is {ahead / 60000:.1f} min ahead after 30 pushes"
    # A node that syncs now adopts at most that.
    honest_sync(site)
    offset = int(site.honest.db.execute("SELECT offset_ms FROM _clock").fetchone()[0])
    assert offset <= hlc.MAX_SKEW_MS + slack_ms, offset
    REPORT.notes.append(
        f"clock after 30 pushes {attack}: central {ahead / 1000:.0f} s ahead (bound {hlc.MAX_SKEW_MS // 1000} s)"
    )
    REPORT.hostile("hostile_clock")
