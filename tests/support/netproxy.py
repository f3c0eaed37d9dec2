"""A small TCP proxy for benchmarks and fault tests: counts, shapes and breaks a link.

    with NetProxy(server_port, rate_bps=32_000, latency_s=0.25) as proxy:
        httpx.get(f"http://127.0.0.1:{proxy.port}/...")
        print(proxy.stats())

Listens on 127.0.0.1 (an ephemeral port unless `port=` is given) and forwards
every accepted connection to 127.0.0.1:`target_port`. Threads, no asyncio, so it
runs beside any server or client (sync or async) in the same process.

Counting (`stats()`, `reset()`):
- `bytes_up` / `bytes_down`: TCP payload bytes client -> server and back, i.e.
  HTTP headers and bodies exactly as sent. TCP/IP headers are not counted.
- `connections`: TCP connections accepted.
- `requests` / `responses`: HTTP/1.x messages found by following the byte
  streams (Content-Length, chunked, read-to-close). With HTTP/1.1 and no
  pipelining (httpx, urllib, browsers) each request is one round trip, so
  `round_trips == requests`. A new TCP connection costs one more round trip on a
  real link (the handshake): `connections` is reported apart so callers can add
  it. Non-HTTP streams simply count 0 requests. Known limit: a response to a HEAD
  request is assumed to have the body its Content-Length announces (don't HEAD
  through the proxy when counting).

Shaping (applies to connections accepted after it is set; see `configure`):
- `rate_bps`: link rate in bits per second, each direction on its own (a full
  duplex link); `rate_up_bps` / `rate_down_bps` override one direction.
- `latency_s`: one-way delay added to every byte (RTT = 2 x latency_s).
- `handshake`: when latency is set, the first byte of a new connection leaves one
  RTT later, as after a real TCP handshake (default True).

Faults (per connection; `fault_connections=k` limits them to the first k
connections since start/reset, None = every connection):
- `cut_after`: close both sides once N bytes (up + down) went through; the byte
  that crosses N is not delivered. `cut_up_after` / `cut_down_after` count one
  direction only (`cut_down_after` truncates a response).
- `cut_mode`: "close" (FIN to both sides) or "reset" (RST, as a dropped radio
  link often looks to the far end's stack).
- `flip_at`: XOR `flip_mask` into the byte at this offset of the `flip_direction`
  ("up" or "down") stream of a connection; `flip_body_at` instead counts the
  offset inside each HTTP message body of that direction (decoded size of a
  chunked body; every message whose body is long enough gets flipped).
Counters of what the faults did: `cuts`, `flips`.
"""

from __future__ import annotations

import collections
import dataclasses
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["NetProxy", "ProxyStats", "HttpFramer"]

_CHUNK = 16384
_SEGMENT = 1460  # shaped links deliver at most one TCP segment's payload at a time


@dataclasses.dataclass(frozen=True)
class ProxyStats:
    bytes_up: int = 0
    bytes_down: int = 0
    connections: int = 0
    requests: int = 0
    responses: int = 0
    cuts: int = 0
    flips: int = 0

    @property
    def round_trips(self) -> int:
        """HTTP request/response exchanges (see the module docstring)."""
        return self.requests

    @property
    def total_bytes(self) -> int:
        return self.bytes_up + self.bytes_down

    def __sub__(self, other: ProxyStats) -> ProxyStats:
        return ProxyStats(*(a - b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other), strict=True)))

    def as_dict(self) -> dict[str, int]:
        return {**dataclasses.asdict(self), "round_trips": self.round_trips}


@dataclasses.dataclass(frozen=True)
class _Settings:
    rate_up_bps: float | None = None
    rate_down_bps: float | None = None
    latency_s: float = 0.0
    handshake: bool = True
    cut_after: int | None = None
    cut_up_after: int | None = None
    cut_down_after: int | None = None
    cut_mode: str = "close"
    flip_at: int | None = None
    flip_body_at: int | None = None
    flip_direction: str = "up"
    flip_mask: int = 0x01
    fault_connections: int | None = None

    @property
    def shaped(self) -> bool:
        return bool(self.rate_up_bps or self.rate_down_bps or self.latency_s)


