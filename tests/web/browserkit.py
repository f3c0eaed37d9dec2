"""A node web server that can be stopped and started again on the same port, and Chromium pages on it."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NodeServer:
    """`massar node serve` in a thread: real uvicorn, real socket, restartable (a new app each time)."""

    def __init__(self, folder: Path, **app_options: Any) -> None:
        self.folder, self.options, self.port = folder, app_options, free_port()
        self.app: Any = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> NodeServer:
        import uvicorn

        from syncclient.web import create_app

        self.app = create_app(self.folder, **self.options)
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", server_header=False, proxy_headers=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self._server.started, "the node's web server did not start"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            assert self._thread is not None
            self._thread.join(10)
            self._server = None


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("MASSAR_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing but MASSAR_REQUIRE_BROWSER is set (CI must run browser tests)")
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def login(page, base: str, who: str, password: str) -> None:
    page.goto(base + "/login")
    page.fill("#login", who)
    page.fill("#password", password)
    page.click("button.primary")


def shots_dir() -> Path | None:
    """Where screenshots go when MASSAR_SCREENSHOTS names a folder (to look at them); None otherwise."""
    folder = os.environ.get("MASSAR_SCREENSHOTS")
    if not folder:
        return None
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path
