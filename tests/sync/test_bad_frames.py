"""Hostile or broken bodies, correctly signed: each gets a 4xx with a machine-readable code,
nothing is applied, and the server keeps serving."""

from __future__ import annotations

import zlib

import pytest
import zstandard

from protocol import capabilities
from protocol.framing import encode_frame, pack_body
from protocol.messages import SyncRequest, encode_message
from protocol.version import MAGIC, PROTOCOL_VERSION
from syncclient.outbox import pending_changes

from .conftest import both_backends
from .helpers import fill_school, next_counter, node_key, post_signed, sync

pytestmark = both_backends


def _uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _frame(dict_id: int, declared: int, zstd_frame: bytes) -> bytes:
    head = MAGIC + bytes((PROTOCOL_VERSION, dict_id)) + _uleb(declared)
    body = head + zstd_frame
    return body + zlib.crc32(body).to_bytes(4, "big")


def _plain(obj: object) -> bytes:
    packed = pack_body(obj)
    return _frame(0, len(packed), zstandard.ZstdCompressor(write_content_size=False).compress(packed))


def _bodies(good: bytes) -> dict[str, tuple[bytes, str]]:
    bomb = zstandard.ZstdCompressor(level=1, write_content_size=False).compress(b"\0" * (32 << 20))
    return {
        "not-a-frame": (b"hello, central server", "bad_frame"),
        "empty": (b"", "truncated_frame"),
        "flipped-byte": (good[:-8] + bytes([good[-8] ^ 0x40]) + good[-7:], "checksum_mismatch"),
        "truncated": (good[: len(good) // 2], "checksum_mismatch"),
        "unknown-dictionary": (_frame(99, 10, b"\x28\xb5\x2f\xfd" + b"\0" * 8), "unknown_dictionary"),
        "zstd-bomb": (_frame(0, 1000, bomb), "payload_too_large"),
        "declared-too-large": (_frame(0, 1 << 30, b"\x28\xb5\x2f\xfd"), "payload_too_large"),
        "not-msgpack": (_frame(0, 4, zstandard.ZstdCompressor().compress(b"\xc1\xc1\xc1\xc1")), "malformed_message"),
        "wrong-types": (_plain([1, 42, 0, "zero", None, "yes", {}]), "malformed_message"),
        "not-a-request": (encode_frame([3, "oops", "a response, not a request", None]), "malformed_message"),
    }


@pytest.fixture
def node(central, make_node):
    store = make_node("SA01")
    fill_school(store, seed=2, pupils=10, absence_days=2)
    return store


CASES = ["not-a-frame", "empty", "flipped-byte", "truncated", "unknown-dictionary", "zstd-bomb",
         "declared-too-large", "not-msgpack", "wrong-types", "not-a-request"]  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_a_bad_frame_gets_a_4xx_code_and_changes_nothing(central, node, case: str) -> None:
    changes = pending_changes(node.db, node.school, 500)
    good = encode_message(SyncRequest("SA01", capabilities.SUPPORTED, 0, changes, 1))
    body, code = _bodies(good)[case]
    before, school_before = central.digest(), central.school_row("SA01")

    reply = post_signed(central.url, body, school="SA01", key=node_key(node), counter=next_counter(node))

    assert 400 <= reply.status_code < 500, reply.text
    assert reply.json()["error"] == code, reply.json()
    assert central.digest() == before
    assert central.school_row("SA01") == school_before
    # Still serving: the node's real sync goes through right after.
    assert sync(node).pending == 0
