"""Scenario 5b's harness: a central server in its own process, the schools' clients in others.

Real schools are separate machines: a school's CPU (finding its changes, zstd level 19)
never stalls the centre. In one process it does, through the GIL: the old harness ran the
200 clients as threads beside the server's event loop, and a sync's latency was mostly
other clients' CPU. Here

    centre = CentreProcess("ours", workdir, location=...)  # `python -m bench.fleet serve ...`, 127.0.0.1:0
    fleet = Fleet(specs, processes=4, threads=13)          # worker processes, each a share of the schools
    fleet.setup(); fleet.prepare(); result = fleet.run()   # latencies measured in the clients
    centre.stop()                                          # -> per-request server times

On a machine with fewer cores than schools the clients still compete with the server for
the cores (the kernel shares them); they no longer share its interpreter lock.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class RequestTimes:
    """ASGI wrapper: when each HTTP request came (epoch seconds) and its wall seconds, from its head
    to its last body byte sent."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seconds: list[tuple[float, float]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        at, t0 = time.time(), time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.seconds.append((at, time.perf_counter() - t0))


# ---------------------------------------------------------------------------
# The server's process


def _build_app(system: str, workdir: Path, location: str, creds: dict[str, str]) -> Any:
    if system == "ours":
        from server.app import create_app

        return create_app(location)
    if system == "rest":
        from .peers.rest import rest_app

        return rest_app(workdir / system, tokens={secret: school for school, secret in creds.items()})
    if system == "couchdb":
        from .peers.couch import couch_app

        return couch_app(workdir / system, users=dict(creds))
    raise ValueError(f"unknown system {system}")


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    creds = json.loads(Path(args.creds).read_text()) if args.creds else {}
    timed = RequestTimes(_build_app(args.system, Path(args.workdir), args.location, creds))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    extra: dict[str, Any] = {}
    if args.system == "ours":
        from server.http_protocol import HeadDeadlineProtocol

        extra = {"http": HeadDeadlineProtocol, "server_header": False, "date_header": False}
    timings = Path(args.timings)

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            await super().shutdown(sockets)
            # Here, not after run(): uvicorn raises the SIGTERM it caught again once it returns.
            timings.write_text(json.dumps(timed.seconds))

    server = Server(uvicorn.Config(timed, log_level="warning", access_log=False, lifespan="auto", **extra))
    print(sock.getsockname()[1], flush=True)
    server.run(sockets=[sock])  # SIGTERM: uvicorn finishes in-flight requests, runs the lifespan's end
    return 0


class CentreProcess:
    """A system's server as a subprocess on 127.0.0.1 (ephemeral port); `stop()` gives its request times."""

    def __init__(self, system: str, workdir: Path, *, location: str = "", creds: dict[str, str] | None = None) -> None:
        self.name = system
        workdir.mkdir(parents=True, exist_ok=True)
        self._timings = workdir / f"{system}-timings.json"
        creds_file = workdir / f"{system}-creds.json"
        creds_file.write_text(json.dumps(creds or {}))
        cmd = [sys.executable, "-m", "bench.fleet", "serve", "--system", system, "--workdir", str(workdir)]
        cmd += ["--location", location, "--creds", str(creds_file), "--timings", str(self._timings)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=_env())
        line = self.proc.stdout.readline() if self.proc.stdout is not None else ""
        if not line.strip().isdigit():
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"the {system} server did not start: {line!r}")
        self.port = int(line)
        _wait_listening(self.port)

    def cpu_s(self) -> float | None:
        """The server process's CPU seconds so far (user + system), where /proc tells them (Linux)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> list[tuple[float, float]]:
        """Stop the server; when each request it served came (epoch seconds), and its wall seconds."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        try:
            return [(float(at), float(s)) for at, s in json.loads(self._timings.read_text())]
        except (OSError, ValueError):
            return []


def _env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}


def _wait_listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


# ---------------------------------------------------------------------------
# The schools' processes


