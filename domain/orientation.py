"""Orientation (التوجيه): wishes by round, the council's orientation decision, the appeal window.

Pupils at the end of collège, in tronc commun and in 1BAC choose, in order,
among the streams open at the next level: the lycée levels one step up (from
the levels table) and vocational training. The centre publishes each round's
dates; a family may enter wishes at the terminal only while the round is open,
the secretariat any time (from the paper form).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import sqlite_utils

from .council import check_note
from .database import write_transaction
from .errors import Conflict, InvalidInput, NotAllowed, NotFound
from .pupils import Term, enrolment_of
from .rows import upsert_dicts

ROUNDS = ("first", "final")
VOCATIONAL = "FP"  # التكوين المهني: leaves the school system's levels
MAX_CHOICES = 9
DEFAULT_APPEAL_DAYS = 15


def check_round(text: str) -> str:
    value = (text or "").strip().lower()
    if value not in ROUNDS:
        raise InvalidInput(f"unknown round {text!r}: first or final", code="bad_round")
    return value


def streams_after(db: sqlite_utils.Database, level: str) -> list[str]:
    """Streams a pupil of `level` may choose: lycée levels one step up, and vocational training."""
    row = db.execute("SELECT cycle, ord FROM levels WHERE code = ?", [level]).fetchone()
    if row is None or row[0] == "primary":
        return []
    cycle, order = row
    nxt = [
        r[0]
        for r in db.execute(
            "SELECT code FROM levels WHERE cycle = 'lycee' AND ord = ? ORDER BY code", [order + 1]
        ).fetchall()
    ]
    if not nxt:
        return []
    if cycle == "college":
        return [*nxt, VOCATIONAL]
    return nxt


def _streams_of_pupil(db: sqlite_utils.Database, term: Term, pupil: str) -> list[str]:
    level = enrolment_of(db, term, pupil).level
    streams = streams_after(db, level)
    if not streams:
        raise Conflict(f"pupil {pupil} ({level}) has no orientation to choose this year", code="no_orientation")
    return streams


def round_dates(db: sqlite_utils.Database, year: str, round_: str) -> tuple[str, str, int] | None:
    row = db.execute(
        "SELECT opens_on, closes_on, appeal_days FROM orientation_rounds WHERE year = ? AND round = ?",
        [year, round_],
    ).fetchone()
    return None if row is None else (row[0], row[1], int(row[2]))


def open_round(db: sqlite_utils.Database, year: str, today: dt.date) -> str | None:
    """The round open today (the final one when both are), None when none is."""
    for round_ in reversed(ROUNDS):
        dates = round_dates(db, year, round_)
        if dates and dates[0] <= today.isoformat() <= dates[1]:
            return round_
    return None


def parse_choices(text: str) -> list[str]:
    return [c.strip().upper() for c in (text or "").split(",") if c.strip()]


def record_wishes(
    db: sqlite_utils.Database,
    term: Term,
    pupil: str,
    choices: list[str],
    round_: str,
    *,
    by_family: bool = False,
    today: dt.date,
) -> list[str]:
    """Replace the pupil's wishes of this round by `choices`, in order of preference."""
    round_ = check_round(round_)
    with write_transaction(db):
        streams = _streams_of_pupil(db, term, pupil)
        if not choices:
            raise InvalidInput("give at least one choice", code="no_choice")
        if len(choices) > MAX_CHOICES:
            raise InvalidInput(f"at most {MAX_CHOICES} choices", code="too_many_choices")
        if len(set(choices)) != len(choices):
            raise InvalidInput("a stream is chosen twice", code="duplicate_choice")
        unknown = [c for c in choices if c not in streams]
        if unknown:
            raise InvalidInput(
                f"{', '.join(unknown)} is not open after this level: choose among {', '.join(streams)}",
                code="bad_choice",
            )
        if by_family and open_round(db, term.year, today) != round_:
            raise NotAllowed(f"the {round_} round of wishes is not open today", code="round_closed")
        db.conn.execute(
            "DELETE FROM orientation_wishes WHERE year = ? AND pupil = ? AND round = ? AND rank > ?",
            [term.year, pupil, round_, len(choices)],
        )
        upsert_dicts(
            db,
            "orientation_wishes",
            [
                {"school": term.school, "year": term.year, "pupil": pupil, "round": round_, "rank": i, "choice": c}
                for i, c in enumerate(choices, start=1)
            ],
        )
    return choices


