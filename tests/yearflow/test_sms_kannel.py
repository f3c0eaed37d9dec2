"""Parents' SMS through a real Kannel (bearerbox + smsbox + fake SMSC on loopback), the node killed
mid-send: every message reaches the phone network exactly once, and delivery reports mark it."""

from __future__ import annotations

import datetime as dt
import http.server
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from domain import absences, pupils
from domain.codes import school_year_of
from domain.guardians import record_guardian
from domain.rules import FULL_DAY
from syncclient.store import NodeStore

from .kannel import Kannel, free_port, require_kannel, wait_port

REPO = Path(__file__).resolve().parents[2]
PUPILS = 12
KILL_AT = 5  # the gateway has accepted this message when the node dies, before the node could record it


@pytest.fixture
def kannel(tmp_path: Path) -> Iterator[Kannel]:
    require_kannel()
    folder = tmp_path / "kannel"
    folder.mkdir()
    k = Kannel(folder)
    try:
        k.start()
        yield k
    finally:
        k.stop()


class KillingProxy:
    """Forwards sendsms requests to Kannel; at the KILL_AT-th, lets Kannel accept it, then SIGKILLs the node
    before it sees the answer: the worst moment of a crash for exactly-once."""

    def __init__(self, target: str) -> None:
        self.target, self.count, self.node_pid = target, 0, 0
        self.node_url: str | None = None  # delivery reports go through too; refused (503) until set
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path.startswith("/sms/dlr"):
                    if proxy.node_url is None:
                        self.send_response(503)  # the node is "down": smsbox must retry
                        self.end_headers()
                        return
                    answer = httpx.get(proxy.node_url + self.path, timeout=10)
                    self.send_response(answer.status_code)
                    self.end_headers()
                    self.wfile.write(answer.content)
                    return
                proxy.count += 1
                answer = httpx.get(proxy.target + self.path, timeout=10)
                if proxy.count == KILL_AT and proxy.node_pid:
                    os.kill(proxy.node_pid, signal.SIGKILL)
                    self.close_connection = True
                    return
                self.send_response(answer.status_code)
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> KillingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _serve(folder: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "MASSAR_DATA"}
    env["MASSAR_SMS_INTERVAL"] = "0.2"
    log = (folder / f"serve-{time.monotonic_ns()}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "node", "serve", "--data", str(folder), "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    return proc


def _states(folder: Path) -> dict[str, int]:
    conn = sqlite3.connect(folder / "node.sqlite", timeout=30)
    try:
        return dict(conn.execute("SELECT state, COUNT(*) FROM _sms_outbox GROUP BY state").fetchall())
    finally:
        conn.close()


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_each_message_is_delivered_exactly_once_across_a_crash(tmp_path, kannel, run_massar):
    folder = tmp_path / "node"
    today = dt.date.today()
    store = NodeStore.init(folder, "S001", year=school_year_of(today))
    phones = {}
    try:
        for i in range(PUPILS):
            code = f"K{100000000 + i}"
            pupils.register_pupil(
                store.db,
                store.term,
                class_code="1APIC-1",
                last_name="TEST",
                first_name=f"Élève{i}",
                gender="F",
                code=code,
            )
            phones[code] = f"+2126{10000000 + i}"
            record_guardian(
                store.db,
                store.term,
                code,
                name="Parent",
                relation="mother",
                phone=phones[code],
                lang="fr" if i % 2 else "ar",
                sms_consent=True,
            )
            absences.record_absences(
                store.db, store.term, [absences.AbsenceEntry(code, today, FULL_DAY, recorded_by="t")]
            )
        texts = dict(store.db.execute("SELECT phone, text FROM _sms_outbox").fetchall())
    finally:
        store.close()
    assert _states(folder) == {"queued": PUPILS}

    port = free_port()
    with KillingProxy(kannel.sendsms_url.split("/cgi-bin")[0]) as proxy:
        gateway = f"http://127.0.0.1:{proxy.port}/cgi-bin/sendsms?" + kannel.sendsms_url.split("?")[1]
        callback = f"http://127.0.0.1:{proxy.port}"
        run_massar("node", "notify", "--gateway", gateway, "--callback", callback, "--sender", "MASSAR", data=folder)

        first = _serve(folder, port)
        proxy.node_pid = first.pid
        try:
            first.wait(timeout=90)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
        assert first.returncode == -signal.SIGKILL, "the node was to die mid-send"
        after_crash = _states(folder)
        # The fifth was claimed and accepted by the gateway, but the node never saw the answer and no
        # report got through: it stays `sending`, never queued to go again.
        assert after_crash == {"sent": KILL_AT - 1, "sending": 1, "queued": PUPILS - KILL_AT}

        proxy.node_url = f"http://127.0.0.1:{port}"

        second = _serve(folder, port)
        try:
            wait_port(port)
            _wait(lambda: _states(folder) == {"delivered": PUPILS}, 90, "every delivery report")
        finally:
            second.terminate()
            second.wait(timeout=30)

    received = kannel.delivered()
    assert sorted(r for r, _ in received) == sorted(phones.values())  # each phone once, none twice
    assert {r: t for r, t in received} == texts  # the words the parents were meant to read
    conn = sqlite3.connect(folder / "node.sqlite")
    try:
        assert conn.execute("SELECT MAX(attempts) FROM _sms_outbox").fetchone() == (1,)
    finally:
        conn.close()
    status = run_massar("node", "notify", "--json", data=folder)
    assert '"delivered": 12' in status.stdout and "sms-secret" not in status.stdout
