from __future__ import annotations

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import DEFAULT_LIMITS, Change, Limits, key_of
from protocol.batch import decode_batch, encode_batch
from protocol.errors import MessageError, ProtocolError, StringTooLong, TooManyRecords
from tests.support.protocol_kit import any_change

GRADE = ("04512K", "2025/2026", "R130245678", "MATH", 1, 2, 1225, 0, 0, None)


def grade(seq: int, score: int | None = 1225, origin: str = "04512K") -> Change:
    row = GRADE[:6] + (score, int(score is None), 0, None)
    row = row[:5] + (seq % 5 + 1,) + row[6:]
    return Change("grades", key_of("grades", row), row, origin, seq, 1000 + seq)


def absence(seq: int, day: str = "2025-11-12") -> Change:
    row = ("04512K", "R130245678", day, 3, 0, None, None, "surveillant1")
    return Change("absences", key_of("absences", row), row, "04512K", seq, 1000 + seq)


def round_trip(changes: list[Change], with_origin: bool = True, limits: Limits = DEFAULT_LIMITS) -> list[Change]:
    obj = msgpack.unpackb(msgpack.packb(encode_batch(changes, with_origin=with_origin)), raw=False)
    origin = None if with_origin else (changes[0].origin if changes else "04512K")
    return decode_batch(obj, limits, origin=origin)


@settings(deadline=None, max_examples=200)
@given(st.lists(any_change(), max_size=30))
def test_batches_round_trip_in_order(changes: list[Change]) -> None:
    assert round_trip(changes) == changes


@settings(deadline=None)
@given(st.lists(any_change(st.just("04512K")), max_size=30))
def test_batches_without_origin(changes: list[Change]) -> None:
    assert round_trip(changes, with_origin=False) == changes


def test_interleaved_tables_keep_global_order() -> None:
    changes = [grade(1), absence(2), grade(3), absence(4, "2025-11-13"), grade(5)]
    wire = encode_batch(changes, with_origin=False)
    assert wire[1] is not None, "an order column is needed"
    assert round_trip(changes, with_origin=False) == changes


def test_grouped_input_needs_no_order_column() -> None:
    changes = [grade(1), grade(2), absence(3)]
    assert encode_batch(changes, with_origin=False)[1] is None


def test_tombstones_keep_their_key() -> None:
    gone = Change("absences", ("R130245678", "2025-11-12"), None, "04512K", 9, 77, base=41)
    assert round_trip([gone, absence(10)]) == [gone, absence(10)]


def test_empty_batch() -> None:
    assert encode_batch([], with_origin=True) == [[], None]
    assert round_trip([]) == []


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(Change("nope", ("x",), ("x",), "o", 1, 1), id="unknown-table"),
        pytest.param(Change("subjects", ("A",), ("B", "x", "y", None), "o", 1, 1), id="key-mismatch"),
        pytest.param(Change("subjects", (None,), (None, "x", "y", None), "o", 1, 1), id="null-key"),
        pytest.param(Change("subjects", ("A",), ("A", "x"), "o", 1, 1), id="short-row"),
        pytest.param(Change("subjects", ("A",), ["A", "x", "y", None], "o", 1, 1), id="row-list"),  # type: ignore[arg-type]
        pytest.param(Change("subjects", ("A",), ("A", 1, "y", None), "o", 1, 1), id="int-in-str"),
        pytest.param(Change("levels", ("L",), ("L", "college", True, 20, 7, "a", "f"), "o", 1, 1), id="bool-in-int"),
        pytest.param(Change("levels", ("L",), ("L", "college", 2.0, 20, 7, "a", "f"), "o", 1, 1), id="float-in-int"),
        pytest.param(Change("absences", ("P", "2025-02-30"), None, "o", 1, 1), id="impossible-date"),
        pytest.param(Change("subjects", ("A",), None, "o", 0, 1), id="seq-0"),
        pytest.param(Change("subjects", ("A",), None, "o", 1, -1), id="negative-hlc"),
        pytest.param(Change("subjects", ("A",), None, "o", 1, 1, base=-1), id="negative-base"),
        pytest.param(Change("subjects", ("A",), None, "", 1, 1), id="empty-origin"),
    ],
)
def test_encoder_refuses_invalid_changes(change: Change) -> None:
    with pytest.raises(MessageError):
        encode_batch([change], with_origin=True)


def test_encoder_refuses_mixed_origins_without_origin_column() -> None:
    with pytest.raises(MessageError):
        encode_batch([grade(1), grade(2, origin="central")], with_origin=False)


def test_encoder_refuses_long_strings() -> None:
    row = ("A", "x" * 2001, "y", None)
    with pytest.raises(StringTooLong):
        encode_batch([Change("subjects", ("A",), row, "o", 1, 1)], with_origin=True)


def block(**override: object) -> list[object]:
    wire = encode_batch([grade(1), grade(2)], with_origin=True)[0][0]
    fields = ["tid", "n", "seq", "hlc", "base", "sseq", "tomb", "origin", "cols"]
    for name, v in override.items():
        wire[fields.index(name)] = v
    return wire


@pytest.mark.parametrize(
    ("obj", "exc"),
    [
        pytest.param({"blocks": []}, MessageError, id="map"),
        pytest.param([[]], MessageError, id="arity-1"),
        pytest.param([[block()[:8]], None], MessageError, id="block-arity"),
        pytest.param([[block(tid=99)], None], MessageError, id="unknown-table-id"),
        pytest.param([[block(tid="grades")], None], MessageError, id="table-name-not-id"),
        pytest.param([[block(), block()], None], MessageError, id="table-twice"),
        pytest.param([[block(n=0)], None], MessageError, id="empty-block"),
        pytest.param([[block(n=3)], None], MessageError, id="n-mismatch"),
        pytest.param([[block(n=10**9)], None], TooManyRecords, id="huge-n"),
        pytest.param([[block(seq=0)], None], MessageError, id="seq-0"),
        pytest.param([[block(hlc=-5)], None], MessageError, id="negative-hlc"),
        pytest.param([[block(tomb=2)], None], MessageError, id="tombstone-2"),
        pytest.param([[block(origin=None)], None], MessageError, id="missing-origin"),
        pytest.param([[block(origin="")], None], MessageError, id="empty-origin"),
        pytest.param([[block(cols=[])], None], MessageError, id="no-columns"),
        pytest.param([[block(cols=[None] * 10)], None], MessageError, id="null-keys"),
        pytest.param([[block()], [0, [0, 1]]], MessageError, id="order-too-short"),
        pytest.param([[block()], [0, [0, 0, 7]]], MessageError, id="order-bad-block"),
    ],
)
def test_decoder_refuses_bad_batches(obj: object, exc: type[ProtocolError]) -> None:
    with pytest.raises(exc):
        decode_batch(obj, DEFAULT_LIMITS, origin=None)


def test_decoder_refuses_origin_column_when_origin_is_implied() -> None:
    with pytest.raises(MessageError):
        decode_batch([[block()], None], DEFAULT_LIMITS, origin="04512K")


def test_record_limit_counts_all_blocks() -> None:
    changes = [grade(i) for i in range(1, 6)] + [absence(i) for i in range(6, 8)]
    wire = encode_batch(changes, with_origin=True)
    with pytest.raises(TooManyRecords):
        decode_batch(wire, Limits(max_records=6), origin=None)
    with pytest.raises(TooManyRecords):
        encode_batch(changes, with_origin=True, limits=Limits(max_records=6))
