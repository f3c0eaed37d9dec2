"""The `massar` command line: `massar demo`, `massar node ...`, `massar server ...`.

It sits above both sides: it imports the school node (`syncclient`) and the
central server (`server`), and neither of them imports it
(tests/architecture enforces that).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import demo, node_commands, server_commands
from .errors import handled


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="massar", description="Massar Sync: offline-first school records.")
    sub = parser.add_subparsers(dest="group", required=True, parser_class=_Parser)
    demo.register(sub)
    node = sub.add_parser("node", help="the school node")
    node_commands.register(node.add_subparsers(dest="command", required=True, parser_class=_Parser))
    server = sub.add_parser("server", help="the central server")
    server_commands.register(server.add_subparsers(dest="command", required=True, parser_class=_Parser))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return handled(args)


if __name__ == "__main__":
    raise SystemExit(main())
