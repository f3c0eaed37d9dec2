"""Writes the product has no command for but tests need: deleting one mark, finding a version row."""

from __future__ import annotations

import sqlite_utils

from domain.database import write_transaction
from domain.pupils import Term, enrolment_of
from domain.replication import KEY_SLOTS
from domain.rows import delete_keys


def delete_grade(
    db: sqlite_utils.Database, term: Term, pupil: str, subject: str, semester: int, assessment: int
) -> None:
    """Delete one mark through the domain's row helper, so the change is captured like any other."""
    enrolment_of(db, term, pupil)
    with write_transaction(db):
        delete_keys(db, "grades", [(term.year, pupil, subject, semester, assessment)])


def key_slots(key: tuple) -> tuple:
    """A natural key padded to the KEY_SLOTS columns of `_versions`."""
    return (*key, *(0,) * (KEY_SLOTS - len(key)))
