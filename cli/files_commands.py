"""`massar node export-grades` and `massar node bulletin`: Massar's grade sheet
out of the node, and printable report cards.

(`import-roster FILE.xls|.xlsx` and `import-grades FILE.xlsx` are registered by
node_commands and call syncclient.massar_import.)"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from domain.codes import check_pupil_code
from syncclient.store import NodeStore

from .options import data_dir
from .output import emit


def register(sub: Any, common: Callable[..., argparse.ArgumentParser]) -> None:
    p = common(sub.add_parser("export-grades", help="write a class's marks as Massar's grade sheet (.xlsx)"))
    p.add_argument("--class", dest="class_code", required=True, help="e.g. 1APIC-1")
    p.add_argument("--subject", required=True, help="the catalogue's code (MATH) or Massar's (0019)")
    p.add_argument("--semester", required=True, choices=["1", "2"])
    p.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="default: export_notesCC_<CLASS>_<MASSARCODE>.xlsx here"
    )
    p.set_defaults(handler=cmd_export_grades)

    p = common(sub.add_parser("bulletin", help="printable report cards (HTML, one pupil a page)"))
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--student", help="one pupil's code")
    who.add_argument("--class", dest="class_code", help="every pupil of a class")
    p.add_argument("--semester", required=True, choices=["1", "2"])
    p.add_argument(
        "-o", "--output", metavar="FILE.html", help="default: bulletins_<CLASS|CODE>_S<n>.html here; '-' for stdout"
    )
    p.set_defaults(handler=cmd_bulletin)


def _store(args: Any) -> NodeStore:
    return NodeStore.open(data_dir(args.data))


def cmd_export_grades(args: Any) -> int:
    from syncclient.massar_export import export_grade_sheet

    store = _store(args)
    try:
        info = export_grade_sheet(store, args.class_code, args.subject, int(args.semester), args.output)
    finally:
        store.close()
    emit(
        args,
        info,
        f"wrote {info['file']}: {info['class']} {info['subject']} (Massar {info['massar_subject']}) "
        f"S{info['semester']}, {info['pupils']} pupils, {info['marks']} marks",
    )
    return 0


def cmd_bulletin(args: Any) -> int:
    from syncclient.bulletins import class_pupils, render_bulletins

    store = _store(args)
    semester = int(args.semester)
    try:
        if args.student:
            pupils = [check_pupil_code(args.student)]
            name = pupils[0]
        else:
            pupils = class_pupils(store, args.class_code)
            name = args.class_code.strip().upper()
        html = render_bulletins(store, pupils, semester)
    finally:
        store.close()
    if args.output == "-":
        sys.stdout.write(html)
        return 0
    path = Path(args.output or f"bulletins_{name}_S{semester}.html")
    path.write_text(html, encoding="utf-8")
    emit(
        args,
        {"file": str(path), "pupils": len(pupils), "semester": semester},
        f"wrote {path}: {len(pupils)} bulletin(s), semester {semester}",
    )
    return 0
