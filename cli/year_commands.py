"""`massar node decide | wishes | orient | appeal | orientation | close-year | confirm-classes | open-year |
guardian | notify`: the school year's second half, from the council to the next year, and parents' SMS."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx

from domain import council, guardians, orientation, year_end
from domain.codes import check_pupil_code
from domain.errors import InvalidInput
from syncclient.notify import outbox, sender
from syncclient.store import NodeStore
from syncclient.year import closed_years, open_next_year

from .options import data_dir
from .output import emit


def _store(args: Any) -> NodeStore:
    return NodeStore.open(data_dir(args.data))


def register(sub: Any, common: Callable[..., argparse.ArgumentParser]) -> None:
    p = common(sub.add_parser("decide", help="record the class council's year-end decision"))
    p.add_argument("--student", required=True)
    p.add_argument("--decision", required=True, help=" | ".join(council.DECISIONS))
    p.add_argument("--note")
    p.set_defaults(handler=cmd_decide)

    p = common(sub.add_parser("wishes", help="record a pupil's orientation wishes (from the paper form)"))
    p.add_argument("--student", required=True)
    p.add_argument("--choices", required=True, help="streams in order of preference, e.g. TCS,TCT,FP")
    p.add_argument("--round", required=True, choices=orientation.ROUNDS)
    p.set_defaults(handler=cmd_wishes)

    p = common(sub.add_parser("orient", help="record the council's orientation decision"))
    p.add_argument("--student", required=True)
    p.add_argument("--stream", required=True)
    p.add_argument("--note")
    p.set_defaults(handler=cmd_orient)

    p = common(sub.add_parser("appeal", help="record a family's appeal of the orientation decision"))
    p.add_argument("--student", required=True)
    p.add_argument("--note", required=True)
    p.set_defaults(handler=cmd_appeal)

    p = common(sub.add_parser("orientation", help="wishes and decisions per class and stream"))
    p.set_defaults(handler=cmd_orientation)

    p = common(sub.add_parser("close-year", help="propose next year's classes from the council's decisions"))
    p.set_defaults(handler=cmd_close_year)

    p = common(sub.add_parser("confirm-classes", help="confirm next year's proposed classes (all, or one pupil)"))
    p.add_argument("--student", help="one pupil (default: every proposal)")
    p.add_argument("--class", dest="class_code", help="this class instead of the proposed one")
    p.set_defaults(handler=cmd_confirm)

    p = common(sub.add_parser("open-year", help="switch the node to the next school year"))
    p.add_argument("--year", required=True, help="e.g. 2027/2028")
    p.set_defaults(handler=cmd_open_year)

    p = common(sub.add_parser("guardian", help="record a parent's mobile number, language and SMS consent"))
    p.add_argument("--student", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--relation", required=True, choices=guardians.RELATIONS)
    p.add_argument("--phone", help="06XXXXXXXX, 07XXXXXXXX or +2126XXXXXXXX")
    p.add_argument("--lang", default="ar", choices=guardians.LANGS)
    p.add_argument("--sms-consent", action="store_true", help="the family agreed to receive SMS")
    p.set_defaults(handler=cmd_guardian)

    p = common(sub.add_parser("notify", help="configure the SMS gateway (Kannel); show the outbox"))
    p.add_argument("--gateway", metavar="URL", help="Kannel's sendsms URL with username and password ('' removes it)")
    p.add_argument("--callback", metavar="URL", help="the node's address for delivery reports")
    p.add_argument("--sender", help="sender name or number shown to parents")
    p.add_argument("--daily-cap", type=int, help="most messages this school sends per day")
    p.add_argument("--report-grace", type=float, help="seconds to wait for a delivery report before resending")
    p.add_argument("--send", action="store_true", help="send what is due now, once, and report")
    p.set_defaults(handler=cmd_notify)


def _today() -> dt.date:
    return dt.date.today()


def cmd_decide(args: Any) -> int:
    store = _store(args)
    pupil = check_pupil_code(args.student)
    row = council.decide(store.db, store.term, pupil, args.decision, args.note, today=_today())
    emit(args, row, f"{pupil}: council decision {row['decision']} ({store.term.year})")
    return 0


def cmd_wishes(args: Any) -> int:
    store = _store(args)
    pupil = check_pupil_code(args.student)
    choices = orientation.record_wishes(
        store.db, store.term, pupil, orientation.parse_choices(args.choices), args.round, today=_today()
    )
    emit(
        args,
        {"student": pupil, "round": args.round, "choices": choices},
        f"{pupil}: {args.round} wishes {', '.join(choices)}",
    )
    return 0


def cmd_orient(args: Any) -> int:
    store = _store(args)
    pupil = check_pupil_code(args.student)
    row = orientation.orient(store.db, store.term, pupil, args.stream, args.note, today=_today())
    emit(args, row, f"{pupil}: oriented to {row['decision']}; appeal possible until {row['appeal_until']}")
    return 0


def cmd_appeal(args: Any) -> int:
    store = _store(args)
    pupil = check_pupil_code(args.student)
    row = orientation.appeal(store.db, store.term, pupil, args.note, today=_today())
    emit(args, {"student": pupil, **row}, f"{pupil}: appeal recorded on {row['appealed_on']}")
    return 0


def cmd_orientation(args: Any) -> int:
    store = _store(args)
    rows = orientation.counts(store.db, store.term)
    human = "\n".join(
        f"{r['class']:10} {r['stream']:8} first {r['first']:3}  final {r['final']:3}  decided {r['decided']:3}"
        for r in rows
    )
    emit(args, rows, human or "no wishes or decisions yet")
    return 0


def cmd_close_year(args: Any) -> int:
    store = _store(args)
    info = year_end.close_year(store.db, store.term)
    emit(
        args,
        {**info, "proposals": year_end.proposals(store.db, store.term)},
        f"{info['year']} closed: {info['pass']} pass, {info['repeat']} repeat, {info['oriented']} oriented, "
        f"{info['leaver']} leave; {info['to_confirm']} class(es) to confirm for {info['next_year']}",
    )
    return 0


def cmd_confirm(args: Any) -> int:
    store = _store(args)
    if args.class_code and not args.student:
        raise InvalidInput("--class goes with --student", code="missing_student")
    choices = {check_pupil_code(args.student): args.class_code} if args.student else None
    n = year_end.confirm(store.db, store.term, choices)
    info = year_end.summary(store.db, store.term)
    emit(args, {"confirmed": n, **info}, f"{n} class(es) confirmed; {info['to_confirm']} still to confirm")
    return 0


def cmd_open_year(args: Any) -> int:
    store = _store(args)
    info = open_next_year(store, args.year)
    emit(
        args,
        {**info, "closed_years": closed_years(store)},
        f"school year {info['opened']} open with {info['enrolled']} pupils enrolled; "
        f"{info['closed']} is read-only (digest {info['digest'][:16]}...)",
    )
    return 0


def cmd_guardian(args: Any) -> int:
    store = _store(args)
    pupil = check_pupil_code(args.student)
    row = guardians.record_guardian(
        store.db,
        store.term,
        pupil,
        name=args.name,
        relation=args.relation,
        phone=args.phone,
        lang=args.lang,
        sms_consent=args.sms_consent,
    )
    consent = "SMS consent given" if row["sms_consent"] else "no SMS"
    emit(args, row, f"{pupil}: {row['relation']} {row['name']} {row['phone'] or '-'} ({row['lang']}, {consent})")
    return 0


def cmd_notify(args: Any) -> int:
    store = _store(args)
    if any(v is not None for v in (args.gateway, args.callback, args.sender, args.daily_cap, args.report_grace)):
        sender.configure(
            store,
            args.gateway,
            callback=args.callback,
            sender=args.sender,
            daily_cap=args.daily_cap,
            dlr_grace=args.report_grace,
        )
    done = None
    if args.send:
        with httpx.Client(timeout=15.0) as http:
            done = sender.send_pending(store, http)
    settings = sender.settings(store)
    counts = outbox.outbox_counts(store.db)
    waiting = "" if settings["gateway"] else " (no gateway: the outbox waits)"
    human = f"gateway {settings['gateway'] or '-'}{waiting}\n" + "  ".join(f"{k} {v}" for k, v in counts.items())
    if done is not None:
        human += f"\nthis pass: sent {done['sent']}, failed {done['failed']}, to retry {done['retry']}"
    emit(args, {**settings, "outbox": counts, "pass": done}, human)
    return 0
