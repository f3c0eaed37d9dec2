"""`massar node sync` and `massar node status`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncclient.session import sync_once
from syncclient.status import node_status
from syncclient.store import NodeStore

from .options import data_dir
from .output import emit


def register(sub: Any, common: Callable[..., Any]) -> None:
    p = common(sub.add_parser("sync", help="sync with the central server now"))
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for one answer")
    p.set_defaults(handler=cmd_sync)
    p = common(sub.add_parser("status", help="pending changes, last sync, last error, conflicts"))
    p.set_defaults(handler=cmd_status)


def cmd_sync(args: Any) -> int:
    result = sync_once(data_dir(args.data), timeout=args.timeout)
    emit(
        args,
        {"ok": True, **result.as_json()},
        f"in sync: pushed {result.pushed}, pulled {result.pulled} in {result.requests} request(s)"
        + (f" ({result.failures} retried)" if result.failures else "")
        + (f"; {result.conflicts} conflict(s) on record" if result.conflicts else ""),
    )
    return 0


def cmd_status(args: Any) -> int:
    store = NodeStore.open(data_dir(args.data))
    try:
        status = node_status(store)
    finally:
        store.close()
    human = (
        f"school {status['school']}: {status['pending_changes']} change(s) waiting; "
        f"last sync {status['last_sync'] or 'never'}; conflicts {status['conflicts']}"
        + (f"\nlast error: {status['last_error']}" if status["last_error"] else "")
    )
    emit(args, status, human)
    return 0
