from __future__ import annotations

import contextlib

import msgpack
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import (
    DEFAULT_LIMITS,
    Change,
    ErrorResponse,
    Limits,
    SyncRequest,
    SyncResponse,
    capabilities,
    decode_message,
    encode_message,
    hlc,
)
from protocol.errors import MessageError, ProtocolError, StringTooLong, TooManyRecords
from protocol.framing import encode_frame
from protocol.messages import PullTiers, Refusal, Satellite
from tests.support.protocol_kit import any_change, raw_frame

NODE = "04512K"
CAPS = capabilities.SUPPORTED
cap_sets = st.frozensets(st.sampled_from(sorted(capabilities.BITS)))
counters = st.integers(0, (1 << 63) - 1)
clocks = st.integers(0, hlc.MAX_HLC)


@settings(deadline=None, max_examples=60)
@given(cap_sets, counters, st.lists(any_change(st.just(NODE)), max_size=12), clocks, st.booleans())
def test_sync_request_round_trip(
    caps: frozenset[str], cursor: int, push: list[Change], node_hlc: int, want: bool
) -> None:
    msg = SyncRequest(NODE, caps, cursor, push, node_hlc, want)
    assert decode_message(encode_message(msg)) == msg


@settings(deadline=None, max_examples=60)
@given(cap_sets, counters, clocks, st.lists(any_change(), max_size=12), counters, st.booleans(), clocks, counters)
def test_sync_response_round_trip(
    caps: frozenset[str],
    acked: int,
    server: int,
    pull: list[Change],
    cursor: int,
    more: bool,
    clamp: int,
    conflicts: int,
) -> None:
    msg = SyncResponse(caps, acked, server, pull, cursor, more, clamp, conflicts)
    assert decode_message(encode_message(msg, dictionary_id=0)) == msg


def test_pull_tiers_travel_after_the_push() -> None:
    msg = SyncRequest(NODE, CAPS, 7, [], 9, True, PullTiers((120, 0), 1, 500))
    wire = msg.to_wire()
    assert len(wire) == 8 and wire[7] == [[120, 0], 1, 500]
    assert decode_message(encode_message(msg)) == msg
    assert len(SyncRequest(NODE, CAPS, 7, [], 9).to_wire()) == 7  # without them, byte for byte as before


@pytest.mark.parametrize(
    "refused",
    [(), (Refusal(3, "satellite_read_only", "grades [...] is satellite school SAT01's"),)],
    ids=["none", "one"],
)
def test_satellites_travel_after_the_refusals(refused: tuple[Refusal, ...]) -> None:
    sats = (Satellite("SAT01", "Satellite Aït Ali", "فرعية آيت علي", "2026-12-01T08:00:00+00:00"),)
    msg = SyncResponse(CAPS, 1, 2, [], 3, False, 4, 0, refused=refused, satellites=sats)
    wire = msg.to_wire()
    assert len(wire) == 11 and wire[9] == [r.to_wire() for r in refused]
    assert decode_message(encode_message(msg)) == msg
    # No satellites: the answer is byte for byte what it was before the field existed.
    assert len(SyncResponse(CAPS, 1, 2, [], 3, False, 4, 0, refused=refused).to_wire()) == 9 + len(refused)


@given(
    st.text(max_size=30),
    st.text(max_size=200),
    st.none()
    | st.dictionaries(st.text(max_size=8), st.integers(-(1 << 63), (1 << 63) - 1) | st.text(max_size=8), max_size=4),
)
def test_error_response_round_trip(code: str, message: str, detail: dict[str, object] | None) -> None:
    msg = ErrorResponse(code, message, detail)
    assert decode_message(encode_message(msg)) == msg


def test_unknown_capability_bits_are_ignored() -> None:
    data = frame(with_field(REQ, 2, capabilities.to_mask(CAPS) | 1 << 40))
    assert decode_message(data).capabilities == CAPS  # type: ignore[union-attr]


