"""SPEC.md section 11, HTTP lines (H1..H12), against a running central server.

Each vector breaks its line (and often a later one too, to pin the order);
the expected status and code are read from the SPEC's table. Requests are
written by hand on a socket so that every header is what the vector says.
A request that must be caught between its headers and its body announces
`Expect: 100-continue`: the server sends `100 Continue` only when it starts
reading the body, i.e. once the header checks and the body budget are done.
"""

from __future__ import annotations

import json
import re
import socket
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from protocol import ErrorResponse, SyncRequest, capabilities, encode_message
from protocol.auth import authorization_header, node_key_from_token
from protocol.framing import encode_frame
from server.app import create_app
from server.intake import IntakePolicy
from server.schools import add_school
from server.store import open_central
from tests.support.servers import ServerThread

SPEC = (Path(__file__).resolve().parents[2] / "protocol" / "SPEC.md").read_text(encoding="utf-8")
SCHOOL = "04512K"
H = 1_762_934_400_000 << 16
MAX_FRAME = 4 * 1024 * 1024
# A tight body policy so that `busy` and `body_too_slow` come in about a second.
TIGHT = IntakePolicy(
    budget_bytes=1000, wait_seconds=0.3, min_bytes_per_second=100_000, grace_seconds=1.0, total_seconds=3
)


def spec_http_lines() -> dict[str, tuple[int, str]]:
    section = SPEC[SPEC.index("## 11. Conformance") :]
    found = re.findall(r"^\| (H[0-9]+) \| .* \| ([0-9]{3}) `([a-z_]+)` \|$", section, re.M)
    return {line: (int(status), code) for line, status, code in found}


def spec_status(code: str) -> int:
    match = re.search(rf"^\| `{code}` \| ([0-9]{{3}}) \|", SPEC, re.M)
    assert match, code
    return int(match.group(1))


@dataclass
class Answer:
    status: int
    body: dict[str, object]
    content_type: str


