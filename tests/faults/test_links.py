"""Cut and bad links: a sync through tests.support.netproxy.NetProxy that throttles, delays, cuts, truncates
and flips bits. Slow links finish; cut links finish without re-sending what the server acknowledged;
a corrupted request is refused by the server, a corrupted or cut answer is refused by the node, and
nothing of either is applied until a clean retry."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import sample
from domain.grades import GradeEntry, record_grades
from domain.pupils import Term
from protocol.messages import SyncRequest, decode_message
from syncclient import session as session_module
from syncclient.errors import ServerRefused, ServerUnreachable
from syncclient.session import SyncSession
from syncclient.store import NodeStore
from tests.support.digests import central_digest, node_digest
from tests.support.netproxy import NetProxy

from .faultkit import (
    REPORT,
    YEAR,
    CentralThread,
    central_thread,
    node_key,
    query,
    table_hashes,
)

pytestmark = pytest.mark.faults

SCHOOL = "SL01"


class WatchedSession(SyncSession):
    """The real session, recording each request: body size, whether it came back, and the seqs it pushed."""

    def __init__(self, store: NodeStore, proxy: NetProxy | None = None, **kw) -> None:
        super().__init__(store, **kw)
        self.proxy = proxy
        self.lost_link_bytes = 0  # bytes of lost exchanges that crossed the link (both ways, headers included)
        self.lost_bytes = 0
        self.ok_bytes = 0
        self.lost_requests = 0
        self.acked = int(store.setting("acked_seq", 0) or 0)
        self.resent_acknowledged: list[int] = []

    def _exchange(self, body, result):
        request = decode_message(body)
        assert isinstance(request, SyncRequest)
        # Never re-send what the server acknowledged in an answer the node received.
        self.resent_acknowledged += [c.seq for c in request.push if c.seq <= self.acked]
        before = self.proxy.stats() if self.proxy else None
        try:
            response = super()._exchange(body, result)
        except ServerUnreachable:
            if self.proxy:
                self.proxy.wait_idle()
                self.lost_link_bytes += (self.proxy.stats() - before).total_bytes
            self.lost_bytes += len(body)
            self.lost_requests += 1
            raise
        self.ok_bytes += len(body)
        self.acked = max(self.acked, response.acked_seq)
        return response


@contextmanager
def linked_node(tmp_path: Path, pupils: int, **proxy_settings) -> Iterator[tuple[CentralThread, NetProxy, NodeStore]]:
    with central_thread(tmp_path / "central") as central:
        token = central.add_school(SCHOOL)
        with NetProxy(central.port, **proxy_settings) as proxy:
            store = NodeStore.init(
                tmp_path / "node", SCHOOL, year=YEAR, server=proxy.url, node_key=node_key(SCHOOL, token)
            )
            try:
                sch = sample.make_school(store.db, store.term, seed=5, pupils=pupils, classes=max(3, pupils // 34))
                sample.semester_grades(store.db, store.term, sch, 1, seed=5)
                sample.absences(store.db, store.term, sch, days=20, seed=5)
                yield central, proxy, store
            finally:
                store.close()


def run(store: NodeStore, proxy: NetProxy | None = None, **kw) -> tuple[WatchedSession, object]:
    s = WatchedSession(store, proxy, **kw)
    try:
        return s, s.run()
    finally:
        s.close()


def assert_converged(central: CentralThread, store: NodeStore) -> None:
    mine, theirs = table_hashes(store.path, SCHOOL), table_hashes(central.path, SCHOOL)
    assert mine == theirs
    assert store.db.execute("SELECT COUNT(*) FROM _outbox").fetchone()[0] == 0
    node_seq = store.db.execute("SELECT seq FROM _clock").fetchone()[0]
    assert query(central.path, "SELECT acked_seq FROM _schools WHERE code = ?", [SCHOOL])[0][0] == node_seq


def correct_centrally(central: CentralThread, n: int = 8) -> None:
    """Directorate corrections the node will pull (so answers carry rows)."""
    with central.db() as db:
        targets = db.execute(
            "SELECT pupil, subject, score FROM grades WHERE school = ? AND assessment = 5 AND score IS NOT NULL "
            "ORDER BY pupil, subject LIMIT ?",
            [SCHOOL, n],
        ).fetchall()
        from decimal import Decimal

        record_grades(
            db, Term(SCHOOL, YEAR), [GradeEntry(p, s, 1, 5, Decimal((sc + 25) % 2000) / 100) for p, s, sc in targets]
        )


def test_a_throttled_slow_link_completes(tmp_path: Path) -> None:
    # 2G: 32 kbit/s each way, 300 ms round trips.
    with linked_node(tmp_path, 40, rate_bps=32_000, latency_s=0.15) as (central, proxy, store):
        session, result = run(store)
        assert_converged(central, store)
        assert result.failures == 0
        stats = proxy.stats()
        assert stats.requests == result.requests
        REPORT.add("links")
        print(
            f"2G link: {result.pushed} changes in {result.requests} request(s), {stats.total_bytes} bytes on the link"
        )


@pytest.mark.parametrize("mode", ["close", "reset"])
def test_a_link_cut_every_20_kb_completes_a_large_sync_and_resends_little(tmp_path: Path, mode: str) -> None:
    pupils = 600 if mode == "close" else 300
    cut = 20_000
    # A clean run of the same data on its own: how many bytes the sync needs without cuts.
    with linked_node(tmp_path / "clean", pupils) as (_, proxy, store):
        _, clean = run(store)
        clean_link = proxy.stats()
    with linked_node(tmp_path / "cut", pupils, cut_after=cut, cut_mode=mode) as (central, proxy, store):
        pending = store.db.execute("SELECT COUNT(*) FROM _outbox").fetchone()[0]
        session, result = run(store, proxy)
        stats = proxy.stats()
        assert_converged(central, store)
        # Every change reached the central server exactly once.
        assert query(central.path, "SELECT sseq FROM _clock")[0][0] == pending
        assert stats.cuts >= 1 and result.failures >= 1, "the link was never cut: the test proves nothing"
        assert session.resent_acknowledged == [], "acknowledged changes were pushed again after a cut"
        # What a cut costs is the exchange in flight, never more than the bytes one connection may carry.
        assert session.lost_link_bytes <= session.lost_requests * cut
        assert result.bytes_sent == session.ok_bytes + session.lost_bytes
    REPORT.add("links")
    REPORT.add("cuts", stats.cuts)
    what = f"{pupils} pupils, cut every {cut // 1000} KB ({mode}), {stats.cuts} cuts"
    REPORT.resent.append((what, session.lost_link_bytes, clean_link.total_bytes))
    print(
        f"{what}: {pending} changes; request bodies {result.bytes_sent} B (clean {clean.bytes_sent} B), "
        f"lost exchanges carried {session.lost_link_bytes} B over the link ({session.lost_requests} lost); link total "
        f"{stats.total_bytes} B (clean {clean_link.total_bytes} B)"
    )


def test_a_flipped_bit_in_a_request_body_is_refused_and_nothing_applied(tmp_path: Path) -> None:
    with linked_node(tmp_path, 30, flip_body_at=40, flip_direction="up", fault_connections=1) as (
        central,
        proxy,
        store,
    ):
        central_before, node_before = central_digest(central.path), node_digest(store.path)
        with pytest.raises(ServerRefused) as refused:
            run(store)
        assert refused.value.server_status in (400, 401) and refused.value.code in ("unauthorized", "checksum_mismatch")
        assert proxy.stats().flips == 1
        assert central_digest(central.path) == central_before, "the server applied a corrupted request"
        assert node_digest(store.path) == node_before
        assert "unauthorized" in (store.setting("last_error") or "") or "checksum" in (
            store.setting("last_error") or ""
        )
        # A clean retry goes through.
        proxy.configure(flip_body_at=None)
        run(store)
        assert_converged(central, store)
    REPORT.add("links")


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"flip_body_at": 20, "flip_direction": "down"}, id="flipped-bit"),
        pytest.param({"flip_body_at": 3, "flip_direction": "down", "flip_mask": 0x80}, id="flipped-header-bit"),
        pytest.param({"cut_down_after": 160}, id="truncated"),
    ],
)
def test_a_corrupted_or_truncated_answer_is_refused_by_the_node(tmp_path: Path, monkeypatch, fault: dict) -> None:
    monkeypatch.setattr(session_module, "MAX_ATTEMPTS", 3)
    with linked_node(tmp_path, 30) as (central, proxy, store):
        run(store)  # first push, so that the centre has rows to correct
        correct_centrally(central)
        store.db.execute("SELECT 1")
        store_edit(store)
        node_before = node_digest(store.path)
        proxy.configure(**fault)
        with pytest.raises(ServerUnreachable):
            run(store)
        stats = proxy.stats()
        assert stats.flips + stats.cuts >= 3, stats
        # Nothing of the bad answers was applied: no pulled correction, no acknowledgement, same cursor.
        assert node_digest(store.path) == node_before
        # The server did apply the push (its answer was lost): the clean retry must not double it.
        sseq = query(central.path, "SELECT sseq FROM _clock")[0][0]
        proxy.configure(flip_body_at=None, cut_down_after=None, flip_mask=0x01)
        _, result = run(store)
        assert result.pulled >= 8
        assert_converged(central, store)
        assert query(central.path, "SELECT sseq FROM _clock")[0][0] == sseq
    REPORT.add("links")


def store_edit(store: NodeStore) -> None:
    """A local change to push (a different record than the centre's corrections)."""
    pupil = store.db.execute("SELECT pupil FROM enrolments ORDER BY pupil DESC LIMIT 1").fetchone()[0]
    with store.db.conn:
        store.db.conn.execute("BEGIN IMMEDIATE")
        store.db.conn.execute(
            "UPDATE grades SET score = (score + 25) % 2001 WHERE pupil = ? AND assessment = 1 AND score IS NOT NULL",
            [pupil],
        )


def test_a_request_cut_inside_its_body_is_dropped_quietly(tmp_path: Path, monkeypatch, caplog) -> None:
    """2G links cut requests all the time: the server drops them without an unhandled-exception traceback."""
    import logging

    monkeypatch.setattr(session_module, "MAX_ATTEMPTS", 2)
    with linked_node(tmp_path, 30, cut_up_after=600) as (central, proxy, store):
        before = central_digest(central.path)
        uvicorn_log = logging.getLogger("uvicorn.error")  # does not propagate to the root logger
        uvicorn_log.addHandler(caplog.handler)
        try:
            with pytest.raises(ServerUnreachable):
                run(store)
        finally:
            uvicorn_log.removeHandler(caplog.handler)
        proxy.configure(cut_up_after=None)
        assert central_digest(central.path) == before
        assert proxy.stats().cuts == 2
        run(store)
        assert_converged(central, store)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
    REPORT.add("links")
