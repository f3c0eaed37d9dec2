"""`massar server ...`: what a ministry operator runs on the central server."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlite_utils

from domain.codes import check_pupil_code, check_school_year, school_year_of
from domain.semesters import staff_report
from server.conflicts import list_conflicts
from server.corrections import correct_grade
from server.exam_results import import_exam_results
from server.publish import publish_file
from server.satellites import attach, detach
from server.schools import add_device, add_school, list_schools, revoke_device, revoke_school
from server.store import Location, describe, open_central

from . import bundle_commands
from .grade_options import add_grade_options, grade_entry_from_args
from .options import add_tls_options, central_location, tls_settings
from .output import emit as _emit
from .report_text import format_report


def _folder(args: Any) -> Location:
    """The centre's store: a data folder (SQLite) or a postgresql:// URL (cli/options.py)."""
    return central_location(args)


@contextlib.contextmanager
def _central(args: Any) -> Iterator[sqlite_utils.Database]:
    """The centre's store for one command, closed after it (a PostgreSQL connection is a server's resource)."""
    db = open_central(_folder(args))
    try:
        yield db
    finally:
        db.conn.close()


def _common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--data", metavar="DIR", help="the server's data folder, SQLite (default: $MASSAR_DATA)")
    p.add_argument(
        "--database",
        metavar="URL",
        help="PostgreSQL instead: postgresql://USER@HOST/DB (default: $MASSAR_DATABASE)",
    )
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    return p


def register(sub: Any) -> None:
    _common(sub.add_parser("init", help="create the central database")).set_defaults(handler=cmd_init)
    p = _common(sub.add_parser("serve", help="serve the sync endpoint"))
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8001)
    add_tls_options(p)
    p.set_defaults(handler=cmd_serve)
    p = _common(sub.add_parser("add-school", help="register a school and print its node token once"))
    p.add_argument("--school", required=True)
    p.add_argument("--name", required=True)
    p.set_defaults(handler=cmd_add_school)
    p = _common(sub.add_parser("revoke-school", help="make a school's token useless at once"))
    p.add_argument("--school", required=True)
    p.set_defaults(handler=cmd_revoke_school)
    p = _common(
        sub.add_parser("add-device", help="a new device of a school (second PC, new PC): prints its token once")
    )
    p.add_argument("--school", required=True)
    p.add_argument("--name", required=True, help="what the device is, e.g. 'parents terminal'")
    p.set_defaults(handler=cmd_add_device)
    p = _common(sub.add_parser("revoke-device", help="make one device's token useless at once"))
    p.add_argument("--device", required=True)
    p.set_defaults(handler=cmd_revoke_device)
    p = _common(sub.add_parser("import-exam-results", help="exam marks from a CSV: year,student,exam,subject,score"))
    p.add_argument("file", type=Path)
    p.set_defaults(handler=cmd_import_exam_results)
    p = _common(sub.add_parser("publish", help="publish levels, evaluation rules, exam calendar... from a JSON file"))
    p.add_argument("file", type=Path)
    p.set_defaults(handler=cmd_publish)
    p = _common(sub.add_parser("report", help="a pupil's report from central data"))
    p.add_argument("--student", required=True)
    p.add_argument("--year", help="school year (default: the current one)")
    p.add_argument("--semester", choices=["1", "2"])
    p.set_defaults(handler=cmd_report)
    p = _common(sub.add_parser("grade", help="a directorate correction of one mark"))
    add_grade_options(p)
    p.add_argument("--year")
    p.set_defaults(handler=cmd_grade)
    _common(sub.add_parser("conflicts", help="concurrent edits and the losing versions")).set_defaults(
        handler=cmd_conflicts
    )
    _common(sub.add_parser("schools", help="each school's last sync, pending ack, last error")).set_defaults(
        handler=cmd_schools
    )
    p = _common(sub.add_parser("attach", help="a satellite school read (read-only) at its host school's devices"))
    p.add_argument("--school", required=True, metavar="SATELLITE")
    p.add_argument("--to", required=True, metavar="HOST")
    p.set_defaults(handler=cmd_attach)
    p = _common(sub.add_parser("detach", help="undo attach: the host's copy goes on its next sync"))
    p.add_argument("--school", required=True, metavar="SATELLITE")
    p.set_defaults(handler=cmd_detach)
    bundle_commands.register_server(sub, _common)


def _year(args: Any) -> str:
    return check_school_year(args.year) if args.year else school_year_of(dt.date.today())


def cmd_init(args: Any) -> int:
    folder = _folder(args)
    open_central(folder, create=True).conn.close()
    where = describe(folder)
    _emit(args, {"data": where}, f"central server ready in {where}")
    return 0