def test_capabilities_without_a_bit_cannot_be_sent() -> None:
    with pytest.raises(MessageError):
        encode_message(SyncRequest(NODE, CAPS | {"telepathy"}, 0, [], 0))


def test_error_response_from_exception() -> None:
    err = ErrorResponse.from_error(TooManyRecords("100001 > 100000"), {"max_records": 100_000})
    assert (err.code, err.detail) == ("too_many_records", {"max_records": 100_000})


def test_push_must_come_from_the_node() -> None:
    stranger = Change("subjects", ("A",), None, "central", 1, 1)
    with pytest.raises(MessageError):
        encode_message(SyncRequest(NODE, CAPS, 0, [stranger], 0))


@pytest.mark.parametrize(
    "msg",
    [
        pytest.param(SyncRequest("", CAPS, 0, [], 0), id="empty-node"),
        pytest.param(SyncRequest(NODE, CAPS, -1, [], 0), id="negative-cursor"),
        pytest.param(SyncRequest(NODE, CAPS, 0, [], -5), id="negative-hlc"),
        pytest.param(SyncRequest(NODE, CAPS, 0, [], 0, 1), id="int-want-pull"),  # type: ignore[arg-type]
        pytest.param(SyncResponse(CAPS, 0, 0, [], 0, False, 0, -1), id="negative-conflicts"),
        pytest.param(SyncResponse(CAPS, True, 0, [], 0, False, 0, 0), id="bool-acked-seq"),
        pytest.param(ErrorResponse("x", "y", {1: 2}), id="int-detail-key"),  # type: ignore[dict-item]
    ],
)
def test_senders_check_fields_too(msg: SyncRequest | SyncResponse | ErrorResponse) -> None:
    with pytest.raises(MessageError):
        encode_message(msg)


def test_pushed_changes_get_the_node_as_origin() -> None:
    mine = Change("subjects", ("A",), None, NODE, 1, 1)
    out = decode_message(encode_message(SyncRequest(NODE, CAPS, 0, [mine], 5)))
    assert isinstance(out, SyncRequest) and out.push[0].origin == NODE


def frame(obj: object) -> bytes:
    return encode_frame(obj, dictionary_id=0)


REQ = SyncRequest(NODE, CAPS, 7, [], 9).to_wire()
RESP = SyncResponse(CAPS, 1, 2, [], 3, False, 4, 0).to_wire()


def with_field(wire: list[object], index: int, value: object) -> list[object]:
    out = list(wire)
    out[index] = value
    return out


