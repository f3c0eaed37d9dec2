from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import hlc
from protocol.errors import ClockError, ProtocolError

NOW = 1_762_934_400_000  # 2025-11-12
walls = st.integers(0, (hlc.MAX_HLC >> 16) - 1)


def _pair(value: int) -> tuple[int, int]:
    return hlc.wall_ms(value), value & ((1 << hlc.COUNTER_BITS) - 1)


@given(walls, st.integers(0, 0xFFFF))
def test_pack_round_trip(wall: int, counter: int) -> None:
    assert _pair(hlc.pack(wall, counter)) == (wall, counter)


@given(walls, st.integers(0, 0xFFFF), walls, st.integers(0, 0xFFFF))
def test_integers_order_like_pairs(w1: int, c1: int, w2: int, c2: int) -> None:
    assert (hlc.pack(w1, c1) < hlc.pack(w2, c2)) == ((w1, c1) < (w2, c2))


@pytest.mark.parametrize(("wall", "counter"), [(-1, 0), (0, -1), (0, 0x10000), (1 << 47, 0)])
def test_pack_refuses_out_of_range(wall: int, counter: int) -> None:
    with pytest.raises(ClockError):
        hlc.pack(wall, counter)


def test_tick_follows_wall_clock_then_counter() -> None:
    a = hlc.tick(0, NOW)
    assert a == hlc.pack(NOW, 0)
    b = hlc.tick(a, NOW)
    assert _pair(b) == (NOW, 1)
    # A clock stepping back never makes the HLC go back.
    c = hlc.tick(b, NOW - 60_000)
    assert c == b + 1
    assert hlc.tick(c, NOW + 5) == hlc.pack(NOW + 5, 0)


def test_counter_overflow_carries_into_wall() -> None:
    full = hlc.pack(NOW, 0xFFFF)
    assert _pair(hlc.tick(full, NOW)) == (NOW + 1, 0)


def test_skew_bound_is_max_skew_ahead_of_the_server() -> None:
    server = hlc.pack(NOW, 3)
    assert hlc.skew_bound(server) == server + hlc.MAX_SKEW
    assert hlc.wall_ms(hlc.skew_bound(server)) == NOW + hlc.MAX_SKEW_MS


def test_offset_corrects_a_fast_node_clock() -> None:
    server = hlc.pack(NOW, 0)
    node_now = NOW + 2 * 86_400_000
    offset = hlc.offset_ms(server, node_now)
    assert offset == -2 * 86_400_000
    assert hlc.tick(0, node_now + offset) == server


@pytest.mark.parametrize("bad", [-1, 1 << 63, True, 1.5, "1"])
def test_check_refuses_non_clocks(bad: object) -> None:
    with pytest.raises(ProtocolError):
        hlc.check(bad)  # type: ignore[arg-type]
