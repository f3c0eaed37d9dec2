"""Absences per pupil and day: 8 hour slots or the full day, justified later."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlite_utils

from .codes import parse_date
from .database import write_transaction
from .errors import FileRejected, InvalidInput, NotFound, RowError
from .pupils import Term, enrolment_of, enrolments_by_pupil
from .rows import delete_keys, upsert_rows
from .rules import FULL_DAY, HOUR_SLOTS, hours_mask


@dataclass(frozen=True)
class AbsenceEntry:
    pupil: str
    day: dt.date
    hours: int  # bit mask; FULL_DAY for the whole day
    justified: bool = False
    reason: str | None = None
    recorded_by: str | None = None


def parse_hours(text: str) -> int:
    parts = [p for p in str(text).replace(";", ",").split(",") if p.strip()]
    try:
        hours = [int(p) for p in parts]
    except ValueError:
        raise InvalidInput(
            f"hours must be slot numbers 1-{HOUR_SLOTS}, like 1,2,3; not {text!r}", code="bad_hours"
        ) from None
    if not hours or any(h < 1 or h > HOUR_SLOTS for h in hours):
        raise InvalidInput(f"hours must be slot numbers 1-{HOUR_SLOTS}, not {text!r}", code="bad_hours")
    return hours_mask(hours)


def record_absences(db: sqlite_utils.Database, term: Term, entries: Sequence[AbsenceEntry]) -> int:
    """Add the slots to each pupil's day (a second roll-call the same day adds hours)."""
    known = enrolments_by_pupil(db, term)
    for e in entries:
        if e.pupil not in known:
            enrolment_of(db, term, e.pupil)
        if e.day > dt.date.today():
            raise InvalidInput(f"date {e.day} is in the future", code="date_in_future")
        if not 0 < e.hours <= FULL_DAY:
            raise InvalidInput("no hour slot given", code="bad_hours")
    today = dt.date.today().isoformat()
    with write_transaction(db):
        # Keyed by (pupil, day): two entries for one day in the same batch (two roll-calls
        # in one file) add up like two separate calls, instead of the last one winning.
        rows: dict[tuple[str, str], tuple] = {}
        for e in entries:
            key = (e.pupil, e.day.isoformat())
            old = (
                rows.get(key)
                or db.execute(
                    "SELECT school, pupil, day, hours, justified, reason, justified_on, recorded_by "
                    "FROM absences WHERE pupil = ? AND day = ?",
                    list(key),
                ).fetchone()
            )
            hours = e.hours | (old[3] if old else 0)
            justified = (old[4] if old else 0) | (e.hours if e.justified else 0)
            reason = e.reason if e.justified and e.reason else (old[5] if old else None)
            justified_on = today if e.justified else (old[6] if old else None)
            recorded_by = e.recorded_by or (old[7] if old else None)
            rows[key] = (term.school, *key, hours, justified & hours, reason, justified_on, recorded_by)
        upsert_rows(db, "absences", rows.values())
    return len(entries)


def justify_absence(
    db: sqlite_utils.Database, term: Term, pupil: str, day: dt.date, reason: str, hours: int | None = None
) -> int:
    """Mark slots (default: all recorded ones) justified; returns the justified mask."""
    if not reason.strip():
        raise InvalidInput("a justification needs a reason", code="missing_reason")
    enrolment_of(db, term, pupil)
    with write_transaction(db):
        row = db.execute(
            "SELECT hours, justified, recorded_by FROM absences WHERE pupil = ? AND day = ? AND school = ?",
            [pupil, day.isoformat(), term.school],
        ).fetchone()
        if not row:
            raise NotFound(f"no absence recorded for {pupil} on {day}", code="unknown_absence")
        wanted = row[0] if hours is None else hours
        if wanted & ~row[0]:
            raise InvalidInput(f"{pupil} was not absent at every one of those hours on {day}", code="hours_not_absent")
        justified = row[1] | wanted
        upsert_rows(
            db,
            "absences",
            [
                (
                    term.school,
                    pupil,
                    day.isoformat(),
                    row[0],
                    justified,
                    reason.strip(),
                    dt.date.today().isoformat(),
                    row[2],
                )
            ],
        )
    return justified


ABSENCES_CSV_HEADER = ("code", "date", "hours", "full_day", "justified", "reason")