class Http:
    """One raw HTTP/1.1 connection to the server."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buffer = b""

    def send_head(self, headers: dict[str, str]) -> None:
        lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.sock.sendall(f"POST /s HTTP/1.1\r\nHost: central\r\n{lines}\r\n".encode())

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _head(self) -> tuple[int, dict[str, str]]:
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"connection closed before an answer: {self.buffer!r}")
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *fields = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (f.partition(":") for f in fields)}
        return int(status_line.split(" ")[1]), headers

    def wait_continue(self) -> None:
        status, _ = self._head()
        assert status == 100, status

    def answer(self) -> Answer:
        status, headers = self._head()
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buffer += chunk
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        parsed = json.loads(body) if headers.get("content-type", "").startswith("application/json") else {}
        return Answer(status, parsed, headers.get("content-type", ""))

    def close(self) -> None:
        self.sock.close()


@dataclass
class Server:
    port: int
    key: bytes
    counter: int = 0

    def next(self) -> int:
        self.counter = max(self.counter + 1, int(time.time() * 1000))
        return self.counter

    def signed(self, body: bytes, counter: int | None = None, key: bytes | None = None) -> dict[str, str]:
        counter = self.next() if counter is None else counter
        auth = authorization_header(SCHOOL, counter, key or self.key, "POST", "/s", body)
        return {"Authorization": auth, "Content-Length": str(len(body))}

    def post(self, headers: dict[str, str], body: bytes = b"") -> Answer:
        http = Http(self.port)
        try:
            http.send_head(headers)
            if body:
                http.send(body)
            return http.answer()
        finally:
            http.close()


def start_server(folder: Path, intake: IntakePolicy | None = None) -> tuple[ServerThread, Server]:
    db = open_central(folder, create=True)
    try:
        token = add_school(db, SCHOOL, "Collège 04512K")
    finally:
        db.conn.close()
    server = ServerThread(create_app(folder, intake=intake), lifespan="on").start()
    return server, Server(server.port, node_key_from_token(SCHOOL, token))


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    """The default server, and one with a tight body policy."""
    started = [start_server(tmp_path_factory.mktemp("central")), start_server(tmp_path_factory.mktemp("tight"), TIGHT)]
    try:
        yield {"default": started[0][1], "tight": started[1][1]}
    finally:
        for threaded, _ in started:
            threaded.stop()


def with_crc(head: bytes) -> bytes:
    return head + zlib.crc32(head).to_bytes(4, "big")


def empty_request(node: str = SCHOOL, caps: frozenset[str] = capabilities.SUPPORTED) -> bytes:
    return encode_message(SyncRequest(node, caps, 0, [], H))


def head_only(s: Server, **override: str) -> dict[str, str]:
    headers = s.signed(empty_request())
    headers.update(override)
    return {k: v for k, v in headers.items() if v}


def busy(servers: dict[str, Server]) -> Answer:
    s = servers["tight"]
    holder = Http(s.port)
    try:
        holder.send_head({**head_only(s, **{"Content-Length": str(TIGHT.budget_bytes)}), "Expect": "100-continue"})
        holder.wait_continue()  # the holder's 1000 bytes are reserved: the budget is full
        return s.post(head_only(s))
    finally:
        holder.close()


def too_slow(servers: dict[str, Server]) -> Answer:
    s = servers["tight"]
    http = Http(s.port)
    try:
        http.send_head(head_only(s, **{"Content-Length": "100"}))
        http.send(b"\x00" * 10)  # then nothing: the server gives up after its grace period
        return http.answer()
    finally:
        http.close()


def replayed(servers: dict[str, Server]) -> Answer:
    """A signed request whose counter another request burns between its headers and its body."""
    s = servers["default"]
    body = empty_request()
    counter = s.next()
    first = Http(s.port)
    try:
        first.send_head({**s.signed(body, counter), "Expect": "100-continue"})
        first.wait_continue()  # its headers passed: the counter was fresh then
        overtaking = empty_request()
        assert s.post(s.signed(overtaking), overtaking).status == 200
        first.send(body)
        return first.answer()
    finally:
        first.close()


def signed_body(body: bytes) -> Callable[[dict[str, Server]], Answer]:
    def send(servers: dict[str, Server]) -> Answer:
        s = servers["default"]
        return s.post(s.signed(body), body)

    return send


def headers_only(**override: str) -> Callable[[dict[str, Server]], Answer]:
    def send(servers: dict[str, Server]) -> Answer:
        s = servers["default"]
        return s.post(head_only(s, **override))

    return send


def forged(body: bytes) -> Callable[[dict[str, Server]], Answer]:
    def send(servers: dict[str, Server]) -> Answer:
        s = servers["default"]
        return s.post(s.signed(body, key=b"\x00" * 32), body)

    return send


A22 = "A" * 22
VECTORS: dict[str, dict[str, Callable[[dict[str, Server]], Answer]]] = {
    "H1": {
        "leading-zero-counter-unknown-school-huge-length": headers_only(
            Authorization=f"M ZZZ999:01:{A22}", **{"Content-Length": str(10 * MAX_FRAME)}
        ),
        "counter-2-to-the-63": headers_only(Authorization=f"M {SCHOOL}:{2**63}:{A22}"),
        "device-part-reserved": headers_only(Authorization=f"M {SCHOOL}.2:1:{A22}"),
        "no-authorization": headers_only(Authorization=""),
    },
    "H2": {
        "unknown-school-no-length": headers_only(Authorization=f"M ZZZ999:1:{A22}", **{"Content-Length": ""}),
        "counter-0-never-fresh-huge-length": headers_only(
            Authorization=f"M {SCHOOL}:0:{A22}", **{"Content-Length": str(10 * MAX_FRAME)}
        ),
    },
    "H3": {"no-content-length": headers_only(**{"Content-Length": ""})},
    "H4": {"over-max-frame-bytes": headers_only(**{"Content-Length": str(MAX_FRAME + 1)})},
    "H5": {"budget-full": busy},
    "H6": {"ten-bytes-then-nothing": too_slow},
    "H7": {
        "wrong-key-garbage-body": forged(b"junk that is not a frame"),
        "wrong-key-valid-body": forged(empty_request()),
    },
    "H8": {"counter-burnt-meanwhile": replayed},
    "H10": {"an-error-response": signed_body(encode_message(ErrorResponse("bad_frame", "x"), dictionary_id=0))},
    "H11": {
        "speaks-for-another-school-without-capabilities": signed_body(empty_request("OTHER1", frozenset())),
    },
    "H12": {"no-capabilities": signed_body(empty_request(caps=frozenset()))},
}

# H9: the body's own checks (F1..B13) keep their code and take their status from section 9.
BODY_VECTORS = {
    "bad_frame": b"junk that is not a frame",
    "unsupported_version": b"MZ\x02" + bytes(20),
    "bad_clock": encode_frame([1, SCHOOL, 15, 0, 1 << 63, True, [[], None]], dictionary_id=0),
    "string_too_long": encode_frame([1, "S" * 65, 15, 0, H, True, [[], None]], dictionary_id=0),
    "too_many_records": encode_frame(
        [1, SCHOOL, 15, 0, H, True, [[[14, 100_001, 1, 1, 0, 0, 0, None, []]], None]], dictionary_id=0
    ),
    "unknown_dictionary": with_crc(b"MZ\x01\x07\x01\x00"),
}

LINES = spec_http_lines()
CASES = [pytest.param(line, send, id=f"{line}-{name}") for line, d in VECTORS.items() for name, send in d.items()]


def test_every_http_line_has_vectors() -> None:
    assert set(VECTORS) | {"H9"} == set(LINES) | {"H9"} and len(LINES) >= 11
    assert "| H9 | body: lines F1 to B13 |" in SPEC


@pytest.mark.parametrize(("line", "send"), CASES)
def test_http_vector_gets_the_answer_of_its_line(
    servers: dict[str, Server], line: str, send: Callable[[dict[str, Server]], Answer]
) -> None:
    answer = send(servers)
    status, code = LINES[line]
    assert (answer.status, answer.body.get("error")) == (status, code), answer
    # Section 10.6: a refusal is JSON with a machine-readable `error` and a `message` for people.
    assert answer.content_type.startswith("application/json")
    assert isinstance(answer.body.get("message"), str)


@pytest.mark.parametrize("code", list(BODY_VECTORS))
def test_body_errors_keep_their_code_over_http(servers: dict[str, Server], code: str) -> None:
    """H9: once signed and counted, a body refused by the decoder answers its code at section 9's status."""
    s = servers["default"]
    body = BODY_VECTORS[code]
    answer = s.post(s.signed(body), body)
    assert (answer.status, answer.body.get("error")) == (spec_status(code), code), answer
    assert answer.content_type.startswith("application/json")
