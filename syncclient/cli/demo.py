"""`massar demo`: a central server and one school node with sample data, synced."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="run a central server and a school node with sample data")
    p.add_argument("--port", type=int, default=8000, help="the node's web port (the server takes the next one)")
    p.add_argument("--data", metavar="DIR", help="where to keep the demo's files (default: ./massar-demo)")
    p.set_defaults(handler=run_demo)


def run_demo(args: Any) -> int:
    raise NotImplementedError("demo arrives with the sync engine")
