"""`massar demo`, the newcomer's first command, as a real subprocess."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_pair() -> int:
    """A port N such that N and N+1 are both free."""
    for _ in range(50):
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
        with socket.socket() as a, socket.socket() as b:
            try:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two consecutive free ports")


def test_demo_syncs_and_serves_pages(tmp_path: Path) -> None:
    port = _free_pair()
    env = {k: v for k, v in os.environ.items() if k != "MASSAR_DATA"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli",
            "demo",
            "--data",
            str(tmp_path / "demo"),
            "--port",
            str(port),
            "--pupils",
            "60",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        out = "".join(lines)
        assert "Press Ctrl-C" in out, out
        first = re.search(r"first sync: pushed (\d+) changes", out)
        assert first and int(first.group(1)) > 0, out
        url = re.search(r"School node .*?(http://127\.0\.0\.1:\d+/)", out).group(1)
        parent = re.search(r"parent login: (\S+) / (\S+)", out)
        with httpx.Client(base_url=url, follow_redirects=True, timeout=10) as client:
            page = client.get("/login")
            assert page.status_code == 200
            assert 'dir="rtl"' in page.text
        # The node's data reached the central server in the first sync.
        status = subprocess.run(
            [
                sys.executable,
                "-m",
                "cli",
                "node",
                "status",
                "--data",
                str(tmp_path / "demo" / "node"),
                "--json",
            ],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        state = json.loads(status.stdout)
        assert state["last_sync"] is not None and state["last_error"] is None, state
        assert parent and parent.group(1).endswith("@taalim.ma")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


def _start_demo(folder: Path, port: int, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    argv = [sys.executable, "-m", "cli", "demo", "--data", str(folder), "--port", str(port)]
    proc = subprocess.Popen(
        [*argv, "--pupils", "30"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    lines: list[str] = []
    deadline = time.monotonic() + 120
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Press Ctrl-C" in line:
            break
    return proc, "".join(lines)


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout:
        proc.stdout.close()


def _parent_logs_in(client: httpx.Client, login: str, password: str) -> bool:
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    r = client.post("/login", data={"csrf": token, "login": login, "password": password})
    return r.url.path == "/parent"


def test_demo_restarts_at_once_and_prints_a_parent_password_that_works(tmp_path: Path) -> None:
    port = _free_pair()
    env = {k: v for k, v in os.environ.items() if k != "MASSAR_DATA"}
    folder = tmp_path / "demo"
    url = f"http://127.0.0.1:{port}/"
    proc, out = _start_demo(folder, port, env)
    try:
        assert "Press Ctrl-C" in out, out
        login, password = re.search(r"parent login: (\S+) / (\S+)", out).groups()
        with httpx.Client(base_url=url, follow_redirects=True, timeout=10) as browser:
            assert _parent_logs_in(browser, login, password)
            _stop(proc)  # with the browser's connection still open: the port is left in TIME_WAIT
    finally:
        _stop(proc)
    # the secretary printed a new slip for that pupil meanwhile: the old password no longer works
    from domain.accounts import issue_parent_login
    from syncclient.store import NodeStore

    store = NodeStore.open(folder / "node")
    try:
        issue_parent_login(store.db, login.split("@")[0])
    finally:
        store.close()
    proc, out = _start_demo(folder, port, env)  # at once, same port
    try:
        assert "Press Ctrl-C" in out, out
        login2, password2 = re.search(r"parent login: (\S+) / (\S+)", out).groups()
        with httpx.Client(base_url=url, follow_redirects=True, timeout=10) as browser:
            assert login2 == login and _parent_logs_in(browser, login2, password2)
    finally:
        _stop(proc)
