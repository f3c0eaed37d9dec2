from __future__ import annotations

import contextlib
import tracemalloc
import zlib

import msgpack
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import DEFAULT_LIMITS, Limits
from protocol.dictionary import DEFAULT_DICTIONARY_ID
from protocol.errors import (
    ChecksumError,
    FrameError,
    FrameTooLarge,
    MessageError,
    PayloadTooLarge,
    ProtocolError,
    StringTooLong,
    TooManyRecords,
    TruncatedFrame,
    UnknownDictionary,
    VersionError,
)
from protocol.framing import decode_frame, encode_frame
from tests.support.protocol_kit import raw_frame

OBJ = [1, "04512K", ["columnar1"], 5, 6, True, [[], None]]
msgpack_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(1 << 63), (1 << 64) - 1) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=20,
)


@settings(deadline=None)
@given(msgpack_values, st.sampled_from([0, DEFAULT_DICTIONARY_ID]), st.sampled_from([1, 19]))
def test_frames_round_trip(obj: object, dict_id: int, level: int) -> None:
    assert decode_frame(encode_frame(obj, dictionary_id=dict_id, level=level), DEFAULT_LIMITS) == obj


def test_layout() -> None:
    frame = encode_frame(OBJ, dictionary_id=0)
    body = msgpack.packb(OBJ)
    assert frame[:2] == b"MZ" and frame[2] == 1 and frame[3] == 0
    assert frame[4] == len(body)  # one-byte ULEB128
    assert zlib.crc32(frame[:-4]).to_bytes(4, "big") == frame[-4:]
    assert zstandard.ZstdDecompressor().decompress(frame[5:-4], max_output_size=1000) == body


def test_dictionary_id_in_header() -> None:
    frame = encode_frame(OBJ)
    assert frame[3] == DEFAULT_DICTIONARY_ID
    assert encode_frame(OBJ, dictionary_id=None)[3] == 0


def make_bomb(size: int) -> bytes:
    """A small zstd frame of ``size`` zero bytes, made without holding them."""
    cobj = zstandard.ZstdCompressor(level=1, write_content_size=False).compressobj()
    chunk = bytes(1 << 20)
    parts = [cobj.compress(chunk) for _ in range(size >> 20)]
    return b"".join(parts) + cobj.flush()


BOMB = make_bomb(256 << 20)


def flip(data: bytes, index: int, bit: int = 0) -> bytes:
    out = bytearray(data)
    out[index] ^= 1 << bit
    return bytes(out)


GOOD = encode_frame(OBJ)
# Long enough for zstd to use the dictionary rather than store it raw.
DICT_OBJ = [OBJ, ["columnar1", "hlc-clamp", "tombstones", "zstd-dict1"] * 3, "surveillant1", "2025/2026"]
DICT_FRAME = encode_frame(DICT_OBJ)
DICT_BODY_LEN = len(msgpack.packb(DICT_OBJ))
PLAIN = encode_frame(OBJ, dictionary_id=0)


def framed(obj: object) -> bytes:
    return encode_frame(obj, dictionary_id=0, limits=Limits(max_payload_bytes=1 << 30, max_frame_bytes=1 << 30))


