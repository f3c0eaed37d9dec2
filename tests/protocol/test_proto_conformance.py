"""SPEC.md section 11, line by line: each vector breaks the line it is filed under.

The expected code is read from the SPEC's own table, so the text and the
decoder cannot drift apart. Many vectors also break a later line, which pins
the order of the checks: the earlier line must win.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from typing import cast

import msgpack
import pytest
import zstandard

from protocol import DEFAULT_LIMITS, Change, ErrorResponse, SyncRequest, capabilities, key_of
from protocol.batch import encode_batch
from protocol.errors import ERRORS_BY_CODE, ProtocolError
from protocol.framing import unpack_body
from protocol.limits import MAX_MAP_LEN, MAX_NESTING
from protocol.messages import decode_message, encode_message
from protocol.tables import TABLES
from tests.support.protocol_kit import SPEC, raw_frame, spec_section

H = 1_762_934_400_000 << 16
INT63 = (1 << 63) - 1
MAX_CHARS = DEFAULT_LIMITS.max_string_chars
GRADE = ("04512K", "2025/2026", "R130245678", "MATH", 1, 2, 1225, 0, 0, None)
CHANGE = Change("grades", key_of("grades", GRADE), GRADE, "04512K", 41, H + 1)
BLOCK_FIELDS = ("table", "n", "seq", "hlc", "base", "sseq", "tombstone", "origin", "columns")
REQUEST_FIELDS = ("type", "node", "capabilities", "pull_cursor", "node_hlc", "want_pull", "push")
RESPONSE_FIELDS = (
    *("type", "capabilities", "acked_seq", "server_hlc", "pull_cursor"),
    *("more_pull", "clamp_hlc", "conflicts", "pull"),
)


def zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=3, write_content_size=False).compress(data)


def body(data: bytes, *, declared: int | None = None, dict_id: int = 0) -> bytes:
    """A correct frame around raw msgpack bytes (plain zstd)."""
    return raw_frame(zstd(data), len(data) if declared is None else declared, dict_id=dict_id)


def msg(obj: object) -> bytes:
    return body(msgpack.packb(obj, use_bin_type=True))


def with_crc(head: bytes) -> bytes:
    return head + zlib.crc32(head).to_bytes(4, "big")


def first_block(batch: list[object]) -> list[object]:
    return list(cast("list[list[object]]", batch[0])[0])


def block(**fields: object) -> list[object]:
    """A valid grades block of one change (the push form), with fields replaced."""
    wire = first_block(encode_batch([CHANGE], with_origin=False))
    for name, value in fields.items():
        wire[BLOCK_FIELDS.index(name)] = value
    return wire


def columns(**values: object) -> list[object]:
    """The data columns of the grades block, some replaced by name."""
    cols = list(cast("list[object]", block()[8]))
    names = ["school", "year", "pupil", "subject", "semester", "assessment", "score", "absent", "justified", "remark"]
    for name, value in values.items():
        cols[names.index(name)] = value
    return cols


def request(**fields: object) -> bytes:
    wire: list[object] = [1, "04512K", 15, 1200, H, True, [[block()], None]]
    for name, value in fields.items():
        wire[REQUEST_FIELDS.index(name)] = value
    return msg(wire)


def response(**fields: object) -> bytes:
    pull = encode_batch([CHANGE._replace(sseq=7)], with_origin=True)
    wire: list[object] = [2, 15, 43, H, 1202, False, H + 5, 0, pull]
    for name, value in fields.items():
        wire[RESPONSE_FIELDS.index(name)] = value
    return msg(wire)


def pull_block(**fields: object) -> list[object]:
    wire = first_block(encode_batch([CHANGE._replace(sseq=7)], with_origin=True))
    for name, value in fields.items():
        wire[BLOCK_FIELDS.index(name)] = value
    return wire


def error(code: object = "too_many_records", message: object = "refused", detail: object = None) -> bytes:
    return msg([3, code, message, detail])


def nested(depth: int, leaf: object) -> object:
    for _ in range(depth):
        leaf = [leaf]
    return leaf


def big_window_frame() -> bytes:
    """A zstd frame asking for a 16 MiB window (descriptor 0x70: 2^(10+14)) around one raw block."""
    data = msgpack.packb([1])
    header = bytes.fromhex("28b52ffd") + b"\x00" + b"\x70"
    raw_last_block = ((len(data) << 3) | 1).to_bytes(3, "little") + data
    return raw_frame(header + raw_last_block, len(data))


VALID = encode_message(SyncRequest("04512K", capabilities.SUPPORTED, 1200, [CHANGE], H + 1), dictionary_id=0)
TEN = msgpack.packb("abcdefghi")  # ten bytes of msgpack
STR_8001 = b"\xda" + (4 * MAX_CHARS + 1).to_bytes(2, "big")
BIN_OVER = b"\xc6" + (DEFAULT_LIMITS.max_bin_bytes + 1).to_bytes(4, "big")
ARRAY_OVER = b"\xdd" + (DEFAULT_LIMITS.max_array_len + 1).to_bytes(4, "big")

VECTORS: dict[str, dict[str, Callable[[], bytes]]] = {
    "F1": {
        "over-the-limit-and-bad-magic": lambda: b"XX" + bytes(DEFAULT_LIMITS.max_frame_bytes - 1),
    },
    "F2": {
        "bad-magic-and-version-2": lambda: b"MQ\x02" + bytes(10),
        "one-wrong-byte": lambda: b"\x00",
    },
    "F3": {"empty": lambda: b"", "M": lambda: b"M", "MZ": lambda: b"MZ"},
    "F4": {
        "version-2-and-short": lambda: b"MZ\x02",
        "version-0-bad-crc": lambda: b"MZ\x00\x00\x05" + bytes(20),
    },
    "F5": {"eight-bytes-good-crc": lambda: with_crc(b"MZ\x01\x00")},
    "F6": {
        "last-byte-flipped": lambda: VALID[:-1] + bytes([VALID[-1] ^ 1]),
        "cut-by-one-byte": lambda: VALID[:-1],
        "bad-length-and-bad-crc": lambda: b"MZ\x01\x09" + b"\xff" * 6 + bytes(4),
    },
    "F7": {
        "six-byte-length-unknown-dictionary": lambda: with_crc(b"MZ\x01\x09" + b"\x80" * 5 + b"\x01" + bytes(4)),
        "non-minimal-length": lambda: with_crc(b"MZ\x01\x00\x81\x00" + zstd(b"\x01")),
        "length-of-2-to-the-32": lambda: with_crc(b"MZ\x01\x00\x80\x80\x80\x80\x10" + zstd(b"\x01")),
        "length-never-ends": lambda: with_crc(b"MZ\x01\x00\x80"),
    },
    "F8": {
        "over-16-MiB-unknown-dictionary": lambda: raw_frame(b"junk", DEFAULT_LIMITS.max_payload_bytes + 1, dict_id=9),
    },
    "F9": {
        "dictionary-2-garbage-zstd": lambda: raw_frame(b"junk", 4, dict_id=2),
        "dictionary-255": lambda: raw_frame(zstd(TEN), len(TEN), dict_id=255),
    },
    "F10": {
        "not-zstd": lambda: raw_frame(b"not zstd at all", 5),
        "window-of-16-MiB": big_window_frame,
    },
    "F11": {"longer-than-declared": lambda: body(TEN, declared=len(TEN) - 1)},
    "F12": {"shorter-than-declared": lambda: body(TEN, declared=len(TEN) + 1)},
    "M1": {
        "1025-arrays": lambda: body(b"\x91" * MAX_NESTING + b"\x90"),
        "1025-maps": lambda: body(b"\x81\xa1k" * MAX_NESTING + b"\x80"),
        "1025th-is-also-over-its-count": lambda: body(b"\x91" * MAX_NESTING + ARRAY_OVER),
    },
    "M2": {
        "array-header-over-the-limit-no-items": lambda: body(ARRAY_OVER),
        "before-a-later-reserved-byte": lambda: body(b"\x92" + ARRAY_OVER + b"\xc1"),
    },
    "M3": {
        "map-of-257-no-entries": lambda: body(b"\xde" + (MAX_MAP_LEN + 1).to_bytes(2, "big")),
        "map-of-300": lambda: msg({str(i): i for i in range(300)}),
    },
    "M4": {
        "cut-body-announcing-a-4-GiB-string": lambda: body(b"\xdb\xff\xff\xff\xff" + b"a" * 10),
        "cut-body-announcing-8001-bytes": lambda: body(STR_8001 + b"a" * 10),
        "cut-bin": lambda: body(b"\xc6\xff\xff\xff\xff"),
    },
    "M5": {"str-of-8001-bytes-invalid-utf8": lambda: body(STR_8001 + b"\xff" * (4 * MAX_CHARS + 1))},
    "M6": {"bin-over-800000-bytes": lambda: body(BIN_OVER + bytes(DEFAULT_LIMITS.max_bin_bytes + 1))},
    "M7": {"invalid-utf8": lambda: body(b"\xa2\xff\xfe"), "lone-surrogate": lambda: body(b"\xa3\xed\xa0\x80")},
    "M8": {
        "reserved-byte": lambda: body(b"\xc1"),
        "reserved-byte-before-a-huge-array": lambda: body(b"\x92\xc1" + ARRAY_OVER),
        "ext": lambda: body(b"\xd4\x01\x01"),
        "int-map-key": lambda: body(b"\x81\x01\x01"),
        "ends-inside-an-array": lambda: body(b"\x97\x01"),
    },
    "M9": {
        "trailing-byte": lambda: body(b"\x01\x01"),
        "valid-request-then-nil": lambda: body(msgpack.packb([1, "04512K", 15, 1200, H, True, [[], None]]) + b"\xc0"),
    },
    "G1": {
        "unknown-type": lambda: msg([4]),
        "request-of-6": lambda: msg([1, "04512K", 15, 1200, H, True]),
        "map": lambda: msg({"type": 1}),
        "empty-array": lambda: msg([]),
        "type-is-a-bool": lambda: msg([True]),
    },
    "G2": {
        "node-is-an-int": lambda: request(node=5),
        "code-is-nil": lambda: error(code=None),
        "message-is-bytes": lambda: error(message=b"x"),
    },
    "G3": {
        "node-of-65-and-bad-capabilities": lambda: request(node="S" * 65, capabilities=-1),
        "code-of-65": lambda: error(code="c" * 65),
    },
    "G4": {"empty-node": lambda: request(node="")},
    "G5": {
        "negative-capabilities": lambda: request(capabilities=-1),
        "capabilities-as-a-string": lambda: request(capabilities="zstd"),
        "pull-cursor-2-to-the-63-before-a-bad-clock": lambda: request(pull_cursor=1 << 63, node_hlc=1 << 63),
        "want-pull-is-1": lambda: request(want_pull=1),
        "more-pull-is-0": lambda: response(more_pull=0),
        "negative-conflicts": lambda: response(conflicts=-1),
    },
    "G6": {
        "node-hlc-is-a-string": lambda: request(node_hlc="H"),
        "node-hlc-is-true": lambda: request(node_hlc=True),
        "server-hlc-is-nil": lambda: response(server_hlc=None),
    },
    "G7": {
        "node-hlc-2-to-the-63": lambda: request(node_hlc=1 << 63),
        "node-hlc-uint64-max-and-bad-want-pull": lambda: request(node_hlc=(1 << 64) - 1, want_pull=1),
        "negative-node-hlc": lambda: request(node_hlc=-1),
        "server-hlc-2-to-the-63": lambda: response(server_hlc=1 << 63),
        "negative-clamp-hlc": lambda: response(clamp_hlc=-5),
    },
    "G8": {
        "message-of-2001-and-bad-detail": lambda: error(message="m" * (MAX_CHARS + 1), detail="x"),
    },
    "G9": {"detail-a-string": lambda: error(detail="x"), "detail-an-array": lambda: error(detail=[1])},
    "G10": {
        "value-of-2001": lambda: error(detail={"max": "x" * (MAX_CHARS + 1)}),
        "key-of-2001": lambda: error(detail={"k" * (MAX_CHARS + 1): 1}),
        "deep-inside": lambda: error(detail={"a": [[{"b": ["x" * (MAX_CHARS + 1)]}]]}),
    },
    "B1": {
        "batch-a-string": lambda: request(push="batch"),
        "batch-of-3": lambda: request(push=[[], None, None]),
        "more-blocks-than-tables": lambda: request(push=[[block()] * (len(TABLES) + 1), None]),
        "block-of-8": lambda: request(push=[[block()[:8]], None]),
        "unknown-table": lambda: request(push=[[block(table=99)], None]),
        "table-twice": lambda: request(push=[[block(), block()], None]),
        "n-zero": lambda: request(push=[[block(n=0)], None]),
        "n-is-true": lambda: request(push=[[block(n=True)], None]),
    },
    "B2": {
        "two-blocks-of-60000-garbage-columns": lambda: request(
            push=[[block(n=60_000, columns="junk"), block(table=15, n=60_000, seq="junk")], None]
        ),
        "before-a-later-bad-header": lambda: request(push=[[block(n=100_001), [99]], None]),
    },
    "B3": {"nine-columns": lambda: request(push=[[block(columns=columns()[:9])], None])},
    "B4": {
        "unknown-mode": lambda: request(push=[[block(seq=[7, [41]])], None]),
        "fixed-width-9": lambda: request(push=[[block(seq=[2, bytes(9)])], None]),
        "fixed-width-0": lambda: request(push=[[block(seq=[2, b""])], None]),
        "divisor-1": lambda: request(push=[[block(seq=[0, [41], 1, 0])], None]),
        "float-value": lambda: request(push=[[block(seq=[0, [41.0]])], None]),
        "hlc-form-before-its-range": lambda: request(
            push=[[block(n=2, seq=[0, [1, 2]], hlc=[0, [1 << 63, "x"]])], None]
        ),
    },
    "B5": {"seq-zero-and-bad-hlc": lambda: request(push=[[block(seq=0, hlc=-1)], None])},
    "B6": {
        "hlc-2-to-the-63": lambda: request(push=[[block(hlc=[0, [1 << 63]])], None]),
        "hlc-constant-minus-1": lambda: request(push=[[block(hlc=-1)], None]),
        "hlc-divisor-form-overflows": lambda: request(push=[[block(hlc=[0, [1 << 47], 65536, 0])], None]),
        "hlc-out-of-range-beside-a-null": lambda: request(
            push=[[block(n=2, seq=[0, [1, 2]], hlc=[0, [None, (1 << 64) - 1]])], None]
        ),
        "hlc-before-a-bad-base": lambda: request(push=[[block(hlc=[0, [1 << 63]], base=-1)], None]),
        "in-a-pull": lambda: response(pull=[[pull_block(hlc=1 << 63)], None]),
    },
    "B7": {
        "hlc-nil": lambda: request(push=[[block(hlc=None)], None]),
        "seq-nil": lambda: request(push=[[block(seq=None)], None]),
        "negative-base": lambda: request(push=[[block(base=-1)], None]),
        "sseq-2-to-the-63": lambda: request(push=[[block(sseq=1 << 63)], None]),
        "tombstone-2": lambda: request(push=[[block(tombstone=2)], None]),
    },
    "B8": {
        "origin-in-a-push": lambda: request(push=[[block(origin="04512K")], None]),
        "origin-an-int-in-a-pull": lambda: response(pull=[[pull_block(origin=5)], None]),
    },
    "B9": {
        "origin-of-2001": lambda: response(pull=[[pull_block(origin="o" * (MAX_CHARS + 1))], None]),
        "constant-of-2001": lambda: request(push=[[block(columns=columns(school="s" * (MAX_CHARS + 1)))], None]),
        "table-entry-of-2001": lambda: request(
            push=[[block(columns=columns(remark=[["r" * (MAX_CHARS + 1)], 0]))], None]
        ),
        "joined-split-entry-of-2001": lambda: request(
            push=[[block(columns=columns(pupil=[1, "p" * (MAX_CHARS - 5), 1, 6, 0]))], None]
        ),
        "long-prefix-before-a-bad-width": lambda: request(
            push=[[block(columns=columns(pupil=[1, "p" * (MAX_CHARS + 1), 1, 19, 0]))], None]
        ),
    },
    "B10": {
        "empty-origin": lambda: response(pull=[[pull_block(origin="")], None]),
        "nil-origin-in-a-pull": lambda: response(pull=[[pull_block(origin=None)], None]),
    },
    "B11": {
        "str-column-holds-an-int": lambda: request(push=[[block(columns=columns(remark=5))], None]),
        "day-out-of-range": lambda: request(
            push=[[block(table=15, columns=["04512K", "R130245678", 2932897, 1, 0, None, None, None])], None]
        ),
        "index-out-of-range": lambda: request(push=[[block(columns=columns(remark=[["a"], 1]))], None]),
        "table-longer-than-n": lambda: request(push=[[block(columns=columns(remark=[["a", "b"], 0]))], None]),
        "split-width-19": lambda: request(push=[[block(columns=columns(pupil=[1, "R", 1, 19, 0]))], None]),
        "split-number-wider-than-width": lambda: request(
            push=[[block(columns=columns(pupil=[1, "R", 130245678, 8, 0]))], None]
        ),
        "int-over-63-bits": lambda: request(push=[[block(columns=columns(score=[0, [1 << 63]]))], None]),
    },
    "B12": {"null-key": lambda: request(push=[[block(columns=columns(pupil=None))], None])},
    "B13": {
        "two-indexes-for-one-change": lambda: request(push=[[block()], [0, [0, 0]]]),
        "index-of-no-block": lambda: request(push=[[block()], [0, [1]]]),
        "empty-batch-fixed-width-order-n0": lambda: request(push=[[], [2, b""]]),
    },
}


def spec_lines(prefixes: str) -> dict[str, str]:
    """{line id: error code} of section 11's tables, for ids starting with one of ``prefixes``."""
    text = spec_section("11")
    found = re.findall(r"^\| ([A-Z][0-9]+) \| .* \| (?:[0-9]{3} )?`([a-z_]+)` \|$", text, re.M)
    return {line: code for line, code in found if line[0] in prefixes}


