"""Enrolling this year's pupils into the classes of the next school year."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlite_utils

from .database import write_transaction
from .errors import NotFound
from .pupils import Term
from .rows import delete_keys, upsert_dicts


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


@dataclass(frozen=True)
class Placement:
    """A pupil's class next year as chosen now, and as the page showed it (None: not sent)."""

    pupil: str
    new_class: str  # "" = not placed
    shown: str | None = None


@dataclass(frozen=True)
class PlacementConflict:
    pupil: str
    theirs: str
    yours: str


@dataclass
class Reenrolment:
    enrolled: int = 0
    removed: int = 0
    conflicts: list[PlacementConflict] = field(default_factory=list)


def reenrol(
    db: sqlite_utils.Database, term: Term, choices: Sequence[Placement], *, from_class: str | None = None
) -> Reenrolment:
    """Place each pupil in a class of the next school year, all or nothing.

    The class must already exist in the next year: a typo never creates a class
    (creating one is `pupils.create_class`, a deliberate action of its own).
    A choice equal to what the page showed changes nothing; one whose pupil was
    placed differently by someone else since is a conflict, and nothing is written.
    Emptying a placement the page showed removes it; without `shown`, empty means "leave it".
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
    result = Reenrolment()
    with write_transaction(db):
        placed = placements(db, term)
        writes, removals = [], []
        for choice in choices:
            pupil, new_class = choice.pupil.strip().upper(), choice.new_class.strip().upper()
            if pupil not in current or (from_class is not None and current[pupil] != from_class):
                raise NotFound(f"pupil {pupil} is not in class {from_class or 'of this school'}", code="not_in_class")
            if new_class and new_class not in classes:
                raise NotFound(f"class {new_class} does not exist in {following.year}", code="unknown_class")
            now = placed.get(pupil, "")
            shown = now if choice.shown is None else choice.shown.strip().upper()
            if new_class in (shown, now) or (not new_class and choice.shown is None):
                continue
            if now != shown:
                result.conflicts.append(PlacementConflict(pupil, now, new_class))
            elif new_class:
                writes.append({"school": following.school, "year": following.year, "pupil": pupil, "class": new_class})
            else:
                removals.append((following.year, pupil))
        if result.conflicts:
            return result
        upsert_dicts(db, "enrolments", writes)
        for row in writes:
            # Re-enrolment and the year flow are one record: the year's proposal counts as confirmed.
            db.conn.execute(
                "UPDATE year_outcomes SET next_class = ?, next_level = "
                "(SELECT level FROM classes WHERE school = ? AND year = ? AND code = ?), confirmed = 1 "
                "WHERE year = ? AND pupil = ? AND outcome != 'leaver'",
                [row["class"], row["school"], row["year"], row["class"], term.year, row["pupil"]],
            )
        delete_keys(db, "enrolments", removals)
    result.enrolled, result.removed = len(writes), len(removals)
    return result
