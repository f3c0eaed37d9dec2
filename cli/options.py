"""Options shared by the node and server commands."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from domain.errors import InvalidInput


def data_dir(value: str | None) -> Path:
    """The data folder: --data, else $MASSAR_DATA, else a one-line error."""
    chosen = value or os.environ.get("MASSAR_DATA")
    if not chosen:
        raise InvalidInput("no data folder: pass --data DIR or set MASSAR_DATA", code="no_data_dir")
    return Path(chosen)


def central_location(args: Any) -> Path | str:
    """The centre's store: --database URL (PostgreSQL), else --data DIR (SQLite), else $MASSAR_DATABASE,
    else $MASSAR_DATA; a one-line error otherwise."""
    database = getattr(args, "database", None)
    if database and args.data:
        raise InvalidInput("pass --data DIR (SQLite) or --database URL (PostgreSQL), not both", code="two_stores")
    if not database and not args.data:
        database = os.environ.get("MASSAR_DATABASE")
    if database:
        if not database.startswith(("postgresql://", "postgres://")):
            raise InvalidInput(
                f"--database takes a postgresql://USER@HOST/DB URL, not {database!r}", code="bad_database_url"
            )
        return str(database)
    return data_dir(args.data)


def add_tls_options(p: argparse.ArgumentParser) -> None:
    """--certfile/--keyfile: serve HTTPS with uvicorn's own TLS (or leave TLS to a reverse proxy)."""
    p.add_argument("--certfile", type=Path, metavar="PEM", help="serve HTTPS with this certificate (chain)")
    p.add_argument("--keyfile", type=Path, metavar="PEM", help="the certificate's private key")


def tls_settings(args: Any) -> tuple[str, str] | None:
    """(certfile, keyfile) for uvicorn's ssl_* settings from --certfile/--keyfile, both or neither, each a file."""
    if bool(args.certfile) != bool(args.keyfile):
        raise InvalidInput("--certfile and --keyfile go together", code="missing_tls_file")
    if not args.certfile:
        return None
    for path in (args.certfile, args.keyfile):
        if not Path(path).is_file():
            raise InvalidInput(f"no such file: {path}", code="no_file")
    return str(args.certfile), str(args.keyfile)
