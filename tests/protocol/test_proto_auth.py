"""Authentication as SPEC.md section 10.2 states it: the vector printed there, and the header grammar."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import pytest

from protocol.auth import (
    MAX_COUNTER,
    AuthHeaderError,
    authorization_header,
    node_key_from_token,
    parse_authorization,
    request_mac,
    response_mac,
)
from tests.support.protocol_kit import spec_section

TEXT = spec_section("10.2")
VECTOR_BLOCK = TEXT[TEXT.index("Vector (checked by") :].split("```")[1]


def vector(name: str) -> str:
    """A value of the section's vector block, e.g. vector("key")."""
    match = re.search(rf"^{re.escape(name)} +(.+)$", VECTOR_BLOCK, re.M)
    assert match is not None, name
    return match.group(1).strip()


def stated(label: str) -> str:
    match = re.search(rf"{label}\s+`([^`]+)`", TEXT)
    assert match is not None, label
    return match.group(1)


TOKEN = stated("token")
SCHOOL = stated("school")
COUNTER = int(stated("counter"))
BODY = bytes.fromhex(re.search(r"body the four bytes\s+`([0-9a-f ]+)`", TEXT).group(1))  # type: ignore[union-attr]
KEY = node_key_from_token(SCHOOL, TOKEN)


def test_key_derivation_matches_the_spec_vector() -> None:
    assert KEY.hex() == vector("key")
    # The same with nothing of ours: scrypt of the UTF-8 token, salted with the prefix and the school.
    salt = ("massar-sync-node:" + SCHOOL).encode("utf-8")
    assert hashlib.scrypt(TOKEN.encode("utf-8"), salt=salt, n=2**14, r=8, p=1, dklen=32).hex() == vector("key")


def test_request_mac_input_is_the_parts_joined_by_one_newline() -> None:
    joined = bytes.fromhex(vector("request input"))
    assert joined == b"\n".join([b"POST", b"/s", str(COUNTER).encode(), BODY])
    assert BODY.count(b"\n") == 1, "the vector's body holds a 0x0A, sent raw"
    digest = hmac.new(KEY, joined, hashlib.sha256).digest()
    assert digest.hex() == vector("HMAC-SHA256")
    mac = base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    assert mac == request_mac(KEY, "POST", "/s", COUNTER, BODY)
    assert authorization_header(SCHOOL, COUNTER, KEY, "POST", "/s", BODY) == vector("Authorization")


def test_response_mac_matches_the_spec_vector() -> None:
    assert response_mac(KEY, COUNTER, 200, BODY) == vector("S (status 200)")


def test_the_vector_header_parses() -> None:
    creds = parse_authorization(vector("Authorization"))
    assert (creds.school, creds.counter, creds.mac) == (SCHOOL, COUNTER, vector("Authorization").rsplit(":", 1)[1])


MAC = "A" * 22


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(f"M 04512K:0:{MAC}", id="counter-zero"),
        pytest.param(f"M 04512K:{MAX_COUNTER}:{MAC}", id="counter-2-to-the-63-minus-1"),
        pytest.param(f"M ABC:1:{MAC}", id="school-of-3"),
        pytest.param(f"M ABCDEFGHIJ12:1:{'_-' * 11}", id="school-of-12"),
    ],
)
def test_grammar_accepts(value: str) -> None:
    parse_authorization(value)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param(f"M 04512K:{MAX_COUNTER + 1}:{MAC}", id="counter-2-to-the-63"),
        pytest.param(f"M 04512K:{'9' * 19}:{MAC}", id="counter-19-nines"),
        pytest.param(f"M 04512K:01:{MAC}", id="counter-leading-zero"),
        pytest.param(f"M 04512K:-1:{MAC}", id="negative-counter"),
        pytest.param(f"M 04512K:+1:{MAC}", id="signed-counter"),
        pytest.param(f"M 04512k:1:{MAC}", id="lower-case-school"),
        pytest.param(f"M AB:1:{MAC}", id="school-of-2"),
        pytest.param(f"M ABCDEFGHIJ123:1:{MAC}", id="school-of-13"),
        pytest.param(f"M 04512K.2:1:{MAC}", id="dot-in-node-id"),
        pytest.param(f"M 04512K:1:{MAC[:21]}", id="mac-of-21"),
        pytest.param(f"M 04512K:1:{MAC}=", id="mac-padded"),
        pytest.param(f"M 04512K:1:{MAC[:21]}+", id="mac-base64-not-url"),
        pytest.param(f"M 04512K:1:{MAC}\n", id="trailing-newline"),
        pytest.param(f"m 04512K:1:{MAC}", id="lower-case-scheme"),
        pytest.param(f"M  04512K:1:{MAC}", id="two-spaces"),
        pytest.param(f"Bearer 04512K:1:{MAC}", id="other-scheme"),
        pytest.param(f"M 04512K:١:{MAC}", id="arabic-indic-digit"),
    ],
)
def test_grammar_refuses(value: str | None) -> None:
    with pytest.raises(AuthHeaderError) as caught:
        parse_authorization(value)
    assert (caught.value.code, caught.value.status) == ("bad_auth_header", 401)
