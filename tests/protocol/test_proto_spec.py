"""SPEC.md must not drift from the code it describes: tables, error codes, limits, constants."""

from __future__ import annotations

import re

import pytest

from protocol import auth, bundle, capabilities, errors, hlc  # noqa: F401  (bundle: its BundleError is in section 9)
from protocol.dictionary import DICTIONARIES
from protocol.limits import DEFAULT_LIMITS, MAX_MAP_LEN, MAX_NESTING, MIN_ARRAY_LEN
from protocol.messages import MAX_NODE_CHARS
from protocol.tables import TABLES
from tests.support.protocol_kit import SPEC, spec_section


def spaced(n: int) -> str:
    """A number as the SPEC writes it: thin groups of three separated by spaces (100 000)."""
    return f"{n:,}".replace(",", " ")


def code_rows(text: str) -> dict[str, int]:
    """{code: status} of every `| `code` | status |` row in ``text``."""
    return {code: int(status) for code, status in re.findall(r"^\| `([a-z_]+)` \| ([0-9]{3}) \|", text, re.M)}


def subtree(root: type[Exception]) -> list[type[Exception]]:
    out, todo = [], [root]
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo.extend(cls.__subclasses__())
    return out


def protocol_error_classes() -> list[type[Exception]]:
    """The refusals of a peer's bytes (section 9); the Authorization header's own error is HTTP's (10.6)."""
    return [c for c in subtree(errors.ProtocolError) if c is not auth.AuthHeaderError]


def server_error_classes() -> list[type[Exception]]:
    from server import errors as server_errors

    classes = [*subtree(server_errors.ServerError), auth.AuthHeaderError]
    return [c for c in classes if c is not server_errors.ServerError]  # the root, never raised itself


def statuses(classes: list[type[Exception]]) -> dict[str, int]:
    return {c.code: c.status for c in classes}  # type: ignore[attr-defined]


def test_table_registry_matches() -> None:
    for t in TABLES:
        cols = ", ".join(f"{c.name}:{c.type.value}" for c in t.columns)
        line = f"| {t.wire_id} | {t.name}{' (national)' if t.national else ''} | {', '.join(t.key)} | {cols} |"
        assert line in SPEC, t.name


def test_section_9_is_exactly_the_protocol_error_tree() -> None:
    """Both ways: every class is listed at its status, and every listed code is a class."""
    assert code_rows(spec_section("9")) == statuses(protocol_error_classes())


def test_section_10_6_is_exactly_what_the_server_adds() -> None:
    """Both ways: every code the server answers besides section 9's is listed at its status, and no other."""
    assert code_rows(spec_section("10.6")) == statuses(server_error_classes())


def test_conformance_lines_name_real_codes_at_their_status() -> None:
    """Every code of section 11 exists, and an HTTP line states the status the code is answered with."""
    known = statuses(protocol_error_classes()) | statuses(server_error_classes())
    lines = re.findall(r"^\| ([A-Z][0-9]+) \| .* \| (?:([0-9]{3}) )?`([a-z_]+)` \|$", spec_section("11"), re.M)
    assert len(lines) >= 50
    for line, status, code in lines:
        assert code in known, (line, code)
        if status:
            assert int(status) == known[code], (line, code)
    ids = [line for line, _, _ in lines]
    assert len(ids) == len(set(ids)), "a line id is used twice"


def test_capability_bits_match() -> None:
    for name, bit in capabilities.BITS.items():
        assert f"| {bit} | `{name}` |" in SPEC


def test_dictionaries_match() -> None:
    for dict_id, sha256 in DICTIONARIES.items():
        assert f"| {dict_id} | `protocol/dictionaries/{dict_id}.zdict` |" in SPEC
        assert sha256 in SPEC


def test_constants_match() -> None:
    assert f"MAX_SKEW_MS = {hlc.MAX_SKEW_MS}" in SPEC
    assert f"`node` and `code` ≤ {MAX_NODE_CHARS} chars" in SPEC


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        ("max_frame_bytes", DEFAULT_LIMITS.max_frame_bytes, "frame_too_large"),
        ("max_payload_bytes", DEFAULT_LIMITS.max_payload_bytes, "payload_too_large"),
        ("max_records", DEFAULT_LIMITS.max_records, "too_many_records"),
        ("max_string_chars", DEFAULT_LIMITS.max_string_chars, "string_too_long"),
    ],
)
def test_limits_table_matches(name: str, value: int, code: str) -> None:
    """Section 2: each limit's default and the error its violation gets."""
    assert re.search(rf"^\| `{name}` \| {spaced(value)}( \([^)]*\))? \| .* \| `{code}` \|$", spec_section("2"), re.M)


@pytest.mark.parametrize(
    ("item", "value", "code"),
    [
        ("str", DEFAULT_LIMITS.max_string_bytes, "string_too_long"),
        ("bin", DEFAULT_LIMITS.max_bin_bytes, "string_too_long"),
        ("array", DEFAULT_LIMITS.max_array_len, "too_many_records"),
        ("map", MAX_MAP_LEN, "too_many_records"),
        ("nesting", MAX_NESTING, "malformed_message"),
    ],
)
def test_derived_msgpack_limits_match(item: str, value: int, code: str) -> None:
    assert re.search(rf"^\| {item} \| [^|]*\b{spaced(value)}\b[^|]* \| `{code}` \|$", spec_section("2"), re.M)


def test_derived_limits_formulas_match() -> None:
    assert "max(`max_records`, 64)" in SPEC and MIN_ARRAY_LEN == 64
    assert "4 × `max_string_chars` bytes" in SPEC
    assert "max(4 × `max_string_chars`, 8 × `max_records`) bytes" in SPEC


def test_nesting_limit_is_the_msgpack_decoders() -> None:
    """The stated nesting is the C decoder's stack: if msgpack ever changes it, the SPEC must follow."""
    import msgpack

    assert msgpack.Unpacker.__module__ == "msgpack._cmsgpack", "the pure-Python msgpack has no such stack"
    msgpack.unpackb(b"\x91" * (MAX_NESTING - 1) + b"\x90")
    with pytest.raises(msgpack.StackError):
        msgpack.unpackb(b"\x91" * MAX_NESTING + b"\x90")


def test_authorization_grammar_matches() -> None:
    text = spec_section("10.2")
    assert f"`{auth._HEADER.pattern}`" in text
    assert f"`{auth.SCHOOL_ID}`" in text
    assert spaced(auth.MAX_COUNTER + 1).replace(" ", "") == str(2**63) and "value <= 2^63-1" in text


def test_server_refusals_are_json_in_both_sections() -> None:
    """Sections 9 and 10.6 say the same thing: JSON over HTTP, never a frame."""
    assert "never a frame" in spec_section("9")
    assert "The body is never a frame" in spec_section("10.6")
    assert '{"error": "scope_violation", "message":' in spec_section("10.6")