class HttpFramer:
    """Follows one direction of an HTTP/1.x byte stream incrementally.

    `feed(data)` returns (messages completed, body spans) where each span is
    (start index in `data`, length, offset of its first byte in the message body).
    """

    def __init__(self, kind: str) -> None:
        if kind not in ("request", "response"):
            raise ValueError(kind)
        self.kind = kind
        self._state = "head"
        self._buf = bytearray()
        self._remaining = 0
        self._body_offset = 0
        self.broken = False  # not HTTP (or not understood): stop counting

    def feed(self, data: bytes) -> tuple[int, list[tuple[int, int, int]]]:
        done = 0
        spans: list[tuple[int, int, int]] = []
        i, n = 0, len(data)
        while i < n and not self.broken:
            st = self._state
            if st in ("head", "chunk_size", "trailer"):
                j = data.find(b"\n", i)
                end = n if j < 0 else j + 1
                self._buf += data[i:end]
                i = end
                if j < 0:
                    if len(self._buf) > 65536:
                        self.broken = True
                    continue
                if st == "head":
                    if self._buf.endswith((b"\r\n\r\n", b"\n\n")) or self._buf in (b"\r\n", b"\n"):
                        if self._buf.strip() == b"":  # stray CRLF between messages
                            self._buf.clear()
                            continue
                        head, self._buf = bytes(self._buf), bytearray()
                        done += self._start_body(head)
                elif st == "chunk_size":
                    line, self._buf = bytes(self._buf), bytearray()
                    try:
                        size = int(line.split(b";")[0].strip(), 16)
                    except ValueError:
                        self.broken = True
                        continue
                    if size == 0:
                        self._state = "trailer"
                    else:
                        self._remaining, self._state = size, "chunk_data"
                else:  # trailer: ends with an empty line
                    line, self._buf = bytes(self._buf), bytearray()
                    if line.strip() == b"":
                        self._state = "head"
                        done += 1
            elif st in ("body", "chunk_data"):
                take = min(self._remaining, n - i)
                spans.append((i, take, self._body_offset))
                self._body_offset += take
                self._remaining -= take
                i += take
                if self._remaining == 0:
                    if st == "body":
                        self._state = "head"
                        done += 1
                    else:
                        self._remaining, self._state = 2, "chunk_crlf"
            elif st == "chunk_crlf":
                take = min(self._remaining, n - i)
                self._remaining -= take
                i += take
                if self._remaining == 0:
                    self._state = "chunk_size"
            elif st == "eof_body":
                spans.append((i, n - i, self._body_offset))
                self._body_offset += n - i
                i = n
        return done, spans

    def close(self) -> int:
        """End of stream: a read-to-close body completes here."""
        if self._state == "eof_body":
            self._state = "head"
            return 1
        return 0

    def _start_body(self, head: bytes) -> int:
        lines = head.split(b"\n")
        start = lines[0].strip()
        headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        self._body_offset = 0
        if self.kind == "response":
            parts = start.split(b" ")
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
                self.broken = True
                return 0
            status = int(parts[1]) if parts[1].isdigit() else 0
            if 100 <= status < 200:
                return 0  # interim response: the real one follows
            if status in (204, 304):
                return 1
        elif not start.endswith((b"HTTP/1.1", b"HTTP/1.0")):
            self.broken = True
            return 0
        if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
            self._state = "chunk_size"
            return 0
        length = headers.get(b"content-length")
        if length is not None:
            try:
                self._remaining = int(length)
            except ValueError:
                self.broken = True
                return 0
            if self._remaining == 0:
                return 1
            self._state = "body"
            return 0
        if self.kind == "response":
            self._state = "eof_body"
            return 0
        return 1


_DATA, _EOF, _CUT = "data", "eof", "cut"


