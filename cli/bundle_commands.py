"""`massar node export-bundle / import-bundle` and `massar server import-bundle`: a sync on a USB stick."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .options import data_dir
from .output import emit


def register_node(sub: Any, common: Callable[..., Any]) -> None:
    p = common(sub.add_parser("export-bundle", help="write what the centre lacks to a file (USB stick, phone)"))
    p.add_argument("-o", "--output", dest="output", type=Path, required=True, metavar="FILE")
    p.set_defaults(handler=cmd_node_export)
    p = common(
        sub.add_parser(
            "import-bundle", help="apply the centre's reply bundle, or a bundle of another device of the school"
        )
    )
    p.add_argument("file", type=Path, metavar="REPLY")
    p.set_defaults(handler=cmd_node_import)


def register_server(sub: Any, common: Callable[..., Any]) -> None:
    p = common(sub.add_parser("import-bundle", help="apply a school's bundle once and write the reply bundle"))
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("-o", "--output", dest="output", type=Path, metavar="REPLY", help="default: FILE.reply")
    p.set_defaults(handler=cmd_server_import)


def cmd_node_export(args: Any) -> int:
    from syncclient.bundles import export_to

    info = export_to(data_dir(args.data), args.output)
    emit(
        args,
        {"file": str(args.output), **info.as_json()},
        f"wrote {args.output} ({info.bytes} bytes): {info.changes} change(s) for the centre; "
        "bring back its reply and run `massar node import-bundle`",
    )
    return 0


def cmd_node_import(args: Any) -> int:
    from protocol.bundle import KIND_PUSH, peek_kind
    from syncclient.bundles import import_reply_from, read_bundle_file

    data = read_bundle_file(args.file)
    if peek_kind(data) == KIND_PUSH:
        return _sibling_import(args, data)
    r = import_reply_from(data_dir(args.data), args.file)
    if not r.pages:
        human = "this reply was already applied (or the node has synced since): nothing changed"
    else:
        human = (
            f"reply applied: {r.acknowledged} change(s) acknowledged, {r.pulled} received; {r.pending} still waiting"
            + (f"; {r.rejected} refused: see `massar node rejected`" if r.rejected else "")
        )
    emit(args, {"changed": bool(r.pages), **r.as_json()}, human)
    return 0


def _sibling_import(args: Any, data: bytes) -> int:
    from syncclient.siblings import import_sibling_from

    r = import_sibling_from(data_dir(args.data), data)
    if r.already:
        human = f"this bundle of device {r.device} was already imported (or a newer one was): nothing changed"
    else:
        human = (
            f"bundle of device {r.device} applied as its work: {r.applied} of {r.changes} change(s)"
            + (f", {r.kept_local} kept as this device's newer edit or left to the centre" if r.kept_local else "")
            + (f", {r.lost_local} edit(s) of this device replaced by newer ones" if r.lost_local else "")
            + "; unverified until the centre has them (the device's own sync or bundle)"
        )
    emit(args, {"changed": not r.already, **r.as_json()}, human)
    return 0


def cmd_server_import(args: Any) -> int:
    from server.bundles import import_bundle
    from server.store import open_central
    from syncclient.bundles import read_bundle_file, write_bundle_file

    data = read_bundle_file(args.file)
    db = open_central(data_dir(args.data))
    try:
        result = import_bundle(db, data)
    finally:
        db.conn.close()
    out = args.output or args.file.with_name(args.file.name + ".reply")
    if result.reply is None:
        emit(
            args,
            {"changed": False, **result.as_json()},
            f"bundle of device {result.device} was already applied (or is older than its last sync): nothing changed",
        )
        return 0
    write_bundle_file(out, result.reply)
    emit(
        args,
        {"changed": True, "reply": str(out), **result.as_json()},
        f"bundle of {result.device} ({result.school}) applied: acknowledged up to #{result.acked_seq}"
        + (f", {result.refused} change(s) refused" if result.refused else "")
        + f"; reply with {result.pulled} record(s) written to {out}",
    )
    return 0