def absence_entries_from_rows(
    db: sqlite_utils.Database, term: Term, rows: Iterable[tuple[int, dict]]
) -> list[AbsenceEntry]:
    from .grades import _flag

    known = enrolments_by_pupil(db, term)
    entries, errors = [], []
    for line, row in rows:
        try:
            pupil = (row.get("code") or "").strip().upper()
            if pupil not in known:
                enrolment_of(db, term, pupil)
            day = parse_date(row.get("date") or "", field="date")
            full_day = _flag(row.get("full_day"))
            hours_text = (row.get("hours") or "").strip()
            if full_day and hours_text:
                raise InvalidInput("give hours or full_day, not both", code="bad_hours")
            hours = FULL_DAY if full_day else parse_hours(hours_text)
            justified = _flag(row.get("justified"))
            entries.append(AbsenceEntry(pupil, day, hours, justified, (row.get("reason") or "").strip() or None))
        except (InvalidInput, NotFound) as exc:
            errors.append(RowError(line, str(exc)))
    if errors:
        raise FileRejected(f"{len(errors)} bad row(s); nothing was imported", errors)
    return entries


def day_of_class(db: sqlite_utils.Database, term: Term, class_code: str, day: dt.date) -> dict[str, int]:
    """pupil -> absent hours mask of that class on that day."""
    rows = db.execute(
        "SELECT a.pupil, a.hours FROM absences a JOIN enrolments e ON e.pupil = a.pupil "
        "WHERE e.school = ? AND e.year = ? AND e.class = ? AND a.day = ?",
        [term.school, term.year, class_code, day.isoformat()],
    ).fetchall()
    return dict(rows)


def absences_of_class(db: sqlite_utils.Database, term: Term, class_code: str) -> list[dict]:
    """This year's absences of a class, days with unjustified hours first, newest first."""
    start, end = term.year.split("/")
    rows = db.execute(
        "SELECT a.pupil, a.day, a.hours, a.justified, a.reason FROM absences a "
        "JOIN enrolments e ON e.pupil = a.pupil AND e.school = a.school "
        "WHERE e.school = ? AND e.year = ? AND e.class = ? AND a.day BETWEEN ? AND ? "
        "ORDER BY (a.hours & ~a.justified) = 0, a.day DESC",
        [term.school, term.year, class_code, f"{start}-09-01", f"{end}-08-31"],
    ).fetchall()
    return [
        {"pupil": pupil, "day": day, "mask": hours, "justified": justified, "reason": reason}
        for pupil, day, hours, justified, reason in rows
    ]


@dataclass(frozen=True)
class RollCallRow:
    """One pupil's ticks as saved, and as the page showed them (None: not sent, take the stored ones)."""

    pupil: str
    hours: int  # the mask ticked now; 0 = present
    shown: int | None


@dataclass(frozen=True)
class HoursChange:
    pupil: str
    before: int
    after: int


@dataclass(frozen=True)
class HoursConflict:
    """Someone else changed this pupil's day since the page was opened."""

    pupil: str
    theirs: int
    yours: int


@dataclass
class RollCallSave:
    changes: list[HoursChange]
    conflicts: list[HoursConflict]


def save_roll_call(
    db: sqlite_utils.Database, term: Term, day: dt.date, rows: Sequence[RollCallRow], *, by: str | None = None
) -> RollCallSave:
    """Set each pupil's absent hours of the day to what was ticked: adding, correcting or removing.

    Only rows ticked differently from what the page showed change; a row someone
    else changed since is a conflict and nothing is written. Justified hours that
    stay absent stay justified. Returns the changes (for the correction history).
    """
    if day > dt.date.today():
        raise InvalidInput(f"date {day} is in the future", code="date_in_future")
    known = enrolments_by_pupil(db, term)
    for row in rows:
        if row.pupil not in known:
            enrolment_of(db, term, row.pupil)
        if not 0 <= row.hours <= FULL_DAY or (row.shown is not None and not 0 <= row.shown <= FULL_DAY):
            raise InvalidInput("hours must be slots 1-8", code="bad_hours")
    with write_transaction(db):
        stored = {
            r[0]: r
            for r in db.execute(
                "SELECT pupil, hours, justified, reason, justified_on FROM absences WHERE day = ? AND school = ?",
                [day.isoformat(), term.school],
            ).fetchall()
        }
        changes, conflicts = [], []
        for row in rows:
            now = stored[row.pupil][1] if row.pupil in stored else 0
            shown = now if row.shown is None else row.shown
            if row.hours in (shown, now):
                continue
            if now != shown:
                conflicts.append(HoursConflict(row.pupil, now, row.hours))
                continue
            changes.append(HoursChange(row.pupil, now, row.hours))
        if conflicts:
            return RollCallSave([], conflicts)
        upserts, deletes = [], []
        for c in changes:
            if c.after == 0:
                deletes.append((c.pupil, day.isoformat()))
                continue
            old = stored.get(c.pupil)
            justified = (old[2] if old else 0) & c.after
            reason = old[3] if old and justified else None
            justified_on = old[4] if old and justified else None
            upserts.append((term.school, c.pupil, day.isoformat(), c.after, justified, reason, justified_on, by))
        upsert_rows(db, "absences", upserts)
        delete_keys(db, "absences", deletes)
    return RollCallSave(changes, [])