@pytest.mark.parametrize(
    ("data", "exc"),
    [
        pytest.param(raw_frame(BOMB, 256 << 20), PayloadTooLarge, id="zstd-bomb-declared"),
        pytest.param(raw_frame(BOMB, 100), PayloadTooLarge, id="zstd-bomb"),
        pytest.param(raw_frame(BOMB, 0), PayloadTooLarge, id="zstd-bomb-zero-declared"),
        pytest.param(b"", TruncatedFrame, id="empty"),
        pytest.param(b"M", TruncatedFrame, id="half-magic"),
        pytest.param(b"MZ", TruncatedFrame, id="magic-only"),
        pytest.param(b"MZ\x01\x00", TruncatedFrame, id="header-only"),
        pytest.param(b"PK\x03\x04" + GOOD[4:], FrameError, id="wrong-magic"),
        pytest.param(b"GET / HTTP/1.1\r\n\r\n", FrameError, id="http-request"),
        pytest.param(flip(GOOD, 7), ChecksumError, id="flipped-bit-body"),
        pytest.param(flip(GOOD, len(GOOD) - 1, 7), ChecksumError, id="flipped-bit-crc"),
        pytest.param(flip(GOOD, 3), ChecksumError, id="flipped-bit-dictionary-id"),
        pytest.param(GOOD[:-1], ChecksumError, id="truncated"),
        pytest.param(GOOD[:9], ChecksumError, id="truncated-short"),
        pytest.param(GOOD + b"\x00", ChecksumError, id="trailing-byte"),
        pytest.param(
            raw_frame(GOOD[5:-4], len(msgpack.packb(OBJ)), dict_id=99), UnknownDictionary, id="unknown-dictionary"
        ),
        pytest.param(raw_frame(PLAIN[5:-4], len(msgpack.packb(OBJ)), version=2), VersionError, id="version-2"),
        pytest.param(b"MZ\x02", VersionError, id="version-2-before-anything"),
        pytest.param(raw_frame(PLAIN[5:-4], len(msgpack.packb(OBJ)), version=0), VersionError, id="version-0"),
        pytest.param(
            raw_frame(DICT_FRAME[5:-4], DICT_BODY_LEN, dict_id=0), FrameError, id="dictionary-frame-read-without-it"
        ),
        pytest.param(raw_frame(PLAIN[5:-4], len(msgpack.packb(OBJ)) + 1), TruncatedFrame, id="declared-too-long"),
        pytest.param(raw_frame(PLAIN[5:-4], len(msgpack.packb(OBJ)) - 1), PayloadTooLarge, id="declared-too-short"),
        pytest.param(raw_frame(b"\x00" * 20, 5), FrameError, id="not-zstd"),
        pytest.param(PLAIN[:4] + b"\x80\x00" + PLAIN[5:-4], FrameError, id="overlong-varint"),
        pytest.param(raw_frame(PLAIN[5:-4], 1 << 40), FrameError, id="varint-over-32-bits"),
        pytest.param(b"MZ\x01\x00" + b"\xff" * 12, ChecksumError, id="garbage"),
        pytest.param(
            raw_frame(zstandard.ZstdCompressor().compress(b"\xc1"), 1), MessageError, id="msgpack-reserved-byte"
        ),
        pytest.param(
            raw_frame(zstandard.ZstdCompressor().compress(b"\x92\x01"), 2), MessageError, id="msgpack-truncated"
        ),
        pytest.param(
            raw_frame(zstandard.ZstdCompressor().compress(b"\x01\x02"), 2), MessageError, id="msgpack-extra-data"
        ),
        pytest.param(
            raw_frame(zstandard.ZstdCompressor().compress(b"\x91" * 3000), 3000),
            MessageError,
            id="msgpack-deep-nesting",
        ),
        pytest.param(
            raw_frame(zstandard.ZstdCompressor().compress(b"\xd6\xff\x00\x00\x00\x01"), 6),
            MessageError,
            id="msgpack-timestamp-ext",
        ),
        pytest.param(
            raw_frame(zstandard.ZstdCompressor().compress(b"\x81\x01\x02"), 3), MessageError, id="msgpack-int-map-key"
        ),
        pytest.param(
            raw_frame(zstandard.ZstdCompressor().compress(b"\xa2\xff\xfe"), 3), MessageError, id="invalid-utf8"
        ),
        pytest.param(framed("x" * 8001), StringTooLong, id="too-long-string"),
        pytest.param(framed([0] * 100_001), TooManyRecords, id="huge-array"),
        pytest.param(
            raw_frame(zstandard.ZstdCompressor().compress(b"\xdd\xff\xff\xff\xff"), 5),
            TooManyRecords,
            id="huge-array-header",
        ),
        pytest.param(framed({str(i): i for i in range(300)}), TooManyRecords, id="huge-map"),
        pytest.param(b"MZ\x01\x00" + bytes(5 << 20), FrameTooLarge, id="frame-too-large"),
    ],
)
def test_hostile_frames(data: bytes, exc: type[ProtocolError]) -> None:
    with pytest.raises(exc):
        decode_frame(data, DEFAULT_LIMITS)


def test_bomb_is_refused_without_inflating() -> None:
    tracemalloc.start()
    try:
        with pytest.raises(PayloadTooLarge):
            decode_frame(raw_frame(BOMB, DEFAULT_LIMITS.max_payload_bytes), DEFAULT_LIMITS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * DEFAULT_LIMITS.max_payload_bytes + (1 << 20)


def test_version_errors_name_the_side_to_upgrade() -> None:
    with pytest.raises(VersionError, match="this side must upgrade") as info:
        decode_frame(b"MZ\x02\x00rest", DEFAULT_LIMITS)
    assert (info.value.ours, info.value.theirs) == (1, 2)
    with pytest.raises(VersionError, match="the peer must upgrade"):
        decode_frame(b"MZ\x00\x00rest", DEFAULT_LIMITS)


def test_every_truncation_is_a_frame_error() -> None:
    for cut in range(len(GOOD)):
        with pytest.raises(FrameError):
            decode_frame(GOOD[:cut], DEFAULT_LIMITS)


def test_every_single_bit_flip_is_caught() -> None:
    for i in range(len(GOOD)):
        for bit in range(8):
            with pytest.raises(ProtocolError):
                decode_frame(flip(GOOD, i, bit), DEFAULT_LIMITS)


def test_encoder_refuses_oversized_and_unpackable() -> None:
    with pytest.raises(PayloadTooLarge):
        encode_frame("x" * 100, limits=Limits(max_payload_bytes=50))
    with pytest.raises(FrameTooLarge):
        encode_frame(list(range(1000)), limits=Limits(max_frame_bytes=50))
    with pytest.raises(MessageError):
        encode_frame({1.5j})
    with pytest.raises(MessageError):
        encode_frame("\ud800")
    with pytest.raises(ValueError):
        encode_frame(OBJ, level=22)


@settings(deadline=None, max_examples=300)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_give_a_protocol_error(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode_frame(data, DEFAULT_LIMITS)


@settings(deadline=None, max_examples=300)
@given(st.binary(max_size=200), st.sampled_from([0, 1]))
def test_arbitrary_bodies_in_valid_frames(body: bytes, dict_id: int) -> None:
    """Past the CRC: any zstd content still gives an object or a ProtocolError."""
    frame = (
        raw_frame(zstandard.ZstdCompressor().compress(body), len(body), dict_id=0)
        if dict_id == 0
        else raw_frame(body, len(body), dict_id=1)
    )
    with contextlib.suppress(ProtocolError):
        decode_frame(frame, DEFAULT_LIMITS)
