"""The README's byte targets, asserted at a small scale through a real server and real TCP bytes.

The bench's counting proxy (tests/support/netproxy.py) sits between the node
and the central server, so the bytes are everything HTTP puts on the wire
(request line, headers, frames) and the requests are counted on the wire.
Targets (README, "Performance"): a bulk upload <= 3 B/record; a day's delta
<= 600 B per sync + 12 B/record; a sync with nothing to do one round trip of
<= 600 B. No timing is asserted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from sample import absences, day_delta, make_school, school_days, semester_grades
from tests.support.netproxy import NetProxy

from .helpers import YEAR, sync

BULK_BYTES_PER_RECORD = 3
DELTA_BYTES_PER_SYNC = 600
DELTA_BYTES_PER_RECORD = 12
NOOP_BYTES = 600


@dataclass
class Measured:
    bytes: int
    requests: int
    records: int


@pytest.fixture
def proxy(central) -> Iterator[NetProxy]:
    with NetProxy(central.port) as p:
        yield p


def measured_sync(store, proxy: NetProxy) -> Measured:
    records = store.db.execute("SELECT COUNT(*) FROM _outbox").fetchone()[0]
    proxy.reset()
    result = sync(store)
    assert result.pending == 0 and not result.errors, result
    assert proxy.wait_idle(), "the node's connection stayed open after its sync"
    stats = proxy.stats()
    assert stats.round_trips == result.requests  # the proxy saw every request the node made
    return Measured(stats.total_bytes, stats.round_trips, records)


def test_the_readme_byte_targets_hold_on_the_wire(central, make_node, proxy: NetProxy) -> None:
    """Roster, then a semester's marks and absences, then a school day, then nothing: as the bench runs them."""
    store = make_node("04512K", server=proxy.url)
    school = make_school(store.db, store.term, seed=3, pupils=120, classes=3)
    roster = measured_sync(store, proxy)
    assert roster.records > 120 and roster.bytes > 0  # the proxy saw the traffic

    bulk_records = semester_grades(store.db, store.term, school, 1, seed=3)
    bulk_records += absences(store.db, store.term, school, days=8, seed=3)
    bulk = measured_sync(store, proxy)
    assert bulk.records == bulk_records > 2000
    assert bulk.bytes <= BULK_BYTES_PER_RECORD * bulk.records, bulk

    day = school_days(YEAR, 1)[11]
    counts = day_delta(store.db, store.term, school, day, seed=3)
    delta = measured_sync(store, proxy)
    assert delta.records == sum(counts.values()) >= 8
    assert delta.requests == 1, delta
    assert delta.bytes <= DELTA_BYTES_PER_SYNC + DELTA_BYTES_PER_RECORD * delta.records, delta

    noop = measured_sync(store, proxy)
    assert noop.records == 0
    assert noop.requests == 1, noop
    assert noop.bytes <= NOOP_BYTES, noop
    print(
        f"\n[wire] bulk {bulk.bytes} B / {bulk.records} records = {bulk.bytes / bulk.records:.2f} B/record, "
        f"{bulk.requests} request(s); day delta {delta.bytes} B / {delta.records} records; no-op {noop.bytes} B"
    )
