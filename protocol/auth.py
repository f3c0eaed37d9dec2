"""Request and response authentication: HMAC-SHA256 with a per-school key.

The school's token is printed once by `massar server add-school`; both sides
derive the signing key from it with scrypt, so the server stores the derived
key (a hash of the token), never the token. A request carries the school, a
strictly increasing counter (replay protection) and a truncated MAC over
method, path, counter and body:

    Authorization: M <school>:<counter>:<mac>

The response carries a MAC over the request's counter and the response body
in the `S` header, so a node can tell a tampered or foreign answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from .errors import ProtocolError

SCHEME = "M"
MAX_COUNTER = 2**63 - 1  # the counter is stored as a signed 64-bit integer
MAC_BYTES = 16  # 128-bit MAC: forgery stays out of reach, 22 header bytes
_HEADER = re.compile(r"^M ([A-Z0-9]{3,12}):([0-9]{1,19}):([A-Za-z0-9_-]{22})$")


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
    """The signing key both sides derive from the school's token."""
    return hashlib.scrypt(token.encode(), salt=b"massar-sync-node:" + school.encode(), n=2**14, r=8, p=1, dklen=32)


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
    match = _HEADER.match(value or "")
    if not match:
        raise AuthHeaderError("missing or malformed Authorization header (expected `M SCHOOL:COUNTER:MAC`)")
    counter = int(match.group(2))
    if counter > MAX_COUNTER:
        raise AuthHeaderError(f"request counter over {MAX_COUNTER} (a signed 64-bit integer)")
    return Credentials(match.group(1), counter, match.group(3))


def macs_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
