from __future__ import annotations

import hashlib

import pytest

from protocol import capabilities, dictionary
from protocol.capabilities import REQUIRED, SUPPORTED, best_dictionary, negotiate
from protocol.dictionary import DEFAULT_DICTIONARY_ID, DICTIONARIES, dictionary_bytes, get_dictionary
from protocol.errors import CapabilityError, UnknownDictionary
from tests.support.protocol_kit import ROOT


def test_required_are_supported() -> None:
    assert REQUIRED <= SUPPORTED
    assert capabilities.dictionary_capability(DEFAULT_DICTIONARY_ID) in SUPPORTED


def test_negotiate_keeps_common_and_ignores_unknown() -> None:
    theirs = SUPPORTED | {"from-the-future"}
    assert negotiate(SUPPORTED, theirs) == SUPPORTED
    assert negotiate(SUPPORTED, SUPPORTED - {capabilities.HLC_CLAMP}) == SUPPORTED - {capabilities.HLC_CLAMP}


def test_negotiate_refuses_a_missing_required_capability() -> None:
    with pytest.raises(CapabilityError, match="tombstones") as info:
        negotiate(SUPPORTED, SUPPORTED - {capabilities.TOMBSTONES})
    assert info.value.code == "missing_capability"


def test_masks() -> None:
    assert capabilities.to_mask(SUPPORTED) == 0b11111
    assert capabilities.from_mask(0b11111) == SUPPORTED
    assert capabilities.from_mask(1 << 63 | 1) == {capabilities.COLUMNAR1}
    assert len(set(capabilities.BITS.values())) == len(capabilities.BITS)


def test_best_dictionary() -> None:
    assert best_dictionary(SUPPORTED) == DEFAULT_DICTIONARY_ID
    assert best_dictionary({"zstd-dict99"}) == 0
    assert best_dictionary(set()) == 0


def test_dictionary_v1_is_the_released_one() -> None:
    data = dictionary_bytes(1)
    # Released ids are immutable: a new dictionary needs a new id.
    assert hashlib.sha256(data).hexdigest() == DICTIONARIES[1]
    assert (ROOT / "protocol" / "dictionaries" / "1.zdict").read_bytes() == data
    assert data[:4] == bytes.fromhex("37a430ec")  # ZDICT magic: a full zstd dictionary
    assert len(data) == 16 * 1024
    assert get_dictionary(1).as_bytes() == data


def test_damaged_dictionary_is_not_held(monkeypatch: pytest.MonkeyPatch) -> None:
    """The file is checked against its SHA-256 when loaded: a damaged install refuses to use it."""
    dictionary_bytes.cache_clear()
    monkeypatch.setitem(DICTIONARIES, 1, "0" * 64)
    try:
        with pytest.raises(UnknownDictionary, match="damaged"):
            dictionary.dictionary_bytes(1)
    finally:
        monkeypatch.undo()
        dictionary_bytes.cache_clear()
    assert hashlib.sha256(dictionary_bytes(1)).hexdigest() == DICTIONARIES[1]


@pytest.mark.parametrize("dict_id", [0, 2, 255])
def test_unknown_dictionary(dict_id: int) -> None:
    with pytest.raises(UnknownDictionary):
        get_dictionary(dict_id)
