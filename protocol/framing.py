"""The envelope around every message (SPEC.md, "Frames")::

    "MZ" | version u8 | dictionary id u8 | payload length ULEB128 | zstd frame | CRC32 u32 BE

The CRC32 covers every byte before it. The payload is the msgpack body,
whose length the header declares; the zstd frame carries no checksum, no
dictionary id and no content size, since the envelope already has them.
"""

from __future__ import annotations

import threading
import zlib
from typing import Final

import msgpack
import zstandard

from .dictionary import DEFAULT_DICTIONARY_ID, NO_DICTIONARY, get_dictionary
from .errors import (
    ChecksumError,
    FrameError,
    FrameTooLarge,
    MessageError,
    PayloadTooLarge,
    StringTooLong,
    TooManyRecords,
    TruncatedFrame,
    VersionError,
)
from .limits import DEFAULT_LIMITS, MAX_MAP_LEN, Limits
from .version import MAGIC, PROTOCOL_VERSION

__all__ = ["MAX_LEVEL", "MAX_WINDOW_BYTES", "decode_frame", "encode_frame", "pack_body", "unpack_body"]

MAX_LEVEL: Final = 19
# Levels up to 19 never need a window over 8 MiB; a frame asking for more
# is refused before zstd allocates it.
MAX_WINDOW_BYTES: Final = 1 << 23
_CRC_BYTES: Final = 4
_MAX_VARINT_BYTES: Final = 5
_MAX_DECLARED: Final = (1 << 32) - 1
# magic, version, dictionary id, one length byte, CRC
_MIN_FRAME: Final = len(MAGIC) + 2 + 1 + _CRC_BYTES

_local = threading.local()


def _compressor(dict_id: int, level: int) -> zstandard.ZstdCompressor:
    # Compression contexts are not thread-safe: one per thread and setting.
    cache: dict[tuple[int, int], zstandard.ZstdCompressor] = _local.__dict__.setdefault("c", {})
    key = (dict_id, level)
    cctx = cache.get(key)
    if cctx is None:
        cctx = cache[key] = zstandard.ZstdCompressor(
            level=level,
            dict_data=get_dictionary(dict_id) if dict_id else None,
            write_checksum=False,
            write_content_size=False,
            write_dict_id=False,
        )
    return cctx


def _decompressor(dict_id: int) -> zstandard.ZstdDecompressor:
    cache: dict[int, zstandard.ZstdDecompressor] = _local.__dict__.setdefault("d", {})
    dctx = cache.get(dict_id)
    if dctx is None:
        dctx = cache[dict_id] = zstandard.ZstdDecompressor(
            dict_data=get_dictionary(dict_id) if dict_id else None,
            max_window_size=MAX_WINDOW_BYTES,
        )
    return dctx


