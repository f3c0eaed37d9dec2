"""The three messages: fixed-position msgpack arrays led by a type number.

::

    SyncRequest   [1, node, capabilities, pull_cursor, node_hlc, want_pull, push (, tiers)]
    SyncResponse  [2, capabilities, acked_seq, server_hlc, pull_cursor,
                   more_pull, clamp_hlc, conflicts, pull (, refused (, satellites))]
    ErrorResponse [3, code, message, detail]

``push`` and ``pull`` are batches (see batch.py); capabilities a bit mask
(see capabilities.py). ``refused`` is present only when the server refused
pushed changes row by row: ``[[seq, code, reason], ...]``; ``satellites`` only
when the device's school hosts satellite schools (then ``refused`` may be empty):
``[[code, name, name_ar, as_of], ...]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter
from typing import ClassVar, Final, Self, TypeAlias, cast

from . import hlc
from .batch import decode_batch, encode_batch
from .capabilities import from_mask, to_mask
from .columns import INT_MAX
from .dictionary import DEFAULT_DICTIONARY_ID
from .errors import ClockError, MessageError, ProtocolError, StringTooLong
from .framing import MAX_LEVEL, decode_frame, encode_frame
from .limits import DEFAULT_LIMITS, Limits
from .records import Change
from .tables import PULL_TIERS

__all__ = [
    "MAX_NODE_CHARS",
    "ErrorResponse",
    "Refusal",
    "Satellite",
    "Message",
    "PullTiers",
    "SyncRequest",
    "SyncResponse",
    "decode_message",
    "encode_message",
]

MAX_NODE_CHARS: Final = 64
_ORIGIN: Final = itemgetter(3)  # a Change's origin
_MAX_SATELLITES: Final = 256


def _int(value: object, name: str, lo: int = 0, hi: int = INT_MAX) -> int:
    if type(value) is not int or not lo <= value <= hi:
        raise MessageError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")
    return value


def _hlc(value: object, name: str) -> int:
    # An integer out of range is a bad clock; anything else is a malformed message (SPEC 6).
    if type(value) is int and not 0 <= value <= hlc.MAX_HLC:
        raise ClockError(f"{name} must be an HLC in 0..{hlc.MAX_HLC}, got {value}")
    return _int(value, name, 0, hlc.MAX_HLC)


def _bool(value: object, name: str) -> bool:
    if type(value) is not bool:
        raise MessageError(f"{name} must be a boolean, got {value!r}")
    return value


def _str(value: object, name: str, max_chars: int) -> str:
    if type(value) is not str:
        raise MessageError(f"{name} must be a string, got {type(value).__name__}")
    if len(value) > max_chars:
        raise StringTooLong(f"{name} is longer than {max_chars} chars")
    return value


def _fields(obj: object, msg_type: int, count: int, name: str) -> list[object]:
    if type(obj) is not list or len(obj) != count or type(obj[0]) is not int or obj[0] != msg_type:
        raise MessageError(f"{name} is an array of {count} items starting with {msg_type}")
    return obj


@dataclass(frozen=True, slots=True)
class PullTiers:
    """A node under a byte budget pulls urgent tables first (SPEC 12.1): its cursor of each tier of
    `PULL_TIERS`, the tier it asks a page of (0: the rest, skipping what the tiers brought), and how
    many records the page may hold."""

    cursors: tuple[int, ...]
    tier: int
    limit: int

    def to_wire(self) -> list[object]:
        if len(self.cursors) != len(PULL_TIERS):
            raise MessageError(f"tiers carry {len(PULL_TIERS)} cursors")
        return [
            [_int(c, "tier cursor") for c in self.cursors],
            _int(self.tier, "tier", 0, len(PULL_TIERS)),
            _int(self.limit, "pull limit", 1),
        ]

    @classmethod
    def from_wire(cls, obj: object) -> PullTiers:
        if type(obj) is not list or len(obj) != 3 or type(obj[0]) is not list or len(obj[0]) != len(PULL_TIERS):
            raise MessageError(f"tiers is [[{len(PULL_TIERS)} cursors], tier, limit]")
        return cls(
            tuple(_int(c, "tier cursor") for c in obj[0]),
            _int(obj[1], "tier", 0, len(PULL_TIERS)),
            _int(obj[2], "pull limit", 1),
        )


@dataclass(frozen=True, slots=True)
class SyncRequest:
    """Node -> server: push the node's own changes, ask for others' since a cursor."""

    TYPE: ClassVar[int] = 1

    node: str
    capabilities: frozenset[str]
    pull_cursor: int
    push: list[Change]
    node_hlc: int
    want_pull: bool = True
    # Only under a byte budget: absent, the request is byte for byte as before.
    tiers: PullTiers | None = None

    def to_wire(self, limits: Limits = DEFAULT_LIMITS) -> list[object]:
        # The same checks as the receiver's: a bad field fails here, not there.
        if not _str(self.node, "node", MAX_NODE_CHARS):
            raise MessageError("node must not be empty")
        if not set(map(_ORIGIN, self.push)) <= {self.node}:
            raise MessageError("pushed changes must all originate from the requesting node")
        wire: list[object] = [
            self.TYPE,
            self.node,
            to_mask(self.capabilities),
            _int(self.pull_cursor, "pull_cursor"),
            _hlc(self.node_hlc, "node_hlc"),
            _bool(self.want_pull, "want_pull"),
            encode_batch(self.push, with_origin=False, limits=limits),
        ]
        if self.tiers is not None:
            wire.append(self.tiers.to_wire())
        return wire

    @classmethod
    def from_wire(cls, obj: object, limits: Limits = DEFAULT_LIMITS) -> Self:
        f = _fields(obj, cls.TYPE, 8 if type(obj) is list and len(obj) == 8 else 7, "SyncRequest")
        node = _str(f[1], "node", MAX_NODE_CHARS)
        if not node:
            raise MessageError("node must not be empty")
        return cls(
            node=node,
            capabilities=from_mask(f[2]),
            pull_cursor=_int(f[3], "pull_cursor"),
            node_hlc=_hlc(f[4], "node_hlc"),
            want_pull=_bool(f[5], "want_pull"),
            push=decode_batch(f[6], limits, origin=node),
            tiers=PullTiers.from_wire(f[7]) if len(f) == 8 else None,
        )


@dataclass(frozen=True, slots=True)
class Refusal:
    """One pushed change the server would not apply, and why (the rest of the push applied)."""

    seq: int
    code: str
    reason: str

    def to_wire(self) -> list[object]:
        return [_int(self.seq, "refused seq", 1), _str(self.code, "refused code", MAX_NODE_CHARS), self.reason]

    @classmethod
    def from_wire(cls, obj: object, limits: Limits) -> Refusal:
        if type(obj) is not list or len(obj) != 3:
            raise MessageError("a refusal is an array [seq, code, reason]")
        return cls(
            _int(obj[0], "refused seq", 1),
            _str(obj[1], "refused code", MAX_NODE_CHARS),
            _str(obj[2], "refused reason", limits.max_string_chars),
        )


@dataclass(frozen=True, slots=True)
class Satellite:
    """A satellite school attached to the device's school: its rows come read-only (SPEC 12.2)."""

    code: str
    name: str
    name_ar: str | None
    # The satellite's last exchange with the centre (ISO 8601 UTC): what its data is as of; None if never.
    as_of: str | None

    def to_wire(self) -> list[object]:
        return [
            _str(self.code, "satellite code", MAX_NODE_CHARS),
            self.name,
            self.name_ar,
            self.as_of,
        ]

    @classmethod
    def from_wire(cls, obj: object, limits: Limits) -> Satellite:
        if type(obj) is not list or len(obj) != 4:
            raise MessageError("a satellite is an array [code, name, name_ar, as_of]")
        code = _str(obj[0], "satellite code", MAX_NODE_CHARS)
        if not code:
            raise MessageError("a satellite's code must not be empty")
        return cls(
            code,
            _str(obj[1], "satellite name", limits.max_string_chars),
            None if obj[2] is None else _str(obj[2], "satellite name_ar", limits.max_string_chars),
            None if obj[3] is None else _str(obj[3], "satellite as_of", 64),
        )


