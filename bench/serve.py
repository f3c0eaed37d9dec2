"""Run an ASGI app under uvicorn on 127.0.0.1 in a background thread (benchmarks and tests)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import uvicorn


class ServerThread:
    """`with ServerThread(app) as s: httpx.get(s.url + "/")` -- an ephemeral port unless `port=` is given."""

    def __init__(self, app: Any, *, port: int = 0, **config: Any) -> None:
        config.setdefault("log_level", "warning")
        config.setdefault("lifespan", "off")
        config.setdefault("access_log", False)
        self.config = uvicorn.Config(app, host="127.0.0.1", port=port, **config)
        self.server = uvicorn.Server(self.config)
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread = threading.Thread(target=self._run, daemon=True, name="uvicorn")
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.005)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def _run(self) -> None:
        # install_signal_handlers is only possible in the main thread; uvicorn skips it in others.
        asyncio.run(self.server.serve())

    def stop(self) -> None:
        if self._thread is None:
            return
        self.server.should_exit = True
        self._thread.join()
        self._thread = None

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
