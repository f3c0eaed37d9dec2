"""Real `massar` subprocesses for tests: the CLI, and `massar server serve` that can be SIGKILLed."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def massar_argv(*args: object) -> list[str]:
    return [sys.executable, "-m", "cli", *map(str, args)]


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MASSAR_DATA", "MASSAR_DATABASE")}
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def massar_json(*args: object, timeout: float = 120) -> Any:
    """Run `massar ... --json`; its parsed output, or AssertionError with what it printed."""
    proc = subprocess.run(
        massar_argv(*args, "--json"),
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=child_env(),
        cwd=REPO,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise AssertionError(f"massar {' '.join(map(str, args))} exited {proc.returncode}: {proc.stderr}")
    return json.loads(proc.stdout)


class ServeProcess:
    """`massar server serve <location args> --port P` in a subprocess; start() waits for /health."""

    def __init__(self, location: list[str], port: int, log: Path) -> None:
        self.location, self.port, self.log = location, port, log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        if self.proc is not None:
            raise RuntimeError("already running")
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                massar_argv("server", "serve", *self.location, "--port", self.port),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=child_env(),
                cwd=REPO,
            )
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0) as client:
            while True:
                if self.proc.poll() is not None:
                    raise AssertionError(f"the server exited {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(self.url + "/health").status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise AssertionError("the server did not answer /health in time")
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when the machine's OOM killer or a power cut strikes."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