@dataclass(frozen=True, slots=True)
class SyncResponse:
    """Server -> node: what was applied, the server's clock, and a page of others' changes."""

    TYPE: ClassVar[int] = 2

    capabilities: frozenset[str]
    acked_seq: int
    server_hlc: int
    pull: list[Change]
    pull_cursor: int
    more_pull: bool
    clamp_hlc: int
    conflicts: int
    refused: tuple[Refusal, ...] = ()
    # Empty: absent from the wire; a node that announced `satellites` reads absence as "none attached".
    satellites: tuple[Satellite, ...] = ()

    def to_wire(self, limits: Limits = DEFAULT_LIMITS) -> list[object]:
        wire: list[object] = [
            self.TYPE,
            to_mask(self.capabilities),
            _int(self.acked_seq, "acked_seq"),
            _hlc(self.server_hlc, "server_hlc"),
            _int(self.pull_cursor, "pull_cursor"),
            _bool(self.more_pull, "more_pull"),
            _hlc(self.clamp_hlc, "clamp_hlc"),
            _int(self.conflicts, "conflicts"),
            encode_batch(self.pull, with_origin=True, limits=limits),
        ]
        if self.refused or self.satellites:
            # absent when empty: an answer without refusals is byte for byte as before
            wire.append([r.to_wire() for r in self.refused])
        if self.satellites:
            wire.append([s.to_wire() for s in self.satellites])
        return wire

    @classmethod
    def from_wire(cls, obj: object, limits: Limits = DEFAULT_LIMITS) -> Self:
        count = len(obj) if type(obj) is list and len(obj) in (10, 11) else 9
        f = _fields(obj, cls.TYPE, count, "SyncResponse")
        refused: tuple[Refusal, ...] = ()
        satellites: tuple[Satellite, ...] = ()
        if len(f) == 11:
            if type(f[10]) is not list or not f[10] or len(f[10]) > _MAX_SATELLITES:
                raise MessageError(f"satellites is a non-empty array of at most {_MAX_SATELLITES} satellites")
            satellites = tuple(Satellite.from_wire(s, limits) for s in f[10])
        if len(f) >= 10:
            # Empty only when satellites follow.
            if type(f[9]) is not list or (not f[9] and len(f) == 10) or len(f[9]) > limits.max_array_len:
                raise MessageError("refused is a non-empty array of at most max_records refusals")
            refused = tuple(Refusal.from_wire(r, limits) for r in f[9])
        return cls(
            capabilities=from_mask(f[1]),
            acked_seq=_int(f[2], "acked_seq"),
            server_hlc=_hlc(f[3], "server_hlc"),
            pull_cursor=_int(f[4], "pull_cursor"),
            more_pull=_bool(f[5], "more_pull"),
            clamp_hlc=_hlc(f[6], "clamp_hlc"),
            conflicts=_int(f[7], "conflicts"),
            pull=decode_batch(f[8], limits, origin=None),
            refused=refused,
            satellites=satellites,
        )


