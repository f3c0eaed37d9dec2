"""`massar server ...`: what a ministry operator runs on the central server."""

from __future__ import annotations

import argparse
import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from domain import results
from domain.codes import check_pupil_code, check_school_year, school_year_of
from domain.errors import InvalidInput
from server.backend import CentralStore, is_database_url, open_store
from server.conflicts import list_conflicts
from server.exam_results import import_exam_results
from server.publish import publish_file
from server.schools import add_school, list_schools, revoke_school

from .grade_options import add_grade_options, grade_entry_from_args
from .options import data_dir
from .output import emit as _emit
from .report_text import format_report


def _location(args: Any) -> str | Path:
    """`--database URL` (or $MASSAR_DATABASE) for PostgreSQL, else the SQLite data folder."""
    url = args.database or os.environ.get("MASSAR_DATABASE")
    if url:
        if not is_database_url(url):
            raise InvalidInput(f"--database takes a postgresql://USER@HOST/DB URL, not {url!r}", code="bad_database")
        return str(url)
    return data_dir(args.data)


@contextmanager
def _store(args: Any, *, create: bool = False) -> Iterator[CentralStore]:
    store = open_store(_location(args), create=create)
    try:
        yield store
    finally:
        store.close()


def _common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    where = p.add_mutually_exclusive_group()
    where.add_argument("--data", metavar="DIR", help="the SQLite centre's data folder (default: $MASSAR_DATA)")
    where.add_argument(
        "--database",
        metavar="URL",
        help="the national centre on PostgreSQL: postgresql://USER@HOST/DB (default: $MASSAR_DATABASE)",
    )
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    return p


def register(sub: Any) -> None:
    _common(sub.add_parser("init", help="create the central database")).set_defaults(handler=cmd_init)
    p = _common(sub.add_parser("serve", help="serve the sync endpoint"))
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8001)
    p.set_defaults(handler=cmd_serve)
    p = _common(sub.add_parser("add-school", help="register a school and print its node token once"))
    p.add_argument("--school", required=True)
    p.add_argument("--name", required=True)
    p.set_defaults(handler=cmd_add_school)
    p = _common(sub.add_parser("revoke-school", help="make a school's token useless at once"))
    p.add_argument("--school", required=True)
    p.set_defaults(handler=cmd_revoke_school)
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


def _year(args: Any) -> str:
    return check_school_year(args.year) if args.year else school_year_of(dt.date.today())


def cmd_init(args: Any) -> int:
    with _store(args, create=True) as store:
        where = store.describe()
        _emit(args, {"backend": store.backend, "data": where}, f"central server ready in {where} ({store.backend})")
    return 0


def cmd_serve(args: Any) -> int:
    import uvicorn

    from server.app import create_app

    app = create_app(_location(args))
    print(f"central server on http://{args.host}:{args.port}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", server_header=False, date_header=False)
    return 0


def cmd_add_school(args: Any) -> int:
    with _store(args) as store:
        token = add_school(store, args.school, args.name)
    _emit(
        args,
        {"school": args.school.upper(), "token": token},
        f"school {args.school.upper()} registered.\nnode token (shown once, keep it safe): {token}",
    )
    return 0


def cmd_revoke_school(args: Any) -> int:
    with _store(args) as store:
        revoke_school(store, args.school)
    _emit(args, {"school": args.school.upper(), "revoked": True}, f"token of {args.school.upper()} revoked")
    return 0


def cmd_publish(args: Any) -> int:
    with _store(args) as store:
        counts = publish_file(store, args.file)
    _emit(args, counts, "published " + ", ".join(f"{n} {t}" for t, n in counts.items()))
    return 0


def cmd_import_exam_results(args: Any) -> int:
    with _store(args) as store:
        counts = import_exam_results(store, args.file)
    _emit(
        args,
        counts,
        f"imported {counts['marks']} exam marks of {counts['pupils']} pupils in {counts['schools']} school(s)",
    )
    return 0


def cmd_report(args: Any) -> int:
    semesters = (int(args.semester),) if args.semester else (1, 2)
    with _store(args) as store, store.reader() as db:
        report = results.pupil_report(db, _year(args), check_pupil_code(args.student), semesters=semesters)
    _emit(args, report, format_report(report))
    return 0


def cmd_grade(args: Any) -> int:
    entry = grade_entry_from_args(args)
    with _store(args) as store:
        school = store.correct_grade(_year(args), entry)
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
    with _store(args) as store:
        data = list_conflicts(store)
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
    with _store(args) as store:
        data = list_schools(store)
    human = (
        "\n".join(
            f"{d['school']:10} {'REVOKED ' if d['revoked'] else ''}last sync {d['last_sync'] or 'never'}"
            f"{'  (pending ack)' if d['pending_ack'] else ''}{'  error: ' + d['last_error'] if d['last_error'] else ''}"
            for d in data
        )
        or "no schools registered"
    )
    _emit(args, data, human)
    return 0
