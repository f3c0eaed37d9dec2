"""`massar node ...`: what a school secretary or director runs on the school PC."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from domain import absences, accounts, grades, incidents, pupils, roster, transfers
from domain.codes import check_pupil_code, parse_date
from domain.csvfiles import read_csv
from domain.database import write_transaction
from domain.errors import InvalidInput, RowError
from domain.guardians import record_guardian
from domain.rules import FULL_DAY, mask_hours
from domain.semesters import closed_semesters, staff_report
from syncclient.satellites import term_of_pupil
from syncclient.semesters import close_semester, reopen_semester
from syncclient.store import NodeStore

from . import bundle_commands, files_commands, link_commands, node_sync_commands, serve_command, year_commands
from .grade_options import add_grade_options, grade_entry_from_args
from .options import data_dir
from .output import emit
from .report_text import format_report


def _store(args: Any) -> NodeStore:
    return NodeStore.open(data_dir(args.data))


def _common(p: argparse.ArgumentParser, *, json: bool = True) -> argparse.ArgumentParser:
    p.add_argument("--data", metavar="DIR", help="the node's data folder (default: $MASSAR_DATA)")
    if json:
        p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    return p


def register(sub: Any) -> None:
    p = _common(sub.add_parser("init", help="create the school node's database"))
    p.add_argument("--school", required=True, help="the school's code")
    p.add_argument("--name", help="the school's name")
    p.add_argument("--year", help="school year, e.g. 2026/2027 (default: the current one)")
    p.add_argument("--server", metavar="URL", help="the central server")
    p.add_argument("--token", help="the node token printed by `massar server add-school`")
    p.add_argument(
        "--ca-file",
        type=Path,
        metavar="PEM",
        help="trust only this CA (or the server's own certificate) for the HTTPS server (private CA, pinning)",
    )
    p.set_defaults(handler=cmd_init)

    p = _common(sub.add_parser("import-roster", help="import pupils from a CSV or Massar's ListEleve .xls/.xlsx"))
    p.add_argument("file", type=Path)
    p.set_defaults(handler=cmd_import_roster)

    p = _common(sub.add_parser("subjects", help="subjects and this school year's evaluation rules"))
    p.add_argument("--level", help="a level such as 1ASCG")
    p.set_defaults(handler=cmd_subjects)

    p = _common(sub.add_parser("register", help="register a new pupil (provisional code if none)"))
    p.add_argument("--class", dest="class_code", required=True)
    p.add_argument("--last-name", required=True)
    p.add_argument("--first-name", required=True)
    p.add_argument("--gender", required=True, choices=["M", "F"])
    p.add_argument("--birth-date")
    p.add_argument("--birth-place")
    p.add_argument("--code", help="the Massar code, when known")
    p.add_argument("--guardian", metavar="NAME", help="the parent SMS go to")
    p.add_argument("--relation", choices=["father", "mother", "guardian"], default="guardian")
    p.add_argument("--phone", help="the parent's mobile: 06XXXXXXXX, 07XXXXXXXX or +2126XXXXXXXX")
    p.add_argument("--lang", choices=["ar", "fr"], default="ar", help="language of the SMS (default Arabic)")
    p.add_argument("--sms-consent", action="store_true", help="the family agreed to receive SMS")
    p.set_defaults(handler=cmd_register)

    p = _common(sub.add_parser("assign-code", help="replace a provisional code by the Massar code"))
    p.add_argument("--student", required=True)
    p.add_argument("--code", required=True)
    p.set_defaults(handler=cmd_assign_code)

    p = _common(sub.add_parser("grade", help="record one mark"))
    add_grade_options(p)
    p.set_defaults(handler=cmd_grade)

    p = _common(sub.add_parser("absence", help="record an absence"))
    p.add_argument("--student", required=True)
    p.add_argument("--date", required=True)
    h = p.add_mutually_exclusive_group(required=True)
    h.add_argument("--hours", help="hour slots 1-8, e.g. 1,2 (1-4 morning, 5-8 afternoon)")
    h.add_argument("--full-day", action="store_true")
    p.add_argument("--justified", action="store_true")
    p.add_argument("--reason")
    p.set_defaults(handler=cmd_absence)

    p = _common(sub.add_parser("justify", help="justify a recorded absence"))
    p.add_argument("--student", required=True)
    p.add_argument("--date", required=True)
    p.add_argument("--hours", help="only these slots (default: the whole recorded absence)")
    p.add_argument("--reason", required=True)
    p.set_defaults(handler=cmd_justify)

    p = _common(sub.add_parser("incident", help="record a behaviour incident"))
    p.add_argument("--student", required=True)
    p.add_argument("--date", required=True)
    p.add_argument("--description", required=True)
    p.add_argument("--measure")
    p.set_defaults(handler=cmd_incident)

    p = _common(sub.add_parser("import-grades", help="bulk marks from a CSV (or Massar grade sheet .xlsx)"))
    p.add_argument("file", type=Path)
    p.add_argument("--partial", action="store_true", help="grade sheets: apply the valid rows only")
    p.set_defaults(handler=cmd_import_grades)

    p = _common(sub.add_parser("import-absences", help="bulk absences from a CSV"))
    p.add_argument("file", type=Path)
    p.set_defaults(handler=cmd_import_absences)

    p = _common(sub.add_parser("issue-login", help="issue or reset a pupil/parent login"))
    p.add_argument("--student", required=True)
    p.set_defaults(handler=cmd_issue_login)

    p = _common(sub.add_parser("add-staff", help="create a staff login (secretary, teacher, director)"))
    p.add_argument("--login", required=True)
    p.add_argument("--role", required=True, choices=["secretary", "teacher", "director"])
    p.add_argument("--password", required=True)
    p.add_argument("--name")
    p.set_defaults(handler=cmd_add_staff)

    p = _common(sub.add_parser("report", help="a pupil's results and absences"))
    p.add_argument("--student", required=True)
    p.add_argument("--semester", choices=["1", "2"])
    p.set_defaults(handler=cmd_report)
    p = _common(sub.add_parser("close-semester", help="release a semester's ranks and results (the director)"))
    p.add_argument("--semester", required=True, choices=["1", "2"])
    p.add_argument("--by", default="director", metavar="LOGIN", help="who closes it (kept with the closure)")
    p.add_argument("--reopen", action="store_true", help="take the closure back (a mark was missing)")
    p.set_defaults(handler=cmd_close_semester)

    node_sync_commands.register(sub, _common)
    bundle_commands.register_node(sub, _common)
    link_commands.register(sub, _common)
    serve_command.register(sub, _common)
    files_commands.register(sub, _common)
    p = _common(sub.add_parser("admit", help="enrol a pupil arriving from another school (same Massar code)"))
    p.add_argument("--student", required=True)
    p.add_argument("--class", dest="class_code", required=True)
    p.add_argument("--from", dest="from_school", metavar="SCHOOL", help="the school the pupil comes from")
    p.set_defaults(handler=cmd_admit)
    p = _common(sub.add_parser("leave", help="record that a pupil left the school (history is kept)"))
    p.add_argument("--student", required=True)
    p.add_argument("--date", required=True)
    p.add_argument("--to", dest="to_school", metavar="SCHOOL", help="the school the pupil moves to")
    p.set_defaults(handler=cmd_leave)
    year_commands.register(sub, _common)


def cmd_init(args: Any) -> int:
    node_key = device = None
    if args.token:
        # A token without --server: a school that exchanges only through bundles (USB stick, phone).
        from protocol.auth import device_of_token, node_key_from_token

        device = device_of_token(args.school, args.token)
        node_key = node_key_from_token(device, args.token).hex()
    server_ca = None
    if args.ca_file:
        from syncclient.transport import read_ca_file

        server_ca = read_ca_file(args.ca_file)
    store = NodeStore.init(
        data_dir(args.data),
        args.school,
        name=args.name,
        year=args.year,
        server=args.server,
        node_key=node_key,
        device=device,
        server_ca=server_ca,
    )
    info = {
        "school": store.school,
        "year": store.term.year,
        "data": str(store.path.parent),
        "server": store.setting("server"),
        "device": store.device,
    }
    emit(args, info, f"school node {store.school} ready in {store.path.parent} (year {store.term.year})")
    return 0


def cmd_import_roster(args: Any) -> int:
    store = _store(args)
    if args.file.suffix.lower() in (".xls", ".xlsx"):
        from syncclient.massar_import import roster_rows_from_class_list

        rows = roster_rows_from_class_list(store.db, store.term, args.file)
        counts = roster.apply_roster(store.db, store.term, rows)
    else:
        counts = roster.import_roster_csv(store.db, store.term, args.file)
    moves = "".join(f"\nmoved {m['student']} from {m['from']} to {m['to']}" for m in counts["moved"])
    emit(args, counts, f"imported {counts['pupils']} pupils in {counts['classes']} classes{moves}")
    return 0


def cmd_subjects(args: Any) -> int:
    store = _store(args)
    if args.level:
        pupils.scale_of_level(store.db, args.level.upper())
        levels = [args.level.upper()]
    else:
        levels = [r[0] for r in store.db.execute("SELECT code FROM levels ORDER BY ord, code").fetchall()]
    data = []
    for level in levels:
        for s in pupils.subjects_of_level(store.db, level, store.term.year):
            data.append({"level": level, "year": store.term.year, **s})
    human = "\n".join(
        f"{d['level']:8} {d['code']:6} x{d['coefficient']}  {d['tests']} tests, activities {d['activities_weight']}"
        f" ({d['formula']})  {d['name_fr']} / {d['name_ar']}"
        for d in data
    )
    emit(args, data, human)
    return 0


def cmd_register(args: Any) -> int:
    store = _store(args)
    code = check_pupil_code(args.code) if args.code else None
    birth = parse_date(args.birth_date, field="birth date").isoformat() if args.birth_date else None
    if (args.phone or args.sms_consent) and not args.guardian:
        raise InvalidInput("--phone and --sms-consent go with --guardian NAME", code="missing_guardian")
    with write_transaction(store.db):  # the pupil and the parent's number together, or neither
        code = pupils.register_pupil(
            store.db,
            store.term,
            class_code=args.class_code,
            last_name=args.last_name,
            first_name=args.first_name,
            gender=args.gender,
            birth_date=birth,
            birth_place=args.birth_place,
            code=code,
        )
        if args.guardian:
            record_guardian(
                store.db,
                store.term,
                code,
                name=args.guardian,
                relation=args.relation,
                phone=args.phone,
                lang=args.lang,
                sms_consent=args.sms_consent,
            )
    emit(args, {"student": code, "class": args.class_code.upper()}, f"registered {code} in {args.class_code.upper()}")
    return 0


def cmd_assign_code(args: Any) -> int:
    store = _store(args)
    old, new = check_pupil_code(args.student), check_pupil_code(args.code)
    pupils.assign_massar_code(store.db, store.term, old, new)
    emit(args, {"student": new, "previous": old}, f"{old} is now {new}; all records kept")
    return 0


def cmd_grade(args: Any) -> int:
    store = _store(args)
    entry = grade_entry_from_args(args)
    grades.record_grades(store.db, store.term, [entry])
    what = ("absent (justified)" if args.justified else "absent") if args.absent else str(entry.score)
    emit(
        args,
        {
            "student": entry.pupil,
            "subject": entry.subject,
            "semester": entry.semester,
            "assessment": args.assessment,
            "score": None if entry.score is None else float(entry.score),
            "absent": entry.absent,
            "justified": entry.absent and entry.justified,
        },
        f"{entry.pupil} {entry.subject} S{entry.semester} #{args.assessment}: {what}",
    )
    return 0


def _hours(args: Any) -> int:
    return FULL_DAY if args.full_day else absences.parse_hours(args.hours)


def cmd_absence(args: Any) -> int:
    store = _store(args)
    if args.justified and not (args.reason or "").strip():
        raise InvalidInput("--justified needs --reason", code="missing_reason")
    entry = absences.AbsenceEntry(
        check_pupil_code(args.student),
        parse_date(args.date),
        _hours(args),
        args.justified,
        args.reason,
        recorded_by="cli",
    )
    absences.record_absences(store.db, store.term, [entry])
    hours = mask_hours(entry.hours)
    emit(
        args,
        {"student": entry.pupil, "date": entry.day.isoformat(), "hours": hours, "justified": args.justified},
        f"{entry.pupil} absent on {entry.day} at hours {','.join(map(str, hours))}",
    )
    return 0


def cmd_justify(args: Any) -> int:
    store = _store(args)
    pupil, day = check_pupil_code(args.student), parse_date(args.date)
    mask = absences.justify_absence(
        store.db, store.term, pupil, day, args.reason, absences.parse_hours(args.hours) if args.hours else None
    )
    emit(
        args,
        {"student": pupil, "date": day.isoformat(), "justified_hours": mask_hours(mask)},
        f"{pupil} on {day}: hours {','.join(map(str, mask_hours(mask)))} justified",
    )
    return 0


def cmd_incident(args: Any) -> int:
    store = _store(args)
    pupil, day = check_pupil_code(args.student), parse_date(args.date)
    n = incidents.record_incident(store.db, store.term, pupil, day, args.description, args.measure)
    emit(args, {"student": pupil, "date": day.isoformat(), "n": n}, f"incident recorded for {pupil} on {day}")
    return 0


def cmd_import_grades(args: Any) -> int:
    store = _store(args)
    if args.file.suffix.lower() == ".xlsx":
        from syncclient.massar_import import import_grade_sheet

        summary = import_grade_sheet(store, args.file, partial=args.partial)
        emit(
            args,
            summary,
            f"imported {summary['marks']} marks from {args.file.name}"
            + (f"; skipped {len(summary['skipped'])} bad row(s):" if summary.get("skipped") else "")
            + "".join(
                f"\n  {RowError(p['row'], p['message'], p['column'], p['sheet'])}" for p in summary.get("skipped") or []
            ),
        )
        return 0
    entries = grades.grade_entries_from_rows(store.db, store.term, read_csv(args.file, grades.GRADES_CSV_HEADER))
    count = grades.record_grades(store.db, store.term, entries)
    emit(args, {"marks": count}, f"imported {count} marks from {args.file.name}")
    return 0


def cmd_import_absences(args: Any) -> int:
    store = _store(args)
    entries = absences.absence_entries_from_rows(
        store.db, store.term, read_csv(args.file, absences.ABSENCES_CSV_HEADER)
    )
    count = absences.record_absences(store.db, store.term, entries)
    emit(args, {"absences": count}, f"imported {count} absences from {args.file.name}")
    return 0


def cmd_issue_login(args: Any) -> int:
    store = _store(args)
    pupil = check_pupil_code(args.student)
    # A satellite's pupil too: his parent reads at this school's terminal (syncclient/satellites.py).
    pupils.enrolment_of(store.db, term_of_pupil(store.db, store.term, pupil), pupil)
    login, password = accounts.issue_parent_login(store.db, pupil)
    emit(args, {"login": login, "password": password}, f"login:    {login}\npassword: {password}")
    return 0


def cmd_add_staff(args: Any) -> int:
    store = _store(args)
    accounts.create_staff(store.db, args.login, args.role, args.password, args.name)
    emit(args, {"login": args.login, "role": args.role}, f"staff login {args.login} ({args.role}) ready")
    return 0


def cmd_report(args: Any) -> int:
    store = _store(args)
    pupil = check_pupil_code(args.student)
    semesters = (int(args.semester),) if args.semester else (1, 2)
    report = staff_report(store.db, store.term.year, pupil, school=store.school, semesters=semesters)
    emit(args, report, format_report(report))
    return 0


def cmd_close_semester(args: Any) -> int:
    store = _store(args)
    year, semester = store.term.year, int(args.semester)
    if args.reopen:
        reopen_semester(store.db, store.school, year, semester)
    else:
        close_semester(store.db, store.school, year, semester, args.by)
    closed = semester in closed_semesters(store.db, year, store.school)
    word = "closed: ranks and results released" if closed else "open: averages shown as provisional"
    emit(args, {"year": year, "semester": semester, "closed": closed}, f"semester {semester} of {year} {word}")
    return 0


def cmd_admit(args: Any) -> int:
    store = _store(args)
    info = transfers.admit_pupil(store.db, store.term, args.student, args.class_code, args.from_school)
    emit(
        args,
        info,
        f"{info['student']} enrolled in {info['class']} ({info['year']})"
        + (f", arriving from {info['from']}" if info["from"] else "")
        + "; the earlier record arrives with the next sync",
    )
    return 0


def cmd_leave(args: Any) -> int:
    store = _store(args)
    info = transfers.leave_pupil(store.db, store.term, args.student, args.date, args.to_school)
    emit(args, info, f"{info['student']} left on {info['left_on']}" + (f" for {info['to']}" if info["to"] else ""))
    return 0