def _uleb128(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_uleb128(data: bytes, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    for i in range(pos, min(end, pos + _MAX_VARINT_BYTES)):
        byte = data[i]
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            if byte == 0 and i > pos:
                raise FrameError("payload length is not minimally encoded")
            if value > _MAX_DECLARED:
                raise FrameError("payload length over 32 bits")
            return value, i + 1
    raise FrameError("payload length is not a valid varint")


def pack_body(obj: object) -> bytes:
    """msgpack bytes of a wire object; MessageError if it is not packable."""
    try:
        body: bytes = msgpack.packb(obj, use_bin_type=True)
    except (TypeError, ValueError, OverflowError, UnicodeError) as exc:
        raise MessageError(f"cannot pack message: {exc}") from exc
    return body


def encode_frame(
    obj: object,
    *,
    dictionary_id: int | None = DEFAULT_DICTIONARY_ID,
    level: int = MAX_LEVEL,
    limits: Limits = DEFAULT_LIMITS,
) -> bytes:
    """Frame a wire object; ``dictionary_id`` None or 0 means plain zstd."""
    dict_id = NO_DICTIONARY if dictionary_id is None else dictionary_id
    if not 1 <= level <= MAX_LEVEL:
        raise ValueError(f"zstd level must be within 1..{MAX_LEVEL}")
    body = pack_body(obj)
    if len(body) > limits.max_payload_bytes:
        raise PayloadTooLarge(f"payload of {len(body)} bytes > {limits.max_payload_bytes}")
    head = MAGIC + bytes((PROTOCOL_VERSION, dict_id)) + _uleb128(len(body))
    frame = head + _compressor(dict_id, level).compress(body)
    frame += zlib.crc32(frame).to_bytes(_CRC_BYTES, "big")
    if len(frame) > limits.max_frame_bytes:
        raise FrameTooLarge(f"frame of {len(frame)} bytes > {limits.max_frame_bytes}")
    return frame


def _check_envelope(data: bytes, limits: Limits) -> tuple[int, int, int]:
    """Check the header and CRC; return (dictionary id, declared length, body start)."""
    size = len(data)
    if size > limits.max_frame_bytes:
        raise FrameTooLarge(f"frame of {size} bytes > {limits.max_frame_bytes}")
    if data[: len(MAGIC)] != MAGIC[:size]:
        raise FrameError("bad magic: not a Massar Sync frame")
    if size <= len(MAGIC):
        raise TruncatedFrame("frame ends inside its header")
    version = data[len(MAGIC)]
    if version != PROTOCOL_VERSION:
        # Before the CRC: a peer on another version may frame differently.
        raise VersionError(PROTOCOL_VERSION, version)
    if size < _MIN_FRAME:
        raise TruncatedFrame(f"frame of {size} bytes is shorter than any valid frame")
    end = size - _CRC_BYTES
    if zlib.crc32(data[:end]) != int.from_bytes(data[end:], "big"):
        raise ChecksumError("CRC32 mismatch: the frame was corrupted or cut")
    dict_id = data[len(MAGIC) + 1]
    declared, start = _read_uleb128(data, len(MAGIC) + 2, end)
    if declared > limits.max_payload_bytes:
        raise PayloadTooLarge(f"declared payload of {declared} bytes > {limits.max_payload_bytes}")
    return dict_id, declared, start


def _decompress(data: bytes, start: int, end: int, dict_id: int, declared: int) -> bytes:
    dctx = _decompressor(dict_id)
    # A bounded read: a lying length or a zstd bomb stops one byte past
    # the declared size instead of inflating into memory.
    chunks: list[bytes] = []
    got = 0
    try:
        reader = dctx.stream_reader(memoryview(data)[start:end], read_across_frames=True)
        while got <= declared:
            chunk = reader.read(declared + 1 - got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
    except zstandard.ZstdError as exc:
        raise FrameError(f"zstd: {exc}") from exc
    if got > declared:
        raise PayloadTooLarge(f"payload decompresses past its declared {declared} bytes")
    if got < declared:
        raise TruncatedFrame(f"payload is {got} bytes, header declares {declared}")
    return b"".join(chunks)


def unpack_body(body: bytes, limits: Limits) -> object:
    """msgpack-decode with every size bounded; only ProtocolError escapes.

    msgpack reports the first violation in byte order (SPEC.md section 2):
    an array or map count is checked at its header, a str or bin length
    once its bytes are there, so a cut body announcing a huge string is
    malformed, not too long. Past MAX_NESTING open containers its C
    decoder stops with StackError.
    """
    try:
        return msgpack.unpackb(
            body,
            raw=False,
            strict_map_key=True,
            use_list=True,
            max_str_len=limits.max_string_bytes,
            max_bin_len=limits.max_bin_bytes,
            max_array_len=limits.max_array_len,
            max_map_len=MAX_MAP_LEN,
            max_ext_len=0,
        )
    except ValueError as exc:
        text = str(exc)
        if "max_str_len" in text or "max_bin_len" in text:
            raise StringTooLong(f"msgpack: {text}") from exc
        if "max_array_len" in text or "max_map_len" in text:
            raise TooManyRecords(f"msgpack: {text}") from exc
        raise MessageError(f"not msgpack: {text or type(exc).__name__}") from exc
    except Exception as exc:
        # msgpack raises a zoo (ExtraData, FormatError, StackError, TypeError...).
        raise MessageError(f"not msgpack: {type(exc).__name__}: {exc}") from exc


def decode_frame(data: bytes, limits: Limits = DEFAULT_LIMITS) -> object:
    """Check and open a frame; any input gives a wire object or a ProtocolError."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise FrameError(f"a frame is bytes, not {type(data).__name__}")
    data = bytes(data)
    dict_id, declared, start = _check_envelope(data, limits)
    end = len(data) - _CRC_BYTES
    if dict_id != NO_DICTIONARY:
        get_dictionary(dict_id)
    body = _decompress(data, start, end, dict_id, declared)
    return unpack_body(body, limits)