LINES = spec_lines("FMGB")
CASES = [pytest.param(line, make, id=f"{line}-{name}") for line, d in VECTORS.items() for name, make in d.items()]


def test_every_line_has_vectors_and_every_vector_a_line() -> None:
    assert set(VECTORS) == set(LINES)
    assert len(LINES) >= 40  # the section was found and read


@pytest.mark.parametrize(("line", "make"), CASES)
def test_vector_gets_the_error_of_its_line(line: str, make: Callable[[], bytes]) -> None:
    data = make()
    with pytest.raises(ProtocolError) as caught:
        decode_message(data)
    assert caught.value.code == LINES[line], f"{line}: {caught.value}"
    assert ERRORS_BY_CODE[LINES[line]] is type(caught.value)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: request(node="S" * 64), id="node-of-64"),
        pytest.param(lambda: request(node_hlc=INT63, pull_cursor=INT63), id="hlc-and-cursor-2-to-the-63-minus-1"),
        pytest.param(lambda: request(capabilities=(1 << 64) - 1), id="every-capability-bit"),
        pytest.param(lambda: request(push=[[block(hlc=INT63)], None]), id="block-hlc-2-to-the-63-minus-1"),
        pytest.param(lambda: request(push=[[], None]), id="empty-batch"),
        pytest.param(lambda: request(push=[[], [0, []]]), id="empty-batch-raw-order"),
        pytest.param(lambda: request(push=[[], 0]), id="empty-batch-constant-order"),
        pytest.param(lambda: error(code="c" * 64, message="m" * MAX_CHARS), id="code-64-message-2000"),
        pytest.param(
            lambda: error(detail={"k" * MAX_CHARS: ["v" * MAX_CHARS, {"x": None, "y": b"\x00" * 10}]}),
            id="detail-strings-of-2000",
        ),
        pytest.param(lambda: error(detail={"d": nested(MAX_NESTING - 2, 1)}), id="nesting-1024"),
        pytest.param(lambda: error(detail={str(i): i for i in range(MAX_MAP_LEN)}), id="map-of-256"),
        pytest.param(
            lambda: request(push=[[block(columns=columns(remark="r" * MAX_CHARS))], None]), id="column-string-2000"
        ),
        pytest.param(lambda: VALID, id="the-valid-request"),
    ],
)
def test_boundaries_are_accepted(make: Callable[[], bytes]) -> None:
    """One step inside each limit decodes: the limits are exactly where the SPEC puts them."""
    decode_message(make())


