"""SPEC.md must not drift from the code it describes."""

from __future__ import annotations

import re
from pathlib import Path

from protocol import capabilities, errors, hlc
from protocol.dictionary import DICTIONARIES
from protocol.limits import DEFAULT_LIMITS
from protocol.tables import TABLES

SPEC = (Path(__file__).resolve().parents[2] / "protocol" / "SPEC.md").read_text(encoding="utf-8")


def test_table_registry_matches() -> None:
    for t in TABLES:
        cols = ", ".join(f"{c.name}:{c.type.value}" for c in t.columns)
        line = f"| {t.wire_id} | {t.name}{' (national)' if t.national else ''} | {', '.join(t.key)} | {cols} |"
        assert line in SPEC, t.name


def test_error_codes_and_statuses_match() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        if isinstance(cls, type):
            assert re.search(rf"\| `{cls.code}` \| {cls.status} \|", SPEC), cls.code


def test_capability_bits_match() -> None:
    for name, bit in capabilities.BITS.items():
        assert f"| {bit} | `{name}` |" in SPEC


def test_dictionary_and_constants_match() -> None:
    for dict_id, sha256 in DICTIONARIES.items():
        assert f"| {dict_id} | `protocol/dictionaries/{dict_id}.zdict` |" in SPEC
        assert sha256 in SPEC
    assert f"MAX_SKEW_MS = {hlc.MAX_SKEW_MS}" in SPEC
    assert f"{DEFAULT_LIMITS.max_records:,}".replace(",", " ") in SPEC


def test_server_refusals_match() -> None:
    """Section 10.6 lists every code the central server answers with, at its status."""
    from protocol.auth import AuthHeaderError
    from server import errors as server_errors
    from server.ingest import InvalidRow

    classes = [AuthHeaderError, InvalidRow]
    classes += [c for c in vars(server_errors).values() if isinstance(c, type) and issubclass(c, Exception)]
    for cls in classes:
        if cls.code in ("server_error", "unauthorized"):
            continue  # roots of the tree, never raised themselves
        assert re.search(rf"\| `{cls.code}` \| {cls.status} \|", SPEC), cls.code
    assert "## 10. HTTP transport and sync semantics" in SPEC
