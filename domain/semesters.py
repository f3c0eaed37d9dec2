"""Provisional results: a semester still being marked shows no rank and no annual result.

Until the school closes a semester (the director's action, once every mark is
in), its averages are provisional: shown with how many subjects are marked,
without a rank; the annual average and the decision wait until both
semesters are closed. A pure view of `results.pupil_report`'s output.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from typing import Any


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
