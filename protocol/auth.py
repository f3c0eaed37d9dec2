"""Request and response authentication: HMAC-SHA256 with a per-node key (SPEC.md section 10.2).

The school's token is printed once by `massar server add-school`; both sides
derive the signing key from it with scrypt, so the server stores the derived
key (a hash of the token), never the token. A request carries the node id, a
strictly increasing counter (replay protection) and a truncated MAC over
method, path, counter and body, each part's bytes joined by one 0x0A:

    Authorization: M <node>:<counter>:<mac>

The node id is the school code in this version; a device id under the
school will extend it as ``<school>.<device>`` (the ``.`` is reserved for
that and refused today). The response carries a MAC over the request's
counter, the status and the response body in the `S` header, so a node can
tell a tampered or foreign answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Final

from .errors import ProtocolError

__all__ = [
    "MAC_BYTES",
    "MAX_COUNTER",
    "SCHEME",
    "AuthHeaderError",
    "Credentials",
    "authorization_header",
    "macs_equal",
    "node_key_from_token",
    "parse_authorization",
    "request_mac",
    "response_mac",
]

SCHEME: Final = "M"
MAC_BYTES: Final = 16  # 128-bit MAC: forgery stays out of reach, 22 header bytes
MAX_COUNTER: Final = (1 << 63) - 1  # the server keeps the last counter in a signed 64-bit column
SCHOOL_ID: Final = r"[A-Z0-9]{3,12}"
"""A school code as `add-school` stores it (upper-cased): the node id of version 1."""
# Canonical decimal (no leading zero): the MAC covers these exact digits.
_COUNTER: Final = r"0|[1-9][0-9]{0,18}"
_HEADER: Final = re.compile(rf"^M ({SCHOOL_ID}):({_COUNTER}):([A-Za-z0-9_-]{{22}})$")
_SALT_PREFIX: Final = b"massar-sync-node:"


class AuthHeaderError(ProtocolError):
    """The Authorization header is missing or not of the form `M school:counter:mac`."""

    code = "bad_auth_header"
    status = 401


@dataclass(frozen=True)
class Credentials:
    school: str
    counter: int
    mac: str


def node_key_from_token(school: str, token: str) -> bytes:
    """The signing key both sides derive from the school's token (UTF-8 token, salt prefix + school)."""
    return hashlib.scrypt(token.encode(), salt=_SALT_PREFIX + school.encode(), n=2**14, r=8, p=1, dklen=32)


def _mac(key: bytes, *parts: bytes) -> str:
    # Fed part by part, never joined: a 4 MiB body is not copied to be signed.
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for i, part in enumerate(parts):
        if i:
            mac.update(b"\n")
        mac.update(part)
    digest = mac.digest()[:MAC_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def request_mac(key: bytes, method: str, path: str, counter: int, body: bytes) -> str:
    return _mac(key, method.upper().encode(), path.encode(), str(counter).encode(), body)


def response_mac(key: bytes, counter: int, status: int, body: bytes) -> str:
    return _mac(key, b"response", str(counter).encode(), str(status).encode(), body)


def authorization_header(school: str, counter: int, key: bytes, method: str, path: str, body: bytes) -> str:
    return f"{SCHEME} {school}:{counter}:{request_mac(key, method, path, counter, body)}"


def parse_authorization(value: str | None) -> Credentials:
    # fullmatch: `$` alone would let a trailing newline through.
    match = _HEADER.fullmatch(value or "")
    if not match:
        raise AuthHeaderError(
            "missing or malformed Authorization header "
            "(expected `M SCHOOL:COUNTER:MAC`, COUNTER in decimal without leading zero)"
        )
    counter = int(match.group(2))
    if counter > MAX_COUNTER:
        raise AuthHeaderError(f"request counter over {MAX_COUNTER} (a signed 64-bit integer)")
    return Credentials(match.group(1), counter, match.group(3))


def macs_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
