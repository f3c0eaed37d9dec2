"""The README's byte targets, asserted at a small scale through a real server and real TCP bytes.

A counting TCP relay sits between the node and the central server, so the
bytes are everything HTTP puts on the wire (request line, headers, frames),
as the bench counts them. Targets (README, "Performance"): a bulk upload
<= 3 B/record; a day's delta <= 600 B per sync + 12 B/record; a sync with
nothing to do one round trip of <= 600 B. No timing is asserted.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from sample import absences, day_delta, make_school, school_days, semester_grades

from .helpers import YEAR, sync

BULK_BYTES_PER_RECORD = 3
DELTA_BYTES_PER_SYNC = 600
DELTA_BYTES_PER_RECORD = 12
NOOP_BYTES = 600


class CountingRelay:
    """A TCP relay on 127.0.0.1 that counts the bytes going each way."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sent = 0  # node -> server
        self.received = 0  # server -> node
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, name="relay-accept", daemon=True)
        self._accepting.start()

    @property
    def total(self) -> int:
        with self._lock:
            return self.sent + self.received

    def reset(self) -> None:
        with self._lock:
            self.sent = self.received = 0

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self._lock:
                self._sockets += [client, upstream]
            for src, dst, way in ((client, upstream, "sent"), (upstream, client, "received")):
                t = threading.Thread(target=self._pump, args=(src, dst, way), name=f"relay-{way}", daemon=True)
                self._threads.append(t)
                t.start()

    def _pump(self, src: socket.socket, dst: socket.socket, way: str) -> None:
        try:
            while data := src.recv(65536):
                with self._lock:
                    setattr(self, way, getattr(self, way) + len(data))
                dst.sendall(data)
        except OSError:
            pass
        finally:
            # Pass the end of the stream on; the other pump ends with it.
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        # close() alone does not wake a thread blocked in accept(); shutdown() does.
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self._accepting.join(timeout=10)
        if self._accepting.is_alive():
            raise RuntimeError("the relay did not stop")
        with self._lock:
            sockets = list(self._sockets)
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
        for t in self._threads:
            t.join(timeout=10)
        for s in sockets:
            s.close()


@dataclass
class Measured:
    bytes: int
    requests: int
    records: int


@pytest.fixture
def relay(central) -> Iterator[CountingRelay]:
    r = CountingRelay(central.port)
    try:
        yield r
    finally:
        r.close()


def measured_sync(store, relay: CountingRelay) -> Measured:
    records = store.db.execute("SELECT COUNT(*) FROM _outbox").fetchone()[0]
    relay.reset()
    result = sync(store)
    assert result.pending == 0 and not result.errors, result
    return Measured(relay.total, result.requests, records)


def test_the_readme_byte_targets_hold_on_the_wire(central, make_node, relay: CountingRelay) -> None:
    """Roster, then a semester's marks and absences, then a school day, then nothing: as the bench runs them."""
    store = make_node("04512K", server=f"http://127.0.0.1:{relay.port}")
    school = make_school(store.db, store.term, seed=3, pupils=120, classes=3)
    roster = measured_sync(store, relay)
    assert roster.records > 120 and roster.bytes > 0  # the relay saw the traffic

    bulk_records = semester_grades(store.db, store.term, school, 1, seed=3)
    bulk_records += absences(store.db, store.term, school, days=8, seed=3)
    bulk = measured_sync(store, relay)
    assert bulk.records == bulk_records > 2000
    assert bulk.bytes <= BULK_BYTES_PER_RECORD * bulk.records, bulk

    day = school_days(YEAR, 1)[11]
    counts = day_delta(store.db, store.term, school, day, seed=3)
    delta = measured_sync(store, relay)
    assert delta.records == sum(counts.values()) >= 8
    assert delta.requests == 1, delta
    assert delta.bytes <= DELTA_BYTES_PER_SYNC + DELTA_BYTES_PER_RECORD * delta.records, delta

    noop = measured_sync(store, relay)
    assert noop.records == 0
    assert noop.requests == 1, noop
    assert noop.bytes <= NOOP_BYTES, noop
    print(
        f"\n[wire] bulk {bulk.bytes} B / {bulk.records} records = {bulk.bytes / bulk.records:.2f} B/record, "
        f"{bulk.requests} request(s); day delta {delta.bytes} B / {delta.records} records; no-op {noop.bytes} B"
    )
