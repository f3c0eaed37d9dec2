"""Registry of zstd dictionaries by their one-byte frame id.

The bytes of dictionary N ship as the plain file ``dictionaries/N.zdict``
beside this module (SPEC.md section 7), so that an implementation in
another language reads the same file. Each is checked against its SHA-256
here when first loaded: a damaged install must not compress frames no
peer can read. A released id names its bytes forever: a new training run
gets a new id. Id 0 means plain zstd without a dictionary.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources
from typing import Final

import zstandard

from .errors import UnknownDictionary

__all__ = [
    "DEFAULT_DICTIONARY_ID",
    "DICTIONARIES",
    "NO_DICTIONARY",
    "dictionary_bytes",
    "dictionary_file",
    "get_dictionary",
]

NO_DICTIONARY: Final = 0
DEFAULT_DICTIONARY_ID: Final = 1

DICTIONARIES: Final[dict[int, str]] = {
    1: "32b63cba3b7e2d1f98318c049776b0030b0e42dd15eb35dd53ef4a27958c7660",
}
"""Every released dictionary id and the SHA-256 (hex) of its file's bytes."""


def dictionary_file(dict_id: int) -> str:
    """The file name of dictionary ``dict_id`` inside ``protocol/dictionaries/``."""
    return f"{dict_id}.zdict"


@cache
def dictionary_bytes(dict_id: int) -> bytes:
    """The bytes of dictionary ``dict_id``, checked; UnknownDictionary if it is not held intact."""
    expected = DICTIONARIES.get(dict_id)
    if expected is None:
        raise UnknownDictionary(f"unknown compression dictionary id {dict_id}")
    path = resources.files(__package__ or "protocol").joinpath("dictionaries", dictionary_file(dict_id))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnknownDictionary(f"compression dictionary {dict_id} is missing from this install: {exc}") from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        # Not held intact is not held at all: frames made with it would be unreadable elsewhere.
        raise UnknownDictionary(
            f"compression dictionary {dict_id} of this install is damaged (SHA-256 {actual}, expected {expected})"
        )
    return data


@cache
def get_dictionary(dict_id: int) -> zstandard.ZstdCompressionDict:
    """The dictionary with frame id ``dict_id``; UnknownDictionary if none."""
    return zstandard.ZstdCompressionDict(dictionary_bytes(dict_id), dict_type=zstandard.DICT_TYPE_FULLDICT)
