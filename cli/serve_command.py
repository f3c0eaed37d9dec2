"""`massar node serve`: the web app on the school PC, with the sync agent when a server is configured."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from syncclient.notify.sender import SmsAgent
from syncclient.store import NodeStore

from .options import add_tls_options, data_dir, tls_settings

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
    add_tls_options(p)
    p.set_defaults(handler=cmd_serve)


def _agent_for(folder: Path) -> Any | None:
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


def _default_callback(folder: Path, host: str, port: int) -> None:
    """Delivery reports come back to this web app unless `notify --callback` said otherwise."""
    store = NodeStore.open(folder)
    try:
        if not store.setting("sms_callback_set"):
            reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
            store.set_setting("sms_callback", f"http://{reachable}:{port}")
    finally:
        store.close()


def cmd_serve(args: Any) -> int:
    import uvicorn

    from syncclient.web import create_app

    folder = data_dir(args.data)
    tls = tls_settings(args)
    agent = _agent_for(folder)
    # Over HTTPS the staff's session cookie is marked Secure: a browser never sends it in clear.
    app = create_app(folder, agent=agent, trusted_proxies=args.trusted_proxy, https_only=bool(tls))
    # Parents' SMS: the sender idles until a gateway is configured (`massar node notify --gateway`).
    sms = SmsAgent(folder, interval=float(os.environ.get("MASSAR_SMS_INTERVAL", "5")))
    _default_callback(folder, args.host, args.port)
    if agent is not None:
        agent.start()
    sms.start()
    try:
        # proxy_headers off: uvicorn would believe X-Forwarded-For from 127.0.0.1; the app decides.
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            server_header=False,
            log_level="info",
            proxy_headers=False,
            ssl_certfile=tls[0] if tls else None,
            ssl_keyfile=tls[1] if tls else None,
        )
    finally:
        sms.stop()
        if agent is not None:
            agent.stop()
    return 0
