"""bench/netproxy.py: the counting, shaping, fault-injecting TCP proxy (also used by fault tests)."""

from __future__ import annotations

import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.netproxy import HttpFramer, NetProxy
from tests.support.servers import ServerThread


async def _echo(request: Request) -> Response:
    try:
        body = await request.body()
    except ClientDisconnect:
        return Response(status_code=499)
    return Response(body, media_type="application/octet-stream")


async def _big(request: Request) -> Response:
    return Response(b"x" * int(request.query_params.get("n", "100000")))


@pytest.fixture(scope="module")
def server():
    app = Starlette(routes=[Route("/echo", _echo, methods=["POST"]), Route("/big", _big)])
    with ServerThread(app) as srv:
        yield srv


def test_counts_bytes_connections_and_requests(server):
    with NetProxy(server.port) as proxy, httpx.Client(base_url=proxy.url) as client:
        sent = []
        for n in (10, 1000, 0):
            r = client.post("/echo", content=b"a" * n)
            assert r.content == b"a" * n
            sent.append(r.request)
        assert client.get("/big", params={"n": 5000}).content == b"x" * 5000
        client.close()
        assert proxy.wait_idle()
        stats = proxy.stats()
        assert stats.connections == 1
        assert stats.requests == stats.responses == stats.round_trips == 4
        assert stats.bytes_up > 1010 and stats.bytes_down > 6010
        before = proxy.reset()
        assert before == stats and proxy.stats().bytes_up == 0


def test_cut_after_n_bytes_then_clean_connections(server):
    with NetProxy(server.port, cut_after=3000, fault_connections=1) as proxy:
        with httpx.Client(base_url=proxy.url) as client, pytest.raises(httpx.HTTPError):
            client.get("/big", params={"n": 10000})
        assert proxy.wait_idle()
        stats = proxy.stats()
        assert stats.cuts == 1 and stats.bytes_up + stats.bytes_down == 3000 and stats.responses == 0
        with httpx.Client(base_url=proxy.url) as client:  # only the first connection was faulty
            assert len(client.get("/big", params={"n": 10000}).content) == 10000


@pytest.mark.parametrize("mode", ["close", "reset"])
def test_cut_upload(server, mode):
    with NetProxy(server.port, cut_up_after=2000, cut_mode=mode) as proxy:
        with httpx.Client(base_url=proxy.url) as client, pytest.raises(httpx.HTTPError):
            client.post("/echo", content=b"a" * 50_000)
        assert proxy.wait_idle()
        assert proxy.stats().bytes_up == 2000


def test_flip_a_body_byte(server):
    with NetProxy(server.port, flip_body_at=5, flip_mask=0x20) as proxy, httpx.Client(base_url=proxy.url) as client:
        assert client.post("/echo", content=b"AAAAAAAAAA").content == b"AAAAAaAAAA"
        proxy.configure(flip_body_at=None, flip_at=0)
        with httpx.Client(base_url=proxy.url) as other:  # a new connection: "POST" becomes "QOST"
            assert other.post("/echo", content=b"x").status_code >= 400
        assert proxy.stats().flips == 2


def test_rate_and_latency(server):
    with NetProxy(server.port, rate_bps=200_000, latency_s=0.05) as proxy, httpx.Client(base_url=proxy.url) as client:
        t0 = time.monotonic()
        client.get("/big", params={"n": 25_000})
        elapsed = time.monotonic() - t0
        stats = proxy.stats()
    ideal = stats.bytes_down * 8 / 200_000 + 2 * 0.05  # download time + one round trip
    assert ideal <= elapsed < ideal + 2.0


def test_chunked_and_read_to_close_framing():
    up = HttpFramer("request")
    stream = (
        b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nGET /b HTTP/1.1\r\n\r\n"
    )
    total, spans = 0, []
    for i in range(0, len(stream), 7):  # fed in small pieces
        n, s = up.feed(stream[i : i + 7])
        total += n
        spans += s
    assert total == 2 and sum(length for _, length, _ in spans) == 5
    down = HttpFramer("response")
    assert down.feed(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")[0] == 1
    assert down.feed(b"HTTP/1.0 200 OK\r\n\r\nbody until close")[0] == 0
    assert down.close() == 1


def test_stop_with_open_connections_and_target_down(server):
    proxy = NetProxy(server.port).start()
    client = httpx.Client(base_url=proxy.url)
    client.get("/big", params={"n": 10})  # the pooled connection stays open
    proxy.stop()
    client.close()
    dead = NetProxy(1).start()  # nothing listens on port 1
    try:
        with httpx.Client(base_url=dead.url) as c, pytest.raises(httpx.HTTPError):
            c.get("/")
    finally:
        dead.stop()
