"""A node web server that can be stopped and started again on the same port, and Chromium pages on it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import ServerThread

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


class NodeServer:
    """`massar node serve` in a thread (tests/support's ServerThread), restartable on the same port:
    each start builds a new app on the same node folder, as a restart of the command would."""

    def __init__(self, folder: Path, **app_options: Any) -> None:
        self.folder, self.options, self.port = folder, app_options, 0
        self.app: Any = None
        self._thread: ServerThread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> NodeServer:
        from syncclient.web import create_app

        self.app = create_app(self.folder, **self.options)
        self._thread = ServerThread(self.app, port=self.port, server_header=False, proxy_headers=False).start()
        self.port = self._thread.port
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.stop()
            self._thread = None


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
