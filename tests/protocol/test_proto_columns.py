from __future__ import annotations

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.columns import (
    INT_MAX,
    INT_MIN,
    decode_dates,
    decode_ints,
    decode_strs,
    encode_dates,
    encode_ints,
    encode_strs,
)
from protocol.dates import iso_to_day
from protocol.errors import MessageError, ProtocolError, StringTooLong
from tests.support.protocol_kit import ints, iso_dates, texts


def wire(obj: object) -> object:
    """What the peer sees: the column after a msgpack round trip."""
    return msgpack.unpackb(msgpack.packb(obj), raw=False)


@settings(deadline=None)
@given(st.lists(st.none() | ints, max_size=80))
def test_ints_round_trip(values: list[int | None]) -> None:
    assert decode_ints(wire(encode_ints(values)), len(values)) == values


@settings(deadline=None)
@given(
    st.lists(st.none() | st.integers(0, 2000).map(lambda v: v * 25), min_size=40, max_size=200),
    st.sampled_from([(), (65536,), None]),
)
def test_ints_round_trip_with_divisors(values: list[int | None], divisors: tuple[int, ...] | None) -> None:
    assert decode_ints(wire(encode_ints(values, divisors)), len(values)) == values


@given(st.lists(st.none() | texts, max_size=60))
def test_strs_round_trip(values: list[str | None]) -> None:
    assert decode_strs(wire(encode_strs(values, 2000)), len(values), 2000) == values


@given(st.lists(st.none() | iso_dates, max_size=60))
def test_dates_round_trip(values: list[str | None]) -> None:
    assert decode_dates(wire(encode_dates(values)), len(values)) == values


def test_extreme_ints_and_deltas() -> None:
    values = [INT_MIN, INT_MAX, INT_MIN, None, 0, INT_MAX]
    assert decode_ints(wire(encode_ints(values)), 6) == values


def test_constant_columns_are_one_value() -> None:
    assert encode_ints([7] * 100) == 7
    assert encode_strs(["MATH"] * 100, 10) == "MATH"
    assert encode_ints([None] * 3) is None
    assert decode_strs("MATH", 3, 10) == ["MATH"] * 3


def test_sequences_become_runs_of_ones() -> None:
    assert encode_ints(list(range(1000, 1100))) == [1, [1000] + [1] * 99]


@pytest.mark.parametrize("text", ["a\x00b", "\u200fمحمد\u200e", "\u202eevil\u202c", "", " "])
def test_awkward_strings_survive(text: str) -> None:
    values = [text, None, text, "x"]
    assert decode_strs(wire(encode_strs(values, 100)), 4, 100) == values


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("2025-02-30", id="impossible-day"),
        pytest.param("2025-13-01", id="month-13"),
        pytest.param("20250101", id="basic-format"),
        pytest.param("2025-W01-1", id="week-date"),
        pytest.param("٢٠٢٥-٠١-٠١", id="arabic-indic-digits"),
        pytest.param("2025-01-01T00:00", id="datetime"),
        pytest.param(20250101, id="int"),
    ],
)
def test_encoding_refuses_bad_dates(bad: object) -> None:
    with pytest.raises(MessageError):
        encode_dates([bad])  # type: ignore[list-item]
    with pytest.raises(MessageError):
        iso_to_day(bad)


@pytest.mark.parametrize(
    ("obj", "n"),
    [
        pytest.param([0, [1, 2]], 3, id="short"),
        pytest.param([0, [1, 2, 3, 4]], 3, id="long"),
        pytest.param([2, [1, 2, 3]], 3, id="unknown-mode"),
        pytest.param([0, [1, "2", 3]], 3, id="str-in-int"),
        pytest.param([0, [1, 2.5, 3]], 3, id="float-in-int"),
        pytest.param([0, [1, True, 3]], 3, id="bool-in-int"),
        pytest.param(True, 3, id="bool-constant"),
        pytest.param(1 << 63, 3, id="constant-out-of-range"),
        pytest.param([1, [1 << 63, 1 << 63, 0]], 3, id="delta-overflow"),
        pytest.param([0, [1, 2, 3], 1, 0], 3, id="divisor-1"),
        pytest.param([0, [1, 2, 3], 4, [0, [None, 0, 0]]], 3, id="null-remainder"),
        pytest.param([0, [1, 2, 3], 4, [0, [0, 0, 0], 2, 0]], 3, id="nested-divisor"),
        pytest.param([0, [1, 2, 3], 4], 3, id="arity-3"),
        pytest.param({"a": 1}, 3, id="map"),
    ],
)
def test_bad_int_columns(obj: object, n: int) -> None:
    with pytest.raises(MessageError):
        decode_ints(obj, n)


@pytest.mark.parametrize(
    ("obj", "exc"),
    [
        pytest.param([["a"], [0, [0, 1]]], MessageError, id="index-past-table"),
        pytest.param([["a", "b"], [0, [0, -1]]], MessageError, id="negative-index"),
        pytest.param([["a", 1], [0, [0, 1]]], MessageError, id="int-in-table"),
        pytest.param([["a", "b", "c"], [0, [0, 1]]], MessageError, id="table-longer-than-rows"),
        pytest.param(["x" * 11, [0, [0, 0]]], MessageError, id="table-not-list"),
        pytest.param([["x" * 11], [0, [0, 0]]], StringTooLong, id="long-string"),
        pytest.param("x" * 11, StringTooLong, id="long-constant"),
        pytest.param(7, MessageError, id="int-constant"),
    ],
)
def test_bad_str_columns(obj: object, exc: type[ProtocolError]) -> None:
    with pytest.raises(exc):
        decode_strs(obj, 2, 10)


