"""The class council's year-end decision (مجلس القسم).

The annual average only proposes (pass at the scale's threshold); the council
decides, and may decide otherwise. Its decision is what the bulletin and the
parents' page show; until there is one they show the proposal, marked so.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlite_utils

from .database import write_transaction
from .errors import InvalidInput
from .pupils import Term, enrolment_of
from .rows import upsert_dicts

DECISIONS = ("pass", "repeat", "reorient", "exclude", "leave")
MAX_NOTE = 300

# How each decision reads on a bulletin (masculine, feminine) and on a French page.
WORDS_AR = {
    "pass": ("ينتقل", "تنتقل"),
    "repeat": ("يكرر", "تكرر"),
    "reorient": ("إعادة التوجيه", "إعادة التوجيه"),
    "exclude": ("مفصول", "مفصولة"),
    "leave": ("مغادر", "مغادرة"),
}
WORDS_FR = {
    "pass": "passe en classe supérieure",
    "repeat": "redouble",
    "reorient": "réorientation",
    "exclude": "exclusion",
    "leave": "départ",
}


def check_decision(text: str) -> str:
    value = (text or "").strip().lower()
    if value not in DECISIONS:
        raise InvalidInput(f"unknown council decision {text!r}: one of {', '.join(DECISIONS)}", code="bad_decision")
    return value


def check_note(note: str | None) -> str | None:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"the note is longer than {MAX_NOTE} characters", code="too_long")
    return note or None


def decide(
    db: sqlite_utils.Database, term: Term, pupil: str, decision: str, note: str | None = None, *, today: dt.date
) -> dict[str, Any]:
    """Record (or change) the council's decision for a pupil of this school and year."""
    decision, note = check_decision(decision), check_note(note)
    with write_transaction(db):
        enrolment_of(db, term, pupil)
        row = {
            "school": term.school,
            "year": term.year,
            "pupil": pupil,
            "decision": decision,
            "note": note,
            "decided_on": today.isoformat(),
        }
        upsert_dicts(db, "council_decisions", [row])
    return row


def decision_of(db: sqlite_utils.Database, year: str, pupil: str) -> dict[str, Any] | None:
    row = db.execute(
        "SELECT decision, note, decided_on FROM council_decisions WHERE year = ? AND pupil = ?", [year, pupil]
    ).fetchone()
    return None if row is None else {"decision": row[0], "note": row[1], "decided_on": row[2]}


def proposal(passed: bool | None) -> str | None:
    """The average's proposal: pass or repeat, None while the year's average is incomplete."""
    return None if passed is None else ("pass" if passed else "repeat")


def council_view(decision: dict[str, Any] | None, proposed: str | None) -> dict[str, Any]:
    """What pages and the bulletin show: the council's decision, else the proposal marked as such."""
    if decision is not None:
        return {"decision": decision["decision"], "status": "decided", "note": decision["note"]}
    if proposed is not None:
        return {"decision": proposed, "status": "proposed", "note": None}
    return {"decision": None, "status": "pending", "note": None}


def word_ar(decision: str, gender: str) -> str:
    male, female = WORDS_AR[decision]
    return female if gender == "F" else male
