"""Massar Sync wire protocol: pure encoding and decoding, no I/O.

See SPEC.md beside this file for the byte-level description.
"""

from __future__ import annotations

from . import capabilities, errors, hlc
from .batch import decode_batch, encode_batch
from .dictionary import DEFAULT_DICTIONARY_ID, get_dictionary
from .errors import ProtocolError
from .framing import decode_frame, encode_frame
from .limits import DEFAULT_LIMITS, Limits
from .messages import ErrorResponse, Message, SyncRequest, SyncResponse, decode_message, encode_message
from .records import Change, key_of
from .tables import BY_ID, BY_NAME, TABLES, ColumnType, TableSpec
from .version import PROTOCOL_VERSION

__all__ = [
    "BY_ID",
    "BY_NAME",
    "DEFAULT_DICTIONARY_ID",
    "DEFAULT_LIMITS",
    "PROTOCOL_VERSION",
    "TABLES",
    "Change",
    "ColumnType",
    "ErrorResponse",
    "Limits",
    "Message",
    "ProtocolError",
    "SyncRequest",
    "SyncResponse",
    "TableSpec",
    "capabilities",
    "decode_batch",
    "decode_frame",
    "decode_message",
    "encode_batch",
    "encode_frame",
    "encode_message",
    "errors",
    "get_dictionary",
    "hlc",
    "key_of",
]
