"""Sync traffic in clear (issue 15, point 6): the node speaks HTTPS to the centre and verifies its certificate.

Certificates are made at test time (tests/faults/certs.py). A relay on the path records every byte of a
sync and finds neither the request line, nor the school's code, nor a remark; a relay presenting a
certificate of another CA (a man in the middle) gets no request at all; a pinned self-signed server
certificate works; a plain http:// server elsewhere than this machine is refused at `node init`; the
node's staff cookie is Secure when the node is served over HTTPS.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

import sample
from server.schools import add_school
from server.store import DB_NAME, open_central
from syncclient.store import NodeStore
from tests.support.digests import node_digest

from .certs import Pem, make_ca, make_leaf
from .faultkit import (
    REPO,
    REPORT,
    YEAR,
    ServerProcess,
    child_env,
    free_port,
    massar_argv,
    query,
    run_massar,
)

pytestmark = pytest.mark.faults

SCHOOL = "ST01"
SECRET = "Remarque-confidentielle-4242"


@dataclass(frozen=True)
class Pki:
    ca: Pem
    server: Pem  # signed by ca, for 127.0.0.1
    self_signed: Pem
    rogue: Pem  # signed by another CA
    rogue_ca: Pem


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca, ca_cert, ca_key = make_ca(folder, "massar-ca")
    rogue_ca, rogue_cert, rogue_key = make_ca(folder, "rogue-ca")
    return Pki(
        ca=ca,
        server=make_leaf(folder, "central", (ca_cert, ca_key)),
        self_signed=make_leaf(folder, "pinned", None),
        rogue=make_leaf(folder, "relay", (rogue_cert, rogue_key)),
        rogue_ca=rogue_ca,
    )


@dataclass
class Relay:
    """A TCP relay on 127.0.0.1 that forwards to `target` and keeps every byte it carries."""

    target: int
    seen: bytearray = field(default_factory=bytearray)
    port: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _sockets: list[socket.socket] = field(default_factory=list)

    def __enter__(self) -> Relay:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()
        for sock in self._sockets:
            sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                with self._lock:
                    self.seen += data
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def central(tmp_path: Path, tls: Pem, ca: Path) -> Iterator[tuple[ServerProcess, str]]:
    folder = tmp_path / "central"
    db = open_central(folder, create=True)
    token = add_school(db, SCHOOL, "Collège chiffré")
    db.conn.close()
    server = ServerProcess(folder, free_port(), tmp_path / "server.log", tls=(tls.cert, tls.key), ca=ca)
    server.start()
    try:
        yield server, token
    finally:
        server.stop()


def node_with_work(tmp_path: Path, url: str, token: str, ca: Path | None) -> Path:
    folder = tmp_path / "node"
    ca_args = ["--ca-file", ca] if ca else []
    proc = run_massar("node", "init", "--data", folder, "--school", SCHOOL, "--server", url, "--token", token, *ca_args)
    assert proc.returncode == 0, proc.stderr
    store = NodeStore.open(folder)
    try:
        sch = sample.make_school(store.db, store.term, seed=4, pupils=6, classes=1, level_mix={"1APIC": 1.0})
        sample.semester_grades(store.db, store.term, sch, 1, seed=4)
        with store.db.conn:
            store.db.conn.execute(
                "UPDATE grades SET remark = ? WHERE rowid = (SELECT MIN(rowid) FROM grades)", [SECRET]
            )
    finally:
        store.close()
    return folder


def test_a_relay_on_the_path_reads_nothing_of_a_sync(tmp_path: Path, pki: Pki) -> None:
    with central(tmp_path, pki.server, pki.ca.cert) as (server, token), Relay(server.port) as relay:
        node = node_with_work(tmp_path, f"https://127.0.0.1:{relay.port}", token, pki.ca.cert)
        proc = run_massar("node", "sync", "--data", node)
        assert proc.returncode == 0, proc.stderr
        central_db = server.folder / DB_NAME
        assert query(central_db, "SELECT COUNT(*) FROM grades WHERE remark = ?", [SECRET]) == [(1,)]
    carried = bytes(relay.seen)
    assert len(carried) > 2000
    assert carried[:3] == b"\x16\x03\x01", "the link did not start with a TLS handshake"
    for clear in (b"POST /s", SCHOOL.encode(), b"Authorization", SECRET.encode()):
        assert clear not in carried, f"{clear!r} crossed the relay in clear"
    REPORT.hostile("hostile_tls")


def test_a_pinned_self_signed_certificate_is_trusted(tmp_path: Path, pki: Pki) -> None:
    with central(tmp_path, pki.self_signed, pki.self_signed.cert) as (server, token):
        node = node_with_work(tmp_path, server.url, token, pki.self_signed.cert)
        proc = run_massar("node", "sync", "--data", node)
        assert proc.returncode == 0, proc.stderr
        assert query(server.folder / DB_NAME, "SELECT COUNT(*) FROM grades WHERE remark = ?", [SECRET]) == [(1,)]
    REPORT.hostile("hostile_tls")


@pytest.mark.parametrize("pinned", [True, False], ids=["node-trusts-the-private-ca", "node-trusts-the-system-cas"])
def test_a_man_in_the_middle_with_another_certificate_gets_nothing(tmp_path: Path, pki: Pki, pinned: bool) -> None:
    """The node is set up for the real centre; the address answers with a certificate of another CA."""
    with central(tmp_path, pki.rogue, pki.rogue_ca.cert) as (impostor, token):
        node = node_with_work(tmp_path, impostor.url, token, pki.ca.cert if pinned else None)
        before_node, before_counter = node_digest(node / "node.sqlite"), _counter(impostor)
        proc = run_massar("node", "sync", "--data", node)
        assert proc.returncode != 0
        line = proc.stderr.strip()
        assert len(line.splitlines()) == 1 and "certificate is not trusted" in line and "Traceback" not in line, line
        assert node_digest(node / "node.sqlite") == before_node
        # Not one request reached the impostor's application: no counter burnt, no grade received.
        assert _counter(impostor) == before_counter
        assert query(impostor.folder / DB_NAME, "SELECT COUNT(*) FROM grades") == [(0,)]
        status = run_massar("node", "status", "--data", node, "--json")
        assert "untrusted_server" in status.stdout or "not trusted" in status.stdout, status.stdout
    REPORT.hostile("hostile_tls")


def _counter(server: ServerProcess) -> int:
    return query(server.folder / DB_NAME, "SELECT last_counter FROM _devices WHERE id = ?", [SCHOOL])[0][0]


@pytest.mark.parametrize(
    ("server", "ca_text", "says"),
    [
        pytest.param("http://10.20.30.40:8001", None, "HTTPS", id="plain-http-to-another-machine"),
        pytest.param("http://centre.example.ma", None, "HTTPS", id="plain-http-by-name"),
        pytest.param("ftp://centre.example.ma", None, "https://", id="not-http"),
        pytest.param("https://centre.example.ma", "not a certificate", "PEM", id="ca-file-not-pem"),
    ],
)
def test_node_init_refuses_an_insecure_server(tmp_path: Path, server: str, ca_text: str | None, says: str) -> None:
    ca_args: list[object] = []
    if ca_text is not None:
        (tmp_path / "ca.pem").write_text(ca_text)
        ca_args = ["--ca-file", tmp_path / "ca.pem"]
    proc = run_massar(
        "node", "init", "--data", tmp_path / "node", "--school", SCHOOL, "--server", server, "--token", "t", *ca_args
    )
    assert proc.returncode != 0
    assert len(proc.stderr.strip().splitlines()) == 1 and says in proc.stderr, proc.stderr
    assert not (tmp_path / "node" / "node.sqlite").exists() or "server" not in _settings(tmp_path / "node")
    REPORT.hostile("hostile_tls")


def _settings(folder: Path) -> dict[str, str]:
    return dict(query(folder / "node.sqlite", "SELECT k, v FROM _node"))


def test_staff_cookies_are_secure_when_the_node_is_served_over_https(tmp_path: Path, pki: Pki) -> None:
    folder = tmp_path / "node"
    NodeStore.init(folder, SCHOOL, year=YEAR).close()
    port = free_port()
    args = [
        "node",
        "serve",
        "--data",
        folder,
        "--port",
        port,
        "--certfile",
        pki.server.cert,
        "--keyfile",
        pki.server.key,
    ]
    proc = subprocess.Popen(
        massar_argv(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=child_env(), cwd=REPO
    )
    try:
        cookie = None
        deadline = time.monotonic() + 30
        with httpx.Client(verify=ssl.create_default_context(cafile=str(pki.ca.cert)), timeout=2) as client:
            while cookie is None and time.monotonic() < deadline and proc.poll() is None:
                with contextlib.suppress(httpx.HTTPError):
                    cookie = client.get(f"https://127.0.0.1:{port}/login").headers.get("set-cookie")
                time.sleep(0.1)
        assert cookie is not None, "no session cookie from the HTTPS node"
        assert "secure" in [part.strip().lower() for part in cookie.split(";")], cookie
    finally:
        proc.terminate()
        proc.wait(10)
    REPORT.hostile("hostile_tls")
