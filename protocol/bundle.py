"""Bundle files: a sync carried on a USB stick or a phone instead of a link (SPEC.md section "Bundles").

A bundle holds exactly what a sync would have sent over HTTP, so the receiver
applies it through the same code path, exactly once:

    magic    6 bytes  "MSYNCB"
    version  u8       1
    kind     u8       1 = push (node -> centre), 2 = reply (centre -> node)
    device   u8 length + ASCII device id
    cursor   u64      the node's pull cursor when it exported the push (echoed by the reply)
    count    u16      entries that follow
    entry    u64 counter, u8 MAC length + MAC (ASCII), u32 body length + body (one frame)
    seal     16 bytes HMAC-SHA256 of every byte before it, key = the device's key

All integers are big-endian. A push entry is one signed SyncRequest: its MAC is
the request MAC of `POST /s` with that counter (auth.request_mac). A reply entry
is one signed SyncResponse: its MAC is the response MAC for the counter it
answers (auth.response_mac). The seal binds the whole file, so a truncated,
reordered or edited bundle is refused before anything is applied.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass
from typing import Final

from .errors import ProtocolError

__all__ = [
    "KIND_PUSH",
    "KIND_REPLY",
    "MAGIC",
    "Bundle",
    "BundleEntry",
    "BundleError",
    "decode_bundle",
    "decode_unsealed",
    "encode_bundle",
    "peek_device",
    "peek_kind",
]

MAGIC: Final = b"MSYNCB"
VERSION: Final = 1
KIND_PUSH: Final = 1
KIND_REPLY: Final = 2
SEAL_BYTES: Final = 16
MAX_ENTRIES: Final = 65_535
MAX_ENTRY_BYTES: Final = 16 * 1024 * 1024
_KIND_NAMES: Final = {KIND_PUSH: "push bundle", KIND_REPLY: "reply bundle"}


class BundleError(ProtocolError):
    """A file that is not a whole, untouched bundle of this kind (nothing of it is applied)."""

    code = "bad_bundle"


@dataclass(frozen=True, slots=True)
class BundleEntry:
    counter: int
    mac: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Bundle:
    kind: int
    device: str
    cursor: int
    entries: tuple[BundleEntry, ...]


def _seal(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, b"bundle\n" + data, hashlib.sha256).digest()[:SEAL_BYTES]


def encode_bundle(bundle: Bundle, key: bytes) -> bytes:
    device = bundle.device.encode("ascii")
    if not 0 < len(device) < 256 or len(bundle.entries) > MAX_ENTRIES:
        raise BundleError("a bundle names one device and holds at most 65,535 entries")
    out = bytearray(MAGIC)
    out += struct.pack(">BBB", VERSION, bundle.kind, len(device)) + device
    out += struct.pack(">QH", bundle.cursor, len(bundle.entries))
    for entry in bundle.entries:
        mac = entry.mac.encode("ascii")
        out += struct.pack(">QB", entry.counter, len(mac)) + mac + struct.pack(">I", len(entry.body)) + entry.body
    out += _seal(key, bytes(out))
    return bytes(out)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.data):
            raise BundleError("the bundle is truncated (copy it again from the stick or phone)")
        part = self.data[self.at : self.at + n]
        self.at += n
        return part

    def unpack(self, fmt: str) -> tuple[int, ...]:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))


def peek_device(data: bytes, kind: int) -> str:
    """The device a bundle claims to come from or go to, so the receiver can find its key (not yet trusted)."""
    return _header(_Reader(data), kind)[0]


def peek_kind(data: bytes) -> int:
    """Whether a file is a push or a reply (not yet trusted), so a node can tell a sibling's push from a reply."""
    reader = _Reader(data)
    if reader.take(len(MAGIC)) != MAGIC:
        raise BundleError("not a Massar bundle file")
    return reader.unpack(">BB")[1]


def _header(reader: _Reader, kind: int) -> tuple[str, int]:
    if reader.take(len(MAGIC)) != MAGIC:
        raise BundleError("not a Massar bundle file")
    version, found_kind, device_len = reader.unpack(">BBB")
    if version != VERSION:
        raise BundleError(f"bundle version {version} is not supported (this program reads version {VERSION})")
    if found_kind != kind:
        raise BundleError(
            f"this file is a {_KIND_NAMES.get(found_kind, 'unknown bundle')}, not a {_KIND_NAMES.get(kind, '?')}"
        )
    try:
        device = reader.take(device_len).decode("ascii")
    except UnicodeDecodeError as exc:
        raise BundleError("the bundle's device id is not ASCII") from exc
    return device, kind


def decode_bundle(data: bytes, kind: int, key: bytes) -> Bundle:
    """Parse and check the seal with `key` (the device's key); raises BundleError on any damage."""
    return _decode(data, kind, key)


def decode_unsealed(data: bytes, kind: int) -> Bundle:
    """Parse without the seal, for a reader that does not hold the device's key (a sibling device,
    SPEC 12.3): the layout, lengths and end are checked, the seal is not. Never trust what this returns
    beyond what the frames' own checks (CRC-32) and the caller's scope checks vouch for."""
    return _decode(data, kind, None)


def _decode(data: bytes, kind: int, key: bytes | None) -> Bundle:
    if len(data) < len(MAGIC) + SEAL_BYTES:
        raise BundleError(
            "not a Massar bundle file" if not data.startswith(MAGIC[: len(data)]) else "the bundle is truncated"
        )
    reader = _Reader(data[:-SEAL_BYTES])
    device, _ = _header(reader, kind)
    if key is not None and not hmac.compare_digest(_seal(key, data[:-SEAL_BYTES]), data[-SEAL_BYTES:]):
        raise BundleError(
            f"the bundle's signature does not match device {device}'s key (damaged, truncated, edited or not for here)"
        )
    cursor, count = reader.unpack(">QH")
    entries = []
    for _ in range(count):
        counter, mac_len = reader.unpack(">QB")
        mac = reader.take(mac_len).decode("ascii", errors="replace")
        (size,) = reader.unpack(">I")
        if size > MAX_ENTRY_BYTES:
            raise BundleError("a bundle entry is larger than 16 MiB")
        entries.append(BundleEntry(counter, mac, reader.take(size)))
    if reader.at != len(reader.data):
        raise BundleError("the bundle has bytes after its last entry")
    return Bundle(kind, device, cursor, tuple(entries))
