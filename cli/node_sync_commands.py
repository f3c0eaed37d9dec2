"""`massar node sync` and `massar node status`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.errors import InvalidInput
from syncclient.rejected import discard, list_rejected, retry
from syncclient.session import sync_once
from syncclient.status import node_status
from syncclient.store import NodeStore

from .options import data_dir
from .output import emit


def register(sub: Any, common: Callable[..., Any]) -> None:
    p = common(sub.add_parser("sync", help="sync with the central server now"))
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for one answer")
    p.add_argument(
        "--budget", type=int, metavar="BYTES", help="spend at most this many bytes, most urgent changes first"
    )
    p.set_defaults(handler=cmd_sync)
    p = common(sub.add_parser("status", help="pending changes, last sync, last error, conflicts"))
    p.set_defaults(handler=cmd_status)
    p = common(sub.add_parser("rejected", help="changes the central server refused, with its reasons"))
    act = p.add_mutually_exclusive_group()
    act.add_argument("--retry", type=int, metavar="ID", help="queue this change again (after fixing the cause)")
    act.add_argument("--discard", type=int, metavar="ID", help="forget this change (the local row stays as is)")
    p.set_defaults(handler=cmd_rejected)


def cmd_sync(args: Any) -> int:
    if args.budget is not None and args.budget < 0:
        raise InvalidInput("--budget must be a number of bytes, 0 or more", code="bad_budget")
    result = sync_once(data_dir(args.data), timeout=args.timeout, byte_budget=args.budget)
    head = (
        f"stopped at the budget of {args.budget} bytes: {result.pending} change(s) left for the next sync"
        + (" to send, and the centre's changes still to receive; " if result.pull_pending else " to send; ")
        if result.stopped_at_budget
        else "in sync: "
    )
    emit(
        args,
        {"ok": True, **result.as_json()},
        head
        + f"pushed {result.pushed}, pulled {result.pulled} in {result.requests} request(s)"
        + (f" ({result.failures} retried)" if result.failures else "")
        + (f"; {result.conflicts} conflict(s) on record" if result.conflicts else "")
        + (f"; {result.rejected} change(s) refused: see `massar node rejected`" if result.rejected else ""),
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
        + (f"; {status['rejected']} refused by the server" if status["rejected"] else "")
        + (f"\nlast error: {status['last_error']}" if status["last_error"] else "")
        + "".join(f"\nset aside (not stored here): {e['table']} {e['key']}: {e['reason']}" for e in status["set_aside"])
    )
    emit(args, status, human)
    return 0


def cmd_rejected(args: Any) -> int:
    store = NodeStore.open(data_dir(args.data))
    try:
        if args.retry is not None:
            retry(store.db, args.retry)
            emit(args, {"retried": args.retry}, f"change #{args.retry} queued again for the next sync")
            return 0
        if args.discard is not None:
            discard(store.db, args.discard)
            emit(args, {"discarded": args.discard}, f"change #{args.discard} discarded (kept on this PC only)")
            return 0
        rows = list_rejected(store.db)
    finally:
        store.close()
    human = (
        "\n".join(f"#{r['id']} {r['at']} {r['table']} {r['key']}: {r['code']}: {r['reason']}" for r in rows)
        or "no refused changes"
    )
    emit(args, rows, human)
    return 0
