"""A big sync over a link that cuts every ~8 KB, then over one that loses the server's answers:
it completes in byte-sized chunks, the central applies every change exactly once, and what
the server acknowledged (as far as the node heard) is never sent again."""

from __future__ import annotations

import httpx

import sample
from protocol import capabilities
from protocol.messages import SyncRequest, SyncResponse, encode_message
from protocol.tables import BY_NAME
from syncclient.errors import ServerUnreachable
from syncclient.outbox import pending_changes
from syncclient.session import MIN_BUDGET, SyncSession
from tests.support.netproxy import NetProxy

from .helpers import SCHOOL_TABLES, RecordingTransport, rows

CUT_AFTER = 8 * 1024


def _sync_through(node, url: str) -> tuple[object, RecordingTransport, int]:
    """Sync until done; a sync that gives up is simply started again, as the agent would."""
    transport = RecordingTransport(httpx.HTTPTransport())
    rounds = 0
    with httpx.Client(base_url=url, transport=transport, timeout=30) as client:
        while True:
            rounds += 1
            session = SyncSession(node, client=client)
            try:
                return session.run(), transport, rounds
            except ServerUnreachable:
                assert rounds < 10, "the sync never got through"
            finally:
                session.close()


def _check_exactly_once(central, node, total_records: int) -> None:
    max_seq = node.db.execute("SELECT seq FROM _clock").fetchone()[0]
    with central.db() as db:
        for table in SCHOOL_TABLES:
            assert rows(db, table, "SA01") == rows(node.db, table), table
            n = db.execute(
                "SELECT COUNT(*) FROM _versions WHERE tbl = ? AND school = 'SA01'", [BY_NAME[table].wire_id]
            ).fetchone()[0]
            assert n == len(rows(db, table, "SA01")), table
        # One version number issued per applied change: a change applied twice would take two.
        issued = db.execute("SELECT sseq FROM _clock").fetchone()[0]
        assert issued == total_records, f"{issued - total_records} change(s) were applied more than once"
        assert db.execute("SELECT acked_seq FROM _devices WHERE id = 'SA01'").fetchone()[0] == max_seq