def cmd_serve(args: Any) -> int:
    import uvicorn

    from server.app import create_app
    from server.http_protocol import HeadDeadlineProtocol

    tls = tls_settings(args)
    app = create_app(_folder(args))
    print(f"central server on {'https' if tls else 'http'}://{args.host}:{args.port}", flush=True)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        server_header=False,
        date_header=False,
        http=HeadDeadlineProtocol,  # a request head that dribbles in is dropped (server/http_protocol.py)
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
    )
    return 0


def cmd_add_school(args: Any) -> int:
    with _central(args) as db:
        token = add_school(db, args.school, args.name)
        _emit(
            args,
            {"school": args.school.upper(), "token": token},
            f"school {args.school.upper()} registered.\nnode token (shown once, keep it safe): {token}",
        )
        return 0


def cmd_revoke_school(args: Any) -> int:
    with _central(args) as db:
        revoke_school(db, args.school)
        _emit(args, {"school": args.school.upper(), "revoked": True}, f"token of {args.school.upper()} revoked")
        return 0


def cmd_add_device(args: Any) -> int:
    with _central(args) as db:
        device, token = add_device(db, args.school, args.name)
        school = args.school.strip().upper()
        _emit(
            args,
            {"school": school, "device": device, "token": token},
            f"device {device} of school {school} registered.\n"
            f"node token (shown once, keep it safe): {token}\n"
            f"on the device: massar node init --data DIR --school {school} --server URL --token {token}",
        )
        return 0


def cmd_revoke_device(args: Any) -> int:
    with _central(args) as db:
        school = revoke_device(db, args.device)
        device = args.device.strip().upper()
        _emit(
            args, {"school": school, "device": device, "revoked": True}, f"token of device {device} ({school}) revoked"
        )
        return 0


def cmd_publish(args: Any) -> int:
    with _central(args) as db:
        counts = publish_file(db, args.file)
        _emit(args, counts, "published " + ", ".join(f"{n} {t}" for t, n in counts.items()))
        return 0


def cmd_import_exam_results(args: Any) -> int:
    with _central(args) as db:
        counts = import_exam_results(db, args.file)
        _emit(
            args,
            counts,
            f"imported {counts['marks']} exam marks of {counts['pupils']} pupils in {counts['schools']} school(s)",
        )
        return 0


def cmd_report(args: Any) -> int:
    with _central(args) as db:
        semesters = (int(args.semester),) if args.semester else (1, 2)
        report = staff_report(db, _year(args), check_pupil_code(args.student), school=None, semesters=semesters)
        _emit(args, report, format_report(report))
        return 0


def cmd_grade(args: Any) -> int:
    with _central(args) as db:
        entry = grade_entry_from_args(args)
        school = correct_grade(db, _year(args), entry)
        _emit(
            args,
            {
                "student": entry.pupil,
                "school": school,
                "subject": entry.subject,
                "semester": entry.semester,
                "assessment": args.assessment,
                "score": None if entry.score is None else float(entry.score),
            },
            f"correction recorded for {entry.pupil} (school {school}); it reaches the school on its next sync",
        )
        return 0


def cmd_conflicts(args: Any) -> int:
    with _central(args) as db:
        data = list_conflicts(db)
        human = (
            "\n".join(
                f"#{d['id']} {d['at']} {d['table']} {d['record']}: {d['winner']} won over {d['loser']}; lost: {d['lost_row']}"
                for d in data
            )
            or "no conflicts"
        )
        _emit(args, data, human)
        return 0


def cmd_schools(args: Any) -> int:
    with _central(args) as db:
        data = list_schools(db)
        human = (
            "\n".join(
                f"{d['school']:10} {'REVOKED ' if d['revoked'] else ''}last sync {d['last_sync'] or 'never'}"
                f"{'  (pending ack)' if d['pending_ack'] else ''}{'  error: ' + d['last_error'] if d['last_error'] else ''}"
                + "".join(
                    f"\n  device {v['device']:9} {v['name']}{' REVOKED' if v['revoked'] else ''}: "
                    f"last sync {v['last_sync'] or 'never'}"
                    for v in d["devices"]
                )
                for d in data
            )
            or "no schools registered"
        )
        _emit(args, data, human)
        return 0


def cmd_attach(args: Any) -> int:
    with _central(args) as db:
        done = attach(db, args.school, args.to)
    sat, host = done["satellite"], done["host"]
    human = (
        f"{sat} attached to {host}: {done['shared']} records reach {host}'s devices on their next sync, read-only"
        if done["changed"]
        else f"{sat} was already attached to {host}: nothing changed"
    )
    _emit(args, done, human)
    return 0


def cmd_detach(args: Any) -> int:
    with _central(args) as db:
        done = detach(db, args.school)
    sat = done["satellite"]
    human = (
        f"{sat} detached from {done['host']}: its copy leaves {done['host']}'s devices on their next sync"
        if done["changed"]
        else f"{sat} is attached to no school: nothing changed"
    )
    _emit(args, done, human)
    return 0
