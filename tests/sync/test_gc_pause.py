"""The collector's pause around a sync request: off inside, back on after, whatever the nesting."""

from __future__ import annotations

import gc
import threading

import pytest

from server import gc_pause
from server.gc_pause import no_gc_passes


@pytest.fixture(autouse=True)
def _collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_collector_is_off_inside_and_back_after():
    with no_gc_passes():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_back_on_after_an_error():
    with pytest.raises(RuntimeError), no_gc_passes():
        raise RuntimeError("a refused push")
    assert gc.isenabled()


def test_overlapping_requests_keep_it_off_until_the_last_leaves():
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with no_gc_passes():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with no_gc_passes():
            second_in.set()
            first_out.wait(5)
            seen.append(gc.isenabled())  # the first has left: still off for this one

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == [False]
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_process_stays_off():
    gc.disable()
    with no_gc_passes():
        pass
    assert not gc.isenabled()


def test_pauses_overlapping_without_a_gap_still_collect(monkeypatch):
    monkeypatch.setattr(gc_pause, "_LONGEST_PAUSE_S", 0.0)
    collected: list[int] = []
    monkeypatch.setattr(gc_pause.gc, "collect", lambda *a: collected.append(1) or 0)
    with no_gc_passes():
        with no_gc_passes():
            pass
        assert collected == [1]
    assert gc.isenabled()