@pytest.mark.parametrize(
    ("data", "exc"),
    [
        pytest.param(frame(b"\xc1"), MessageError, id="bin-not-message"),
        pytest.param(frame({"type": 1}), MessageError, id="map-not-array"),
        pytest.param(frame([]), MessageError, id="empty-array"),
        pytest.param(frame([9, 1, 2]), MessageError, id="unknown-message-type"),
        pytest.param(frame([True, *REQ[1:]]), MessageError, id="bool-message-type"),
        pytest.param(frame(REQ[:6]), MessageError, id="request-arity"),
        pytest.param(frame([*REQ, None]), MessageError, id="request-extra-field"),
        pytest.param(frame(with_field(REQ, 1, 12)), MessageError, id="node-not-str"),
        pytest.param(frame(with_field(REQ, 1, "")), MessageError, id="node-empty"),
        pytest.param(frame(with_field(REQ, 2, "columnar1")), MessageError, id="caps-as-string"),
        pytest.param(frame(with_field(REQ, 2, [1])), MessageError, id="caps-as-list"),
        pytest.param(frame(with_field(REQ, 2, -1)), MessageError, id="negative-caps"),
        pytest.param(frame(with_field(REQ, 3, -1)), MessageError, id="negative-cursor"),
        pytest.param(frame(with_field(REQ, 3, 1.0)), MessageError, id="float-cursor"),
        pytest.param(frame(with_field(REQ, 4, 1 << 63)), MessageError, id="hlc-too-big"),
        pytest.param(frame(with_field(REQ, 5, 1)), MessageError, id="want-pull-int"),
        pytest.param(frame(with_field(REQ, 6, None)), MessageError, id="push-nil"),
        pytest.param(frame(with_field(RESP, 5, None)), MessageError, id="more-pull-nil"),
        pytest.param(frame(with_field(RESP, 7, -2)), MessageError, id="negative-conflicts"),
        pytest.param(frame([*REQ, [[1, 2], 0]]), MessageError, id="tiers-arity"),
        pytest.param(frame([*REQ, [[1], 0, 10]]), MessageError, id="tiers-cursor-count"),
        pytest.param(frame([*REQ, [[1, 2], 3, 10]]), MessageError, id="tier-unknown"),
        pytest.param(frame([*REQ, [[1, 2], 1, 0]]), MessageError, id="tier-limit-zero"),
        pytest.param(frame([*REQ, [[-1, 2], 1, 5]]), MessageError, id="tier-cursor-negative"),
        pytest.param(frame([*REQ, [[1, 2], 1, 5], None]), MessageError, id="request-arity-9"),
        pytest.param(frame([*RESP, []]), MessageError, id="empty-refused-without-satellites"),
        pytest.param(frame([*RESP, [], []]), MessageError, id="empty-satellites"),
        pytest.param(frame([*RESP, [], [["SAT01", "x", None]]]), MessageError, id="satellite-arity"),
        pytest.param(frame([*RESP, [], [["", "x", None, None]]]), MessageError, id="satellite-empty-code"),
        pytest.param(frame([*RESP, [], [["S" * 65, "x", None, None]]]), StringTooLong, id="satellite-code-long"),
        pytest.param(frame([*RESP, [], [["SAT01", 3, None, None]]]), MessageError, id="satellite-name-not-str"),
        pytest.param(frame([*RESP, [], [["SAT01", "x", None, None]], None]), MessageError, id="response-arity-12"),
        pytest.param(frame([3, "x", "y", {"k": 1}, None]), MessageError, id="error-arity"),
        pytest.param(frame([3, "x", "y", [1]]), MessageError, id="error-detail-list"),
        pytest.param(frame([3, "x", "y", {b"k": 1}]), MessageError, id="error-detail-bytes-key"),
        pytest.param(frame([3, "x", "y" * 2001, None]), StringTooLong, id="error-message-too-long"),
    ],
)
def test_hostile_messages(data: bytes, exc: type[ProtocolError]) -> None:
    with pytest.raises(exc):
        decode_message(data)


def test_limits_are_the_receivers() -> None:
    push = [Change("subjects", (f"S{i}",), None, NODE, i, i) for i in range(1, 11)]
    data = encode_message(SyncRequest(NODE, CAPS, 0, push, 0))
    assert len(decode_message(data).push) == 10  # type: ignore[union-attr]
    with pytest.raises(TooManyRecords):
        decode_message(data, Limits(max_records=9))
    assert DEFAULT_LIMITS.max_records == 100_000


@settings(deadline=None, max_examples=200)
@given(st.data())
def test_mutated_bodies_give_a_result_or_a_protocol_error(data: st.DataObject) -> None:
    """Corrupt a valid message body (CRC recomputed): never a foreign exception."""
    push = [Change("absences", ("R1", "2025-11-12"), ("S", "R1", "2025-11-12", 3, 0, None, None, "x"), NODE, 1, 5)]
    body = bytearray(msgpack.packb(SyncRequest(NODE, CAPS, 0, push, 5).to_wire()))
    for _ in range(data.draw(st.integers(1, 4))):
        body[data.draw(st.integers(0, len(body) - 1))] = data.draw(st.integers(0, 255))
    frame_bytes = raw_frame(zstandard.ZstdCompressor().compress(bytes(body)), len(body))
    with contextlib.suppress(ProtocolError):
        decode_message(frame_bytes)