def _check_no_resend(transport: RecordingTransport, expected_seqs: set[int], label: str) -> dict[str, int]:
    """Every request pushes only changes above the last acknowledgement the node received;
    a change travels again only if a request carrying it lost its answer."""
    known_acked = min(expected_seqs) - 1
    sent: dict[int, int] = {}
    lost = resend_allowed = 0
    for i, ex in enumerate(transport.exchanges):
        assert isinstance(ex.request, SyncRequest)
        seqs = [c.seq for c in ex.request.push]
        assert all(s > known_acked for s in seqs), f"{label}: request {i} re-sent changes acknowledged at {known_acked}"
        for s in seqs:
            sent[s] = sent.get(s, 0) + 1
        if isinstance(ex.response, SyncResponse):
            assert ex.response.acked_seq >= known_acked
            known_acked = ex.response.acked_seq
        else:
            assert ex.error, "a request without an answer must have failed"
            lost += 1
            resend_allowed += len(seqs)
    assert known_acked == max(expected_seqs)
    assert set(sent) == expected_seqs
    resent = sum(n - 1 for n in sent.values())
    assert resent <= resend_allowed
    sizes = [len(encode_message(ex.request)) for ex in transport.exchanges]
    # A cut costs the chunk in flight; the next attempt sends at most half of it (the budget
    # halves from what was actually sent), so a whole frame is not sent again and again.
    for i, ex in enumerate(transport.exchanges[:-1]):
        if ex.response is None and len(transport.exchanges[i + 1].request.push) > 1:
            assert sizes[i + 1] <= max(sizes[i] // 2, MIN_BUDGET), f"{label}: request {i + 1} after a cut: {sizes}"
    return {"requests": len(sizes), "lost": lost, "resent": resent, "bytes": sum(sizes),
            "wasted": sum(n for n, ex in zip(sizes, transport.exchanges, strict=True) if ex.response is None)}  # fmt: skip


def test_a_big_sync_through_a_cutting_link_resumes_without_resending_acknowledged_changes(central, make_node) -> None:
    with NetProxy(central.port, cut_after=CUT_AFTER) as proxy:
        node = make_node("SA01", server=proxy.url)
        school = sample.make_school(node.db, node.term, seed=21, pupils=125, classes=4)
        grades = sample.semester_grades(node.db, node.term, school, 1, seed=21)
        assert 4_500 <= grades <= 6_000
        first = pending_changes(node.db, node.school, 100_000)
        one_frame = len(encode_message(SyncRequest("SA01", capabilities.SUPPORTED, 0, first, 0)))
        assert one_frame > CUT_AFTER  # it cannot go through in one piece

        # 1. Every connection is cut after 8 KB (requests and answers alike).
        result, transport, rounds = _sync_through(node, proxy.url)
        cut_stats = proxy.stats()
        assert result.pending == 0 and cut_stats.cuts > 0
        _check_exactly_once(central, node, len(first))
        report = _check_no_resend(transport, {c.seq for c in first}, "cut link")
        assert report["lost"] > 0
        assert report["bytes"] <= 3 * one_frame, report
        print(f"\nresume/cut link: {len(first)} changes, one frame {one_frame} B, {rounds} round(s): {report}; "
              f"proxy up {cut_stats.bytes_up} B down {cut_stats.bytes_down} B, {cut_stats.cuts} cuts")  # fmt: skip

        # 2. The server's answers are lost on the next two connections: it applied the chunk,
        #    the node never heard. The retry must not apply anything twice.
        second = sample.semester_grades(node.db, node.term, school, 2, seed=21)
        pending = pending_changes(node.db, node.school, 100_000)
        assert len(pending) == second
        proxy.reset()
        proxy.configure(cut_after=None, cut_down_after=40, fault_connections=2)
        result, transport, rounds = _sync_through(node, proxy.url)
        lost_stats = proxy.stats()
        assert result.pending == 0 and lost_stats.cuts == 2
        _check_exactly_once(central, node, len(first) + len(pending))
        report = _check_no_resend(transport, {c.seq for c in pending}, "lost answers")
        assert report["lost"] == 2
        # The chunks whose answers were lost had been applied: the acknowledgement that finally
        # arrived covers them, and the server skipped them the second time.
        first_ok = next(ex for ex in transport.exchanges if ex.response is not None)
        assert first_ok.response.acked_seq >= max(c.seq for c in transport.exchanges[0].request.push)
        print(f"resume/lost answers: {len(pending)} changes, {rounds} round(s): {report}; "
              f"proxy up {lost_stats.bytes_up} B down {lost_stats.bytes_down} B")  # fmt: skip


def test_a_lost_answer_to_a_pull_only_request_leaves_the_chunk_budget_at_its_floor(central, make_node) -> None:
    """A no-op sync's request is a few dozen bytes: losing its answer must not teach the node that the link
    cuts at that size, or every later sync would push one change per request."""
    with NetProxy(central.port) as proxy:
        node = make_node("SA01", server=proxy.url)
        proxy.configure(cut_after=None, cut_down_after=10, fault_connections=1)
        result, transport, _ = _sync_through(node, proxy.url)
        assert result.failures == 1 and result.pending == 0
        assert len(encode_message(transport.exchanges[0].request)) < MIN_BUDGET  # the frame that lost its answer
        assert int(node.setting("chunk_budget", 0)) >= MIN_BUDGET

        school = sample.make_school(node.db, node.term, seed=22, pupils=60, classes=3)
        assert school
        changes = len(pending_changes(node.db, node.school, 100_000))
        proxy.reset()
        result, transport, _ = _sync_through(node, proxy.url)
        assert result.pending == 0 and result.pushed == changes
        # At the floor's 1 KB a chunk carries dozens of roster rows; one change per request would take `changes`.
        assert len(transport.exchanges) < changes // 10, (len(transport.exchanges), changes)