class _Link:
    """One direction of one connection: reads, applies faults, delivers (shaped or not)."""

    def __init__(self, conn: _Conn, direction: str, src: socket.socket, dst: socket.socket, rate: float | None):
        self.conn, self.direction, self.src, self.dst, self.rate = conn, direction, src, dst, rate
        self.framer = HttpFramer("request" if direction == "up" else "response")
        self.sent = 0  # bytes of this direction read so far (stream offset)
        self.queue: collections.deque[tuple[float, str, bytes]] = collections.deque()
        self.cond = threading.Condition()
        self.free_at = 0.0

    def run_reader(self) -> None:
        conn = self.conn
        while not conn.closing:
            try:
                data = self.src.recv(_CHUNK)
            except OSError:
                data = b""
            if not data:
                self._emit(_EOF)
                return
            data, cut = conn.account(self, data)
            if data:
                self._emit(_DATA, data)
            if cut:
                self._emit(_CUT)
                return

    def _emit(self, kind: str, data: bytes = b"") -> None:
        conn = self.conn
        if not conn.settings.shaped:
            if kind == _DATA:
                self._send(data)
            else:
                conn.end(self, cut=kind == _CUT)
            return
        now = time.monotonic()
        latency = conn.settings.latency_s
        with self.cond:
            if kind != _DATA:
                self.queue.append((max(now, self.free_at) + latency, kind, b""))
            else:
                for k in range(0, len(data), _SEGMENT):
                    seg = data[k : k + _SEGMENT]
                    start = max(now, self.free_at)
                    self.free_at = start + (len(seg) * 8 / self.rate if self.rate else 0.0)
                    self.queue.append((self.free_at + latency, _DATA, seg))
            self.cond.notify()

    def _send(self, data: bytes) -> bool:
        try:
            self.dst.sendall(data)
            return True
        except OSError:
            self.conn.end(self, cut=False, broken=True)
            return False

    def run_writer(self) -> None:
        """Shaped links only: deliver each queued segment at its due time."""
        conn = self.conn
        while True:
            with self.cond:
                while not self.queue and not conn.closing:
                    self.cond.wait(0.2)
                if conn.closing:
                    return
                due, kind, data = self.queue.popleft()
            delay = due - time.monotonic()
            if delay > 0 and conn.closed_event.wait(delay):
                return
            if kind != _DATA:
                conn.end(self, cut=kind == _CUT)
                return
            if not self._send(data):
                return


