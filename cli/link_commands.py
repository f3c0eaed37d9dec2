"""`massar node config`: the node's link settings (a daily byte cap for a prepaid link)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncclient.daily_caps import daily_cap, set_daily_cap, used_today
from syncclient.store import NodeStore

from .options import data_dir
from .output import emit


def register(sub: Any, common: Callable[..., Any]) -> None:
    p = common(sub.add_parser("config", help="show or change the node's sync settings"))
    p.add_argument("--daily-bytes", type=int, metavar="N", help="bytes the background sync may spend a day (0: no cap)")
    p.set_defaults(handler=cmd_config)


def cmd_config(args: Any) -> int:
    store = NodeStore.open(data_dir(args.data))
    try:
        if args.daily_bytes is not None:
            set_daily_cap(store, args.daily_bytes)
        cap, used = daily_cap(store), used_today(store)
    finally:
        store.close()
    emit(
        args,
        {"daily_bytes": cap, "used_today": used},
        f"daily cap: {cap} bytes ({used} used today)" if cap else f"daily cap: none ({used} bytes used today)",
    )
    return 0
