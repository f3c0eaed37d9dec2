"""The options of one mark, shared by `massar node grade` and `massar server grade`."""

from __future__ import annotations

import argparse
from typing import Any

from domain import grades
from domain.codes import check_pupil_code
from domain.errors import InvalidInput


def add_grade_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--student", required=True)
    p.add_argument("--subject", required=True)
    p.add_argument("--semester", required=True, choices=["1", "2"])
    p.add_argument("--assessment", required=True, choices=["1", "2", "3", "4", "activities"])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--score")
    g.add_argument("--absent", action="store_true")
    p.add_argument("--justified", action="store_true", help="with --absent: the absence is justified (مبرر)")
    p.add_argument("--remark")


def grade_entry_from_args(args: Any) -> grades.GradeEntry:
    if args.justified and not args.absent:
        raise InvalidInput("--justified goes with --absent", code="bad_flag")
    return grades.GradeEntry(
        pupil=check_pupil_code(args.student),
        subject=args.subject.upper(),
        semester=int(args.semester),
        assessment=grades.parse_assessment(args.assessment),
        score=None if args.absent else grades.parse_score(args.score),
        absent=args.absent,
        justified=args.justified,
        remark=args.remark,
    )
