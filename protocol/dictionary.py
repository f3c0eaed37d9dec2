"""Registry of zstd dictionaries by their one-byte frame id.

A released id names its bytes forever: a new training run gets a new id
(and a new ``_dict_vN`` module) so that old peers never misread a frame.
Id 0 means plain zstd without a dictionary.
"""

from __future__ import annotations

from functools import cache
from typing import Final

import zstandard

from . import _dict_v1
from .errors import UnknownDictionary

__all__ = [
    "DEFAULT_DICTIONARY_ID",
    "DICTIONARIES",
    "NO_DICTIONARY",
    "dictionary_bytes",
    "get_dictionary",
]

NO_DICTIONARY: Final = 0
DEFAULT_DICTIONARY_ID: Final = 1

DICTIONARIES: Final[dict[int, bytes]] = {1: _dict_v1.DICTIONARY}


def dictionary_bytes(dict_id: int) -> bytes:
    try:
        return DICTIONARIES[dict_id]
    except KeyError:
        raise UnknownDictionary(f"unknown compression dictionary id {dict_id}") from None


@cache
def get_dictionary(dict_id: int) -> zstandard.ZstdCompressionDict:
    """The dictionary with frame id ``dict_id``; UnknownDictionary if none."""
    return zstandard.ZstdCompressionDict(dictionary_bytes(dict_id), dict_type=zstandard.DICT_TYPE_FULLDICT)
