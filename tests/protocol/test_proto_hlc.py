from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import hlc
from protocol.errors import ClockError, ProtocolError

NOW = 1_762_934_400_000  # 2025-11-12
walls = st.integers(0, (hlc.MAX_HLC >> 16) - 1)
clocks = st.integers(0, hlc.MAX_HLC - (1 << 40))


@given(walls, st.integers(0, 0xFFFF))
def test_pack_unpack_round_trip(wall: int, counter: int) -> None:
    assert hlc.unpack(hlc.pack(wall, counter)) == (wall, counter)


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
    assert hlc.unpack(b) == (NOW, 1)
    # A clock stepping back never makes the HLC go back.
    c = hlc.tick(b, NOW - 60_000)
    assert c == b + 1
    assert hlc.tick(c, NOW + 5) == hlc.pack(NOW + 5, 0)


def test_counter_overflow_carries_into_wall() -> None:
    full = hlc.pack(NOW, 0xFFFF)
    assert hlc.unpack(hlc.tick(full, NOW)) == (NOW + 1, 0)


@given(clocks, clocks, walls)
def test_receive_is_after_both(last: int, remote: int, now: int) -> None:
    out = hlc.receive(last, remote, now)
    assert out > last and out > remote and out >= hlc.pack(now, 0)


def test_clamp_bounds_a_clock_years_ahead() -> None:
    server = hlc.pack(NOW, 3)
    years_ahead = hlc.pack(NOW + 3 * 365 * 86_400_000, 0)
    assert hlc.clamp(years_ahead, server) == server + hlc.MAX_SKEW
    assert hlc.wall_ms(hlc.clamp(years_ahead, server)) == NOW + hlc.MAX_SKEW_MS
    # Behind or slightly ahead: untouched.
    assert hlc.clamp(server - 10, server) == server - 10
    assert hlc.clamp(server + 1000, server) == server + 1000


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