@pytest.mark.parametrize("day", [-719163, 2932897, 1 << 40])
def test_bad_day_numbers(day: int) -> None:
    with pytest.raises(MessageError):
        decode_dates(day, 1)


codes = st.from_regex(r"[A-Z]{0,2}-?[0-9]{1,20}", fullmatch=True)


@settings(deadline=None)
@given(st.lists(st.none() | codes, min_size=4, max_size=60))
def test_code_like_strings_round_trip(values: list[str | None]) -> None:
    assert decode_strs(wire(encode_strs(values, 2000)), len(values), 2000) == values


def test_massar_codes_use_a_split_table() -> None:
    values = ["R130245678", "G000000042", "R999999999", "K1", "TMP-04512K-17"] * 2
    values += [f"{'RGJ'[i % 3]}{(i * 7919) % 10**9:09d}" for i in range(1, 30)]
    col = encode_strs(values, 100)
    assert type(col) is list and len(col) == 5 and col[0] == 34
    assert decode_strs(wire(col), len(values), 100) == values


@settings(deadline=None)
@given(st.lists(st.integers(0, (1 << 63) - 1), min_size=8, max_size=40), st.integers(1, 8))
def test_fixed_width_columns(values: list[int], width: int) -> None:
    values = [v % (1 << (8 * width)) for v in values]
    data = b"".join(v.to_bytes(width, "big") for v in values)
    assert decode_ints(wire([2, data]), len(values)) == values


def test_random_numbers_go_fixed_width() -> None:
    import random

    rng = random.Random(5)
    values = [rng.randrange(10**8, 10**9) for _ in range(200)]
    col = encode_ints(values, ())
    assert type(col) is list and col[0] == 2 and len(col[1]) == 800
    assert decode_ints(wire(col), 200) == values


@pytest.mark.parametrize(
    "obj",
    [
        pytest.param([2, b"\x00" * 7], id="fixed-not-multiple"),
        pytest.param([2, b"\x00" * 27], id="fixed-width-9"),
        pytest.param([2, [1, 2, 3]], id="fixed-not-bin"),
        pytest.param([2, "abc"], id="fixed-str"),
    ],
)
def test_bad_fixed_columns(obj: object) -> None:
    with pytest.raises(MessageError):
        decode_ints(obj, 3)


@pytest.mark.parametrize(
    ("obj", "exc"),
    [
        pytest.param([3, "R", [0, [1, 2, 3]], 9, [0, [0, 1]]], MessageError, id="split-more-than-rows"),
        pytest.param([2, "R", [0, [1, -2]], 9, [0, [0, 1]]], MessageError, id="split-negative-number"),
        pytest.param([2, "R", [0, [1, 123]], 2, [0, [0, 1]]], MessageError, id="split-number-wider-than-width"),
        pytest.param([2, "R", [0, [1, 2]], 19, [0, [0, 1]]], MessageError, id="split-width-19"),
        pytest.param([2, "R", [0, [1, 2]], 0, [0, [0, 1]]], MessageError, id="split-width-0"),
        pytest.param([2, None, [0, [1, 2]], 3, [0, [0, 1]]], MessageError, id="split-null-prefix"),
        pytest.param([2, "R", [0, [1, None]], 3, [0, [0, 1]]], MessageError, id="split-null-number"),
        pytest.param([2, [2, "R", 5, 1, 0], 5, 1, [0, [0, 1]]], MessageError, id="split-nested"),
        pytest.param([2, "R", [0, [1, 2]], 3, [0, [0, 2]]], MessageError, id="split-index-past-table"),
        pytest.param([2, "R" * 9, [0, [1, 2]], 3, [0, [0, 1]]], StringTooLong, id="split-entry-too-long"),
        pytest.param([-1, "R", [0, [1, 2]], 3, [0, [0, 1]]], MessageError, id="split-negative-size"),
    ],
)
def test_bad_split_tables(obj: object, exc: type[ProtocolError]) -> None:
    with pytest.raises(exc):
        decode_strs(obj, 2, 10)


# The encoder computes each column's bounds once and packs odd fixed widths by strides: it must
# choose, and write, exactly what the per-value encoder did (tests/support/reference_columns.py).
_columns = st.one_of(
    st.lists(st.none() | ints, max_size=60),
    st.lists(st.none() | st.integers(0, 2000).map(lambda v: v * 25), min_size=8, max_size=120),
    st.lists(st.integers(0, 1 << 56), min_size=8, max_size=60),
    # random digits times 25: the split form with fixed-width quotients wins
    st.lists(st.integers(10**6, 10**9).map(lambda v: v * 25), min_size=16, max_size=80),
    st.lists(st.integers(1 << 40, (1 << 47) - 1).map(lambda v: (v << 16) | 7), min_size=16, max_size=80),
    st.lists(st.sampled_from([INT_MIN, INT_MAX, 0, -1, 1]), min_size=2, max_size=40),
    st.integers(1, 7).flatmap(lambda w: st.lists(st.integers(0, (1 << (8 * w)) - 1), min_size=8, max_size=60)),
)


@settings(deadline=None, max_examples=300)
@given(_columns, st.sampled_from([(), (65536,), (25,), None]))
def test_int_encoder_matches_the_per_value_encoder(values: list[int | None], divisors: tuple[int, ...] | None) -> None:
    from tests.support.reference_columns import reference_encode_ints

    assert encode_ints(values, divisors) == reference_encode_ints(values, divisors)
