"""Every error of the project, in one tree: one base, a `code` and a `status`.

Each class carries ``code`` (machine-readable: the JSON ``error`` of an HTTP
refusal or of ``massar ... --json``, the key of a page's translated message)
and ``status`` (the HTTP status it is answered with). The three boundaries map
errors by reading those two attributes and nothing else: ``server/app.py``
(HTTP), ``syncclient/web/app.py`` (pages), ``cli/errors.py`` (one line on
stderr, exit status). An error that is not a ``MassarError`` is a bug: it is
logged with its traceback and answered as 500 ``internal_error``. Third-party
failures (sqlite3, httpx, openpyxl/xlrd, zstandard, msgpack) are wrapped into
one of these where they are caught, with ``raise ... from exc``.

The base and the protocol's subtree live here because ``protocol`` imports
nothing of the project; every other package subclasses ``MassarError`` in its
own ``errors.py``. tests/errors/test_error_tree.py checks this drawing
against the classes::

    MassarError                       error                   500  protocol/errors.py
    ├── ProtocolError                 protocol_error          400  protocol/errors.py
    │   ├── FrameError                bad_frame               400
    │   │   ├── ChecksumError         checksum_mismatch       400
    │   │   └── TruncatedFrame        truncated_frame         400
    │   ├── VersionError              unsupported_version     426
    │   ├── UnknownDictionary         unknown_dictionary      400
    │   ├── CapabilityError           missing_capability      400
    │   ├── LimitError                limit_exceeded          413
    │   │   ├── FrameTooLarge         frame_too_large         413
    │   │   ├── PayloadTooLarge       payload_too_large       413
    │   │   ├── TooManyRecords        too_many_records        413
    │   │   └── StringTooLong         string_too_long         413
    │   ├── MessageError              malformed_message       400
    │   │   └── ClockError            bad_clock               400
    │   ├── AuthHeaderError           bad_auth_header         401  protocol/auth.py
    │   └── BundleError               bad_bundle              400  protocol/bundle.py
    ├── DomainError                   domain_error            400  domain/errors.py
    │   ├── InvalidInput              invalid_input           400
    │   │   └── FileRejected          file_rejected           400
    │   ├── NotFound                  not_found               404
    │   ├── Conflict                  conflict                409
    │   ├── NotAllowed                not_allowed             403
    │   └── NotInitialised            not_initialised         409
    ├── ServerError                   server_error            500  server/errors.py
    │   ├── AuthError                 unauthorized            401
    │   │   ├── UnknownSchool         unauthorized            401
    │   │   ├── RevokedToken          unauthorized            401
    │   │   ├── StaleCounter          unauthorized            401
    │   │   ├── BadSignature          unauthorized            401
    │   │   └── ReplayedRequest       replayed                401
    │   ├── ScopeViolation            scope_violation         403
    │   ├── BodyTooSlow               body_too_slow           408
    │   ├── LengthRequired            length_required         411
    │   ├── BodyTooLarge              body_too_large          413
    │   ├── TooMuchData               too_much_data           413
    │   ├── DailyQuota                daily_quota             429
    │   ├── ServerBusy                busy                    503
    │   ├── StoreUnavailable          store_unavailable       503
    │   └── InternalError             internal_error          500
    ├── SyncClientError               sync_error              500  syncclient/errors.py
    │   ├── NotConfigured             not_configured          409
    │   ├── ServerUnreachable         unreachable             503
    │   ├── ServerRefused             refused                 502
    │   ├── UntrustedServer           untrusted_server        502
    │   ├── BadResponse               bad_response            502
    │   └── AgentUnavailable          agent_unavailable       503
    └── MassarFileError               massar_file_error       400  syncclient/massarfiles/errors.py
        ├── FileFormatError           bad_massar_file         400
        └── FileProblems              massar_file_problems    400

A raise may narrow ``code`` (``NotFound("...", code="unknown_pupil")``) but
never ``status``: the class decides how a boundary answers. A subclass either
has a code of its own or keeps its parent's on purpose (the reasons for
``unauthorized`` are told to no stranger, only to the server's log).
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ERRORS_BY_CODE",
    "MassarError",
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


class MassarError(Exception):
    """The base of every error the project raises on purpose."""

    code: str = "error"
    status: ClassVar[int] = 500

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)


class ProtocolError(MassarError):
    """Root of the protocol's subtree: the peer's bytes, or our own input, break the protocol."""

    code = "protocol_error"
    status = 400


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