class _Conn:
    def __init__(self, proxy: NetProxy, client: socket.socket, server: socket.socket, faulty: bool):
        self.proxy = proxy
        self.settings = proxy._settings
        self.client, self.server = client, server
        self.faulty = faulty
        self.lock = threading.Lock()
        self.total = 0
        self.closing = False
        self.closed_event = threading.Event()
        self.ended: set[str] = set()
        s = self.settings
        self.up = _Link(self, "up", client, server, s.rate_up_bps)
        self.down = _Link(self, "down", server, client, s.rate_down_bps)
        if s.shaped and s.handshake and s.latency_s:
            self.up.free_at = time.monotonic() + 2 * s.latency_s
        self.threads: list[threading.Thread] = []
        self.started = threading.Event()

    def start(self) -> None:
        targets: list[Callable[[], None]] = [self.up.run_reader, self.down.run_reader]
        if self.settings.shaped:
            targets += [self.up.run_writer, self.down.run_writer]
        threads = [threading.Thread(target=t, daemon=True, name="netproxy-link") for t in targets]
        for th in threads:
            th.start()
        self.threads = threads
        self.started.set()  # only now may the connection be reaped

    def account(self, link: _Link, data: bytes) -> tuple[bytes, bool]:
        """Count `data`, apply faults; returns the bytes to deliver and whether to cut after them."""
        s, proxy = self.settings, self.proxy
        cut = False
        with self.lock:
            if self.faulty:
                limits = []
                if s.cut_after is not None:
                    limits.append(s.cut_after - self.total)
                own = s.cut_up_after if link.direction == "up" else s.cut_down_after
                if own is not None:
                    limits.append(own - link.sent)
                if limits and min(limits) < len(data):
                    data, cut = data[: max(0, min(limits))], True
            offset = link.sent
            link.sent += len(data)
            self.total += len(data)
        flips = 0
        if data and not link.framer.broken:
            messages, spans = link.framer.feed(data)
        else:
            messages, spans = 0, []
        if self.faulty and link.direction == s.flip_direction and data:
            buf = None
            if s.flip_at is not None and offset <= s.flip_at < offset + len(data):
                buf = bytearray(data)
                buf[s.flip_at - offset] ^= s.flip_mask
                flips += 1
            if s.flip_body_at is not None:
                for start, length, body_offset in spans:
                    if body_offset <= s.flip_body_at < body_offset + length:
                        buf = buf if buf is not None else bytearray(data)
                        buf[start + s.flip_body_at - body_offset] ^= s.flip_mask
                        flips += 1
            if buf is not None:
                data = bytes(buf)
        with proxy._lock:
            if link.direction == "up":
                proxy._counts["bytes_up"] += len(data)
                proxy._counts["requests"] += messages
            else:
                proxy._counts["bytes_down"] += len(data)
                proxy._counts["responses"] += messages
            proxy._counts["flips"] += flips
            if cut:
                proxy._counts["cuts"] += 1
        return data, cut

    def end(self, link: _Link, *, cut: bool, broken: bool = False) -> None:
        """`link`'s source finished (EOF), was cut, or its destination failed."""
        if cut or broken:
            self.close(reset=cut and self.settings.cut_mode == "reset")
            return
        if link.direction == "down":
            n = link.framer.close()
            if n:
                with self.proxy._lock:
                    self.proxy._counts["responses"] += n
        with self.lock:
            self.ended.add(link.direction)
            both = len(self.ended) == 2
        if both:
            self.close()
            return
        try:
            link.dst.shutdown(socket.SHUT_WR)  # pass the half-close on
        except OSError:
            self.close()

    def close(self, *, reset: bool = False) -> None:
        with self.lock:
            if self.closing:
                return
            self.closing = True
        self.closed_event.set()
        for sock in (self.client, self.server):
            try:
                if reset:
                    # An RST goes out when the socket is closed (in release); SHUT_RD sends
                    # nothing but wakes our reader threads.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    sock.shutdown(socket.SHUT_RD)
                else:
                    sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for link in (self.up, self.down):
            with link.cond:
                link.cond.notify_all()
        self.proxy._closed(self)

    def release(self) -> None:
        for sock in (self.client, self.server):
            sock.close()


