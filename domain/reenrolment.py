"""Enrolling this year's pupils into the classes of the next school year."""

from __future__ import annotations

from collections.abc import Sequence

import sqlite_utils

from .database import write_transaction
from .errors import NotFound
from .pupils import Term
from .rows import upsert_dicts


def next_year(year: str) -> str:
    start = int(year.split("/")[0]) + 1
    return f"{start}/{start + 1}"


def next_term(term: Term) -> Term:
    return Term(term.school, next_year(term.year))


def placements(db: sqlite_utils.Database, term: Term) -> dict[str, str]:
    """pupil -> class already chosen for next year."""
    following = next_term(term)
    rows = db.execute(
        "SELECT pupil, class FROM enrolments WHERE school = ? AND year = ?", [following.school, following.year]
    ).fetchall()
    return dict(rows)


def reenrol(
    db: sqlite_utils.Database,
    term: Term,
    choices: Sequence[tuple[str, str]],
    *,
    from_class: str | None = None,
) -> int:
    """Enrol each (pupil, next year's class) pair, all or nothing; returns how many were enrolled.

    The class must already exist in the next year: a typo never creates a class
    (creating one is `pupils.create_class`, a deliberate action of its own).
    """
    following = next_term(term)
    current = dict(
        db.execute(
            "SELECT pupil, class FROM enrolments WHERE school = ? AND year = ?", [term.school, term.year]
        ).fetchall()
    )
    classes = {
        r[0]
        for r in db.execute(
            "SELECT code FROM classes WHERE school = ? AND year = ?", [following.school, following.year]
        ).fetchall()
    }
    count = 0
    with write_transaction(db):
        for pupil, new_class in choices:
            pupil, new_class = pupil.strip().upper(), new_class.strip().upper()
            if pupil not in current or (from_class is not None and current[pupil] != from_class):
                raise NotFound(f"pupil {pupil} is not in class {from_class or 'of this school'}", code="not_in_class")
            if not new_class:
                continue
            if new_class not in classes:
                raise NotFound(f"class {new_class} does not exist in {following.year}", code="unknown_class")
            upsert_dicts(
                db,
                "enrolments",
                [{"school": following.school, "year": following.year, "pupil": pupil, "class": new_class}],
            )
            count += 1
    return count
