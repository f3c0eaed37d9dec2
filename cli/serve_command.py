"""`massar node serve`: the web app on the school PC, with the sync agent when a server is configured."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from typing import Any

from syncclient.store import NodeStore

from .options import data_dir

log = logging.getLogger(__name__)


def register(sub: Any, common: Callable[..., argparse.ArgumentParser]) -> None:
    p = common(sub.add_parser("serve", help="serve the staff pages and the parent terminal"), json=False)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for the school Wi-Fi)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDR",
        help="a reverse proxy whose X-Forwarded-For is believed (repeatable; default: none)",
    )
    p.set_defaults(handler=cmd_serve)


def _agent_for(folder) -> Any | None:
    store = NodeStore.open(folder)
    try:
        server = store.setting("server")
    finally:
        store.close()
    if not server:
        return None
    try:
        from syncclient.agent import SyncAgent
    except ImportError:
        log.warning("no sync agent in this installation: serving without sync")
        return None
    return SyncAgent(folder)


def cmd_serve(args: Any) -> int:
    import uvicorn

    from syncclient.web import create_app

    folder = data_dir(args.data)
    agent = _agent_for(folder)
    app = create_app(folder, agent=agent, trusted_proxies=args.trusted_proxy)
    if agent is not None:
        agent.start()
    try:
        # proxy_headers off: uvicorn would believe X-Forwarded-For from 127.0.0.1; the app decides.
        uvicorn.run(app, host=args.host, port=args.port, server_header=False, log_level="info", proxy_headers=False)
    finally:
        if agent is not None:
            agent.stop()
    return 0
