"""The one way tests run an ASGI app: uvicorn on 127.0.0.1, an ephemeral port, a background thread."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn


class ServerThread:
    """`with ServerThread(app) as s: httpx.get(s.url + "/")`; stopped cleanly (no signal handlers off the main thread)."""

    def __init__(self, app: Any, *, port: int = 0, **config: Any) -> None:
        config.setdefault("log_level", "warning")
        config.setdefault("lifespan", "auto")
        config.setdefault("access_log", False)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **config))
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> ServerThread:
        self._thread = threading.Thread(target=self.server.run, name="uvicorn-test", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.005)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self, timeout: float = 15.0) -> None:
        if self._thread is None:
            return
        self.server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError("the test server did not stop")
        self._thread = None

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