def test_msgpack_boundaries_of_section_2() -> None:
    """The msgpack limits on their own: at the limit accepted, one over refused with the stated code."""
    limits = DEFAULT_LIMITS
    ok = [
        b"\x91" * (MAX_NESTING - 1) + b"\x90",
        b"\xda" + limits.max_string_bytes.to_bytes(2, "big") + b"a" * limits.max_string_bytes,
        b"\xc6" + limits.max_bin_bytes.to_bytes(4, "big") + bytes(limits.max_bin_bytes),
        b"\xdd" + limits.max_array_len.to_bytes(4, "big") + b"\xc0" * limits.max_array_len,
        b"\xde" + MAX_MAP_LEN.to_bytes(2, "big") + b"".join(msgpack.packb(str(i)) + b"\x00" for i in range(256)),
    ]
    for data in ok:
        unpack_body(data, limits)
    tight = type(limits)(max_records=10, max_string_chars=3)
    assert tight.max_array_len == 64 and tight.max_bin_bytes == 80 and tight.max_string_bytes == 12
    for data, code in [
        (b"\xdc\x00\x41" + b"\xc0" * 65, "too_many_records"),
        (b"\xc4\x51" + bytes(81), "string_too_long"),
        (b"\xad" + b"a" * 13, "string_too_long"),
    ]:
        with pytest.raises(ProtocolError) as caught:
            unpack_body(data, tight)
        assert caught.value.code == code


def test_error_response_writer_keeps_the_limits() -> None:
    """A writer never sends what a reader refuses: a long message is cut, a long detail refused."""
    from protocol.errors import MessageError, StringTooLong

    cut = ErrorResponse.from_error(MessageError("x" * 5000))
    assert len(cut.message) == MAX_CHARS
    assert decode_message(encode_message(cut, dictionary_id=0)) == cut
    with pytest.raises(StringTooLong):
        encode_message(ErrorResponse("bad_frame", "m", {"k": "v" * (MAX_CHARS + 1)}))


def test_the_spec_names_this_file() -> None:
    assert "tests/protocol/test_proto_conformance.py" in SPEC
