from __future__ import annotations

import re

import pytest

from protocol import errors
from protocol.errors import ERRORS_BY_CODE, ProtocolError, VersionError


def all_classes() -> list[type[ProtocolError]]:
    """The protocol's own subtree (the module also holds the project's base, MassarError)."""
    classes = [getattr(errors, n) for n in errors.__all__ if isinstance(getattr(errors, n), type)]
    return [c for c in classes if issubclass(c, ProtocolError)]


def test_codes_are_unique_snake_case_and_statuses_4xx() -> None:
    classes = all_classes()
    codes = [c.code for c in classes]
    assert len(set(codes)) == len(codes)
    for cls in classes:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", cls.code)
        assert 400 <= cls.status < 500
        assert ERRORS_BY_CODE[cls.code] is cls


def test_docstring_tree_lists_every_class() -> None:
    doc = errors.__doc__ or ""
    for cls in all_classes():
        assert re.search(rf"\b{cls.__name__}\s+{cls.code}\s+{cls.status}\b", doc), cls.__name__


@pytest.mark.parametrize(
    ("name", "parent"),
    [
        ("ChecksumError", "FrameError"),
        ("TruncatedFrame", "FrameError"),
        ("FrameTooLarge", "LimitError"),
        ("PayloadTooLarge", "LimitError"),
        ("TooManyRecords", "LimitError"),
        ("StringTooLong", "LimitError"),
        ("ClockError", "MessageError"),
    ],
)
def test_hierarchy(name: str, parent: str) -> None:
    assert issubclass(getattr(errors, name), getattr(errors, parent))


def test_version_error_says_who_upgrades() -> None:
    newer = VersionError(ours=1, theirs=2)
    assert "this side must upgrade" in str(newer)
    assert (newer.ours, newer.theirs) == (1, 2)
    assert "the peer must upgrade" in str(VersionError(ours=2, theirs=1))
    assert newer.status == 426 and newer.code == "unsupported_version"