class NetProxy:
    """See the module docstring. Thread-safe; `start()`/`stop()` or use as a context manager."""

    def __init__(
        self,
        target_port: int,
        *,
        target_host: str = "127.0.0.1",
        port: int = 0,
        rate_bps: float | None = None,
        rate_up_bps: float | None = None,
        rate_down_bps: float | None = None,
        latency_s: float = 0.0,
        handshake: bool = True,
        cut_after: int | None = None,
        cut_up_after: int | None = None,
        cut_down_after: int | None = None,
        cut_mode: str = "close",
        flip_at: int | None = None,
        flip_body_at: int | None = None,
        flip_direction: str = "up",
        flip_mask: int = 0x01,
        fault_connections: int | None = None,
    ) -> None:
        self.target = (target_host, target_port)
        self._want_port = port
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {f.name: 0 for f in dataclasses.fields(ProxyStats)}
        self._settings = _Settings()
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[_Conn] = set()
        self._finished: list[_Conn] = []
        self._faulted = 0
        self.configure(
            rate_bps=rate_bps,
            rate_up_bps=rate_up_bps,
            rate_down_bps=rate_down_bps,
            latency_s=latency_s,
            handshake=handshake,
            cut_after=cut_after,
            cut_up_after=cut_up_after,
            cut_down_after=cut_down_after,
            cut_mode=cut_mode,
            flip_at=flip_at,
            flip_body_at=flip_body_at,
            flip_direction=flip_direction,
            flip_mask=flip_mask,
            fault_connections=fault_connections,
        )

    # Settings ---------------------------------------------------------------
    def configure(self, **changes: Any) -> None:
        """Change shaping/faults for connections accepted from now on (same names as __init__).

        `rate_bps` sets both directions unless `rate_up_bps`/`rate_down_bps` are given.
        Resets the count of faulted connections."""
        if "rate_bps" in changes:
            rate = changes.pop("rate_bps")
            changes["rate_up_bps"] = changes.get("rate_up_bps") or rate
            changes["rate_down_bps"] = changes.get("rate_down_bps") or rate
        if changes.get("cut_mode", "close") not in ("close", "reset"):
            raise ValueError("cut_mode is 'close' or 'reset'")
        if changes.get("flip_direction", "up") not in ("up", "down"):
            raise ValueError("flip_direction is 'up' or 'down'")
        for name in ("rate_up_bps", "rate_down_bps"):
            if changes.get(name) is not None and changes[name] <= 0:
                raise ValueError(f"{name} must be positive")
        with self._lock:
            self._settings = dataclasses.replace(self._settings, **changes)
            self._faulted = 0

    @property
    def settings(self) -> dict[str, Any]:
        return dataclasses.asdict(self._settings)

    # Life cycle -------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("the proxy is not started")
        return self._listener.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> NetProxy:
        if self._listener is not None:
            raise RuntimeError("already started")
        self._stop.clear()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self._want_port))
            listener.listen(128)
            listener.setblocking(False)
        except BaseException:
            listener.close()
            raise
        self._listener = listener
        self._thread = threading.Thread(target=self._accept_loop, daemon=True, name="netproxy-accept")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, close every connection, join every thread."""
        if self._listener is None:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._listener.close()
        self._listener = None
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            c.close()
        self._reap(wait=True)

    def __enter__(self) -> NetProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Counters ---------------------------------------------------------------
    def stats(self) -> ProxyStats:
        with self._lock:
            return ProxyStats(**self._counts)

    def reset(self) -> ProxyStats:
        """Zero the counters (and the count of faulted connections); returns the values before."""
        with self._lock:
            before = ProxyStats(**self._counts)
            self._counts = {k: 0 for k in self._counts}
            self._faulted = 0
        return before

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._conns)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no connection is open (e.g. after a client closed its pool)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.open_connections == 0:
                self._reap(wait=True)
                return True
            time.sleep(0.01)
        return False

    # Internals --------------------------------------------------------------
    def _accept_loop(self) -> None:
        assert self._listener is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self._listener, selectors.EVENT_READ)
            while not self._stop.is_set():
                if not sel.select(timeout=0.05):
                    self._reap(wait=False)
                    continue
                try:
                    client, _ = self._listener.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    return
                self._open(client)

    def _open(self, client: socket.socket) -> None:
        client.setblocking(True)
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            server.connect(self.target)
        except OSError:
            server.close()
            client.close()  # the far end is down: the client sees the connection close
            with self._lock:
                self._counts["connections"] += 1
            return
        for sock in (client, server):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._counts["connections"] += 1
            limit = self._settings.fault_connections
            faulty = limit is None or self._faulted < limit
            if faulty:
                self._faulted += 1
            conn = _Conn(self, client, server, faulty)
            self._conns.add(conn)
        conn.start()

    def _closed(self, conn: _Conn) -> None:
        with self._lock:
            self._conns.discard(conn)
            self._finished.append(conn)

    def _reap(self, *, wait: bool) -> None:
        with self._lock:
            finished, self._finished = self._finished, []
        keep = []
        for conn in finished:
            # Closed while its threads were still being started: wait for them, or reap later.
            if not conn.started.is_set() and (not wait or not conn.started.wait(5.0)):
                keep.append(conn)
                continue
            if wait:
                for th in conn.threads:
                    if th is not threading.current_thread():
                        th.join()
            if all(not th.is_alive() for th in conn.threads):
                conn.release()
            else:
                keep.append(conn)
        if keep:
            with self._lock:
                self._finished.extend(keep)