@dataclasses.dataclass(frozen=True)
class NodeSpec:
    """One school's client, rebuilt in a worker process: `secret` is a peer's token or password."""

    system: str
    folder: str
    school: str
    secret: str = ""


@dataclasses.dataclass
class Sync:
    latency_s: float
    client_cpu_s: float  # the sync's own thread: reading the outbox, encoding, compressing, applying the answer
    error: str = ""


def _make_node(spec: NodeSpec) -> Any:
    from .systems import _OursNode, _PeerNode, _read_only

    folder = Path(spec.folder)
    if spec.system == "ours":
        return _OursNode(folder)
    db = _read_only(folder)
    if spec.system == "rest":
        from .peers.rest import RestClient

        return _PeerNode(RestClient(db, spec.school, token=spec.secret), db)
    from .peers.couch import CouchClient

    return _PeerNode(CouchClient(db, spec.school, user=spec.school, password=spec.secret), db)


def _timed_sync(node: Any, url: str, *, prepare: bool = False) -> Sync:
    if prepare:
        node.prepare()
    t0, c0 = time.perf_counter(), time.thread_time()
    try:
        node.sync(url)
    except Exception as exc:  # a benchmark reports a failure; it does not stop
        return Sync(time.perf_counter() - t0, time.thread_time() - c0, f"{type(exc).__name__}: {exc}"[:200])
    return Sync(time.perf_counter() - t0, time.thread_time() - c0)


def _worker(conn: Any, specs: list[NodeSpec], threads: int) -> None:
    nodes = [_make_node(s) for s in specs]
    try:
        while True:
            command, url = conn.recv()
            if command == "stop":
                break
            if command == "prepare":
                for node in nodes:
                    node.prepare()
                conn.send([])
                continue
            # "setup": a roster sync where the system needs one for real (`assume_synced` is False);
            # "run": every node's sync, `threads` at once.
            todo = [n for n in nodes if not n.assume_synced()] if command == "setup" else nodes
            with ThreadPoolExecutor(max_workers=threads) as pool:
                futures = [pool.submit(_timed_sync, n, url, prepare=command == "setup") for n in todo]
                conn.send([dataclasses.asdict(f.result()) for f in futures])
    finally:
        for node in nodes:
            node.close()
        conn.close()


class Fleet:
    """The schools' clients in `processes` worker processes, `concurrency` syncs at once in all."""

    def __init__(self, specs: list[NodeSpec], *, concurrency: int, processes: int) -> None:
        processes = max(1, min(processes, concurrency, len(specs)))
        ctx = multiprocessing.get_context("spawn")  # no copy of the parent's threads, locks or sockets
        self._conns: list[Any] = []
        self._procs: list[Any] = []
        share = -(-concurrency // processes)
        for i in range(processes):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=_worker, args=(child, specs[i::processes], share), daemon=True)
            p.start()
            child.close()
            self._conns.append(parent)
            self._procs.append(p)

    def _all(self, command: str, url: str = "") -> list[Sync]:
        for conn in self._conns:
            conn.send((command, url))
        return [Sync(**s) for conn in self._conns for s in conn.recv()]

    def setup(self, url: str) -> list[Sync]:
        return self._all("setup", url)

    def prepare(self) -> None:
        self._all("prepare")

    def run(self, url: str) -> tuple[list[Sync], float]:
        """Every school's sync; the syncs and the batch's wall seconds."""
        t0 = time.perf_counter()
        syncs = self._all("run", url)
        return syncs, time.perf_counter() - t0

    def close(self) -> None:
        for conn in self._conns:
            with contextlib.suppress(OSError):  # a worker that died already
                conn.send(("stop", ""))
        for p in self._procs:
            p.join(30)
            if p.is_alive():
                p.kill()
                p.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="one system's server on 127.0.0.1, an ephemeral port (printed)")
    p.add_argument("--system", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--location", default="")
    p.add_argument("--creds", default="")
    p.add_argument("--timings", required=True)
    args = parser.parse_args(argv)
    return serve(args)


if __name__ == "__main__":
    threading.current_thread().name = "fleet"
    sys.exit(main())
