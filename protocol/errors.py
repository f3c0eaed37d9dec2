"""The protocol's exceptions: every refusal of a peer's bytes is one of these.

Each class carries ``code`` (machine-readable, sent back in an
ErrorResponse) and ``status`` (the HTTP status a server answers with)::

    ProtocolError                     protocol_error          400
    ├── FrameError                    bad_frame               400
    │   ├── ChecksumError             checksum_mismatch       400
    │   └── TruncatedFrame            truncated_frame         400
    ├── VersionError                  unsupported_version     426
    ├── UnknownDictionary             unknown_dictionary      400
    ├── CapabilityError               missing_capability      400
    ├── LimitError                    limit_exceeded          413
    │   ├── FrameTooLarge             frame_too_large         413
    │   ├── PayloadTooLarge           payload_too_large       413
    │   ├── TooManyRecords            too_many_records        413
    │   └── StringTooLong             string_too_long         413
    └── MessageError                  malformed_message       400
        └── ClockError                bad_clock               400

Decoders wrap third-party failures (msgpack, zstd, unicode) with
``raise ... from exc`` so that callers need to catch ``ProtocolError`` only.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ERRORS_BY_CODE",
    "CapabilityError",
    "ChecksumError",
    "ClockError",
    "FrameError",
    "FrameTooLarge",
    "LimitError",
    "MessageError",
    "PayloadTooLarge",
    "ProtocolError",
    "StringTooLong",
    "TooManyRecords",
    "TruncatedFrame",
    "UnknownDictionary",
    "VersionError",
]


class ProtocolError(Exception):
    """Root of the tree: the peer's bytes, or our own input, break the protocol."""

    code: ClassVar[str] = "protocol_error"
    status: ClassVar[int] = 400


class FrameError(ProtocolError):
    """The envelope is wrong: bad magic, bad length, undecompressible body."""

    code = "bad_frame"


class ChecksumError(FrameError):
    """The CRC32 does not match: a flipped bit or a cut body."""

    code = "checksum_mismatch"


class TruncatedFrame(FrameError):
    """Fewer bytes than the frame header announces or needs."""

    code = "truncated_frame"


class VersionError(ProtocolError):
    """The frame speaks another protocol version; the message says who upgrades."""

    code = "unsupported_version"
    # 426 Upgrade Required: the client must move to a version we speak.
    status = 426

    def __init__(self, ours: int, theirs: int) -> None:
        self.ours = ours
        self.theirs = theirs
        who = "this side must upgrade" if theirs > ours else "the peer must upgrade"
        super().__init__(f"protocol version {theirs} is not supported (we speak {ours}): {who}")


class UnknownDictionary(ProtocolError):
    """The frame names a compression dictionary id we do not have."""

    code = "unknown_dictionary"


class CapabilityError(ProtocolError):
    """A capability required by one side is missing on the other."""

    code = "missing_capability"


class LimitError(ProtocolError):
    """A size limit was exceeded; the peer should send less at once."""

    code = "limit_exceeded"
    status = 413


class FrameTooLarge(LimitError):
    code = "frame_too_large"


class PayloadTooLarge(LimitError):
    """The decompressed body is (or would become) larger than allowed."""

    code = "payload_too_large"


class TooManyRecords(LimitError):
    code = "too_many_records"


class StringTooLong(LimitError):
    code = "string_too_long"


class MessageError(ProtocolError):
    """The body decodes but is not a valid message: types, arity, values."""

    code = "malformed_message"


class ClockError(MessageError):
    """A hybrid logical clock value is out of range."""

    code = "bad_clock"


def _all_errors() -> dict[str, type[ProtocolError]]:
    out: dict[str, type[ProtocolError]] = {}
    todo: list[type[ProtocolError]] = [ProtocolError]
    while todo:
        cls = todo.pop()
        out[cls.code] = cls
        todo.extend(cls.__subclasses__())
    return out


ERRORS_BY_CODE: dict[str, type[ProtocolError]] = _all_errors()
"""Every error class by its ``code``, for clients mapping an ErrorResponse back."""