def _check_detail(detail: object, max_chars: int) -> dict[str, object] | None:
    """nil, or a map with string keys whose every string, at any depth, fits ``max_chars``."""
    if detail is None:
        return None
    if type(detail) is not dict or not all(type(k) is str for k in detail):
        raise MessageError("ErrorResponse detail must be a map with string keys, or nil")
    # Iterative: msgpack allows 1024 levels, more than Python's recursion limit.
    todo: list[object] = [detail]
    while todo:
        item = todo.pop()
        if type(item) is str:
            if len(item) > max_chars:
                raise StringTooLong(f"a string of the ErrorResponse detail is longer than {max_chars} chars")
        elif type(item) is dict:
            todo.extend(item)
            todo.extend(item.values())
        elif type(item) is list:
            todo.extend(item)
    return cast("dict[str, object]", detail)


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    """Why a message was refused (``code`` as in errors.py), for exchanges without HTTP (SPEC 3.3).

    ``message`` and every string of ``detail`` are bounded by ``max_string_chars``
    like any string of the protocol.
    """

    TYPE: ClassVar[int] = 3

    code: str
    message: str
    detail: dict[str, object] | None = None

    @classmethod
    def from_error(
        cls, exc: ProtocolError, detail: dict[str, object] | None = None, limits: Limits = DEFAULT_LIMITS
    ) -> ErrorResponse:
        # Cut, not refused: an error about a long string must itself be sendable.
        return cls(exc.code, str(exc)[: limits.max_string_chars], detail)

    def to_wire(self, limits: Limits = DEFAULT_LIMITS) -> list[object]:
        return [
            self.TYPE,
            _str(self.code, "code", MAX_NODE_CHARS),
            _str(self.message, "message", limits.max_string_chars),
            _check_detail(self.detail, limits.max_string_chars),
        ]

    @classmethod
    def from_wire(cls, obj: object, limits: Limits = DEFAULT_LIMITS) -> Self:
        f = _fields(obj, cls.TYPE, 4, "ErrorResponse")
        return cls(
            code=_str(f[1], "code", MAX_NODE_CHARS),
            message=_str(f[2], "message", limits.max_string_chars),
            detail=_check_detail(f[3], limits.max_string_chars),
        )


Message: TypeAlias = SyncRequest | SyncResponse | ErrorResponse
_BY_TYPE: Final[dict[int, type[SyncRequest] | type[SyncResponse] | type[ErrorResponse]]] = {
    SyncRequest.TYPE: SyncRequest,
    SyncResponse.TYPE: SyncResponse,
    ErrorResponse.TYPE: ErrorResponse,
}


def encode_message(
    msg: Message,
    *,
    dictionary_id: int | None = DEFAULT_DICTIONARY_ID,
    level: int = MAX_LEVEL,
    limits: Limits = DEFAULT_LIMITS,
) -> bytes:
    """The framed bytes of ``msg``, ready for an HTTP body."""
    return encode_frame(msg.to_wire(limits), dictionary_id=dictionary_id, level=level, limits=limits)


def decode_message(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Message:
    """Frame bytes -> a checked message; anything else raises a ProtocolError."""
    obj = decode_frame(data, limits)
    if type(obj) is not list or not obj or type(obj[0]) is not int:
        raise MessageError("a message is an array led by its type number")
    cls = _BY_TYPE.get(obj[0])
    if cls is None:
        raise MessageError(f"unknown message type {obj[0]}")
    return cls.from_wire(obj, limits)
