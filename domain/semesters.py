"""Provisional results: a semester still being marked shows no rank and no annual result.

Until the school closes a semester (the director's action, once every mark is
in), its averages are provisional: shown with how many subjects are marked,
without a rank; the annual average and the decision wait until both
semesters are closed. What a parent reads goes through here (the parents'
page, the printed bulletins), so no one shows a parent a rank the director
has not yet released; staff see every figure, marked provisional.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from typing import Any

import sqlite_utils

from .results import pupil_report


def provisional_report(report: dict[str, Any], closed: Collection[int]) -> dict[str, Any]:
    """The report as a parent may read it while semesters not in `closed` are still open."""
    view = copy.deepcopy(report)
    for key, semester in view["semesters"].items():
        subjects = semester["subjects"]
        semester["closed"] = int(key) in closed
        semester["subjects_marked"] = sum(1 for s in subjects if s["average"] is not None)
        semester["subjects_total"] = len(subjects)
        if not semester["closed"]:
            semester["rank"] = None
    if not (1 in closed and 2 in closed):
        view["annual_average"] = None
        view["decision"] = None
        view["annual_waiting"] = True
    else:
        view["annual_waiting"] = False
    return view


def closed_semesters(db: sqlite_utils.Database, year: str, school: str) -> set[int]:
    """The semesters the school's director has closed this year, on whichever of its devices: the
    closure is a synced record (domain/semester_closures.py), read the same on the centre."""
    rows = db.execute("SELECT semester FROM semester_closures WHERE school = ? AND year = ?", [school, year]).fetchall()
    return {r[0] for r in rows}


def staff_report(
    db: sqlite_utils.Database, year: str, pupil: str, *, school: str | None, semesters: Collection[int] = (1, 2)
) -> dict[str, Any]:
    """`results.pupil_report` for the school's staff: every figure, and which semesters are closed.

    On the centre (`school` None: the pupil's school that year) the same: the closures are synced.

    Staff prepare the class council from the provisional ranks, so nothing is
    hidden here; `closed_semesters` tells them what a parent may read yet.
    The semesters' figures stay exactly the centre's (`massar server report`).
    """
    report = pupil_report(db, year, pupil, school=school, semesters=tuple(semesters))
    report["closed_semesters"] = sorted(closed_semesters(db, year, report["school"]))
    return report