def wishes_of(db: sqlite_utils.Database, year: str, pupil: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {r: [] for r in ROUNDS}
    for round_, choice in db.execute(
        "SELECT round, choice FROM orientation_wishes WHERE year = ? AND pupil = ? ORDER BY round, rank",
        [year, pupil],
    ).fetchall():
        out[round_].append(choice)
    return out


def orient(
    db: sqlite_utils.Database, term: Term, pupil: str, stream: str, note: str | None = None, *, today: dt.date
) -> dict[str, Any]:
    """The council's orientation decision; the family may appeal until `appeal_until`."""
    stream, note = stream.strip().upper(), check_note(note)
    with write_transaction(db):
        streams = _streams_of_pupil(db, term, pupil)
        if stream not in streams:
            raise InvalidInput(
                f"{stream} is not open after this level: choose among {', '.join(streams)}", code="bad_choice"
            )
        dates = round_dates(db, term.year, "final")
        days = dates[2] if dates else DEFAULT_APPEAL_DAYS
        row = {
            "school": term.school,
            "year": term.year,
            "pupil": pupil,
            "decision": stream,
            "decided_on": today.isoformat(),
            "note": note,
            "appeal_until": (today + dt.timedelta(days=days)).isoformat(),
            "appeal_note": None,
            "appealed_on": None,
        }
        upsert_dicts(db, "orientation_decisions", [row])
    return row


def orientation_of(db: sqlite_utils.Database, year: str, pupil: str) -> dict[str, Any] | None:
    cols = ("decision", "decided_on", "note", "appeal_until", "appeal_note", "appealed_on")
    row = db.execute(
        f"SELECT {', '.join(cols)} FROM orientation_decisions WHERE year = ? AND pupil = ?", [year, pupil]
    ).fetchone()
    return None if row is None else dict(zip(cols, row, strict=True))


def appeal(db: sqlite_utils.Database, term: Term, pupil: str, note: str, *, today: dt.date) -> dict[str, Any]:
    """The family contests the orientation decision, with a note, inside the window."""
    note_text = check_note(note)
    if not note_text:
        raise InvalidInput("an appeal needs a note", code="missing_note")
    with write_transaction(db):
        enrolment_of(db, term, pupil)
        current = orientation_of(db, term.year, pupil)
        if current is None:
            raise NotFound(f"no orientation decision for {pupil} yet", code="no_decision")
        if current["appeal_until"] and today.isoformat() > current["appeal_until"]:
            raise NotAllowed(f"the appeal window closed on {current['appeal_until']}", code="appeal_closed")
        db.conn.execute(
            "UPDATE orientation_decisions SET appeal_note = ?, appealed_on = ? WHERE year = ? AND pupil = ?",
            [note_text, today.isoformat(), term.year, pupil],
        )
    return {**current, "appeal_note": note_text, "appealed_on": today.isoformat()}


def counts(db: sqlite_utils.Database, term: Term) -> list[dict[str, Any]]:
    """Per class and stream: first choices of each round, and council decisions."""
    table: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: {"first": 0, "final": 0, "decided": 0})
    for cls, round_, choice in db.execute(
        "SELECT e.class, w.round, w.choice FROM orientation_wishes w "
        "JOIN enrolments e ON e.year = w.year AND e.pupil = w.pupil "
        "WHERE w.school = ? AND w.year = ? AND w.rank = 1",
        [term.school, term.year],
    ).fetchall():
        table[(cls, choice)][round_] += 1
    for cls, stream in db.execute(
        "SELECT e.class, d.decision FROM orientation_decisions d "
        "JOIN enrolments e ON e.year = d.year AND e.pupil = d.pupil WHERE d.school = ? AND d.year = ?",
        [term.school, term.year],
    ).fetchall():
        table[(cls, stream)]["decided"] += 1
    return [{"class": c, "stream": s, **n} for (c, s), n in sorted(table.items())]
