"""Alerts for the parent terminal, generated on the node.

Three kinds:
  * absence  -- a new unjustified absence (or new unjustified hours on a day);
  * incident -- a behaviour incident;
  * average  -- a subject's semester average dropped by AVERAGE_DROP points or more.

Absences and incidents are caught by SQL triggers, so rows that arrive by sync
raise alerts exactly like rows typed on this PC. Averages are derived data:
`refresh_average_alerts` compares the current subject averages with the last
snapshot it stored and is called when the parent opens the terminal (and by
the staff grade sheet around each save). Only events of the last
ALERT_WINDOW_DAYS days (domain/alert_tables.py) raise alerts, so the first sync of a whole year of
history does not bury a parent under old news.

The tables are node-local (underscore prefix): they never travel.
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal

import sqlite_utils

from domain.database import write_transaction
from domain.evaluation import rules_for
from domain.pupils import Term, enrolment_of
from domain.results import Mark, subject_average
from domain.rules import ACTIVITIES, from_hundredths, hundredths

AVERAGE_DROP = Decimal(2)  # points, whatever the scale (the rule)


def current_averages(db: sqlite_utils.Database, term: Term, pupil: str) -> dict[tuple[int, str], Decimal]:
    """(semester, subject) -> the subject's semester average, for subjects with marks."""
    level = enrolment_of(db, term, pupil).level
    rules = rules_for(db, term.year, level)
    marks: dict[tuple[int, str], list[Mark]] = defaultdict(list)
    for semester, subject, assessment, score, absent, justified in db.execute(
        "SELECT semester, subject, assessment, score, absent, justified FROM grades WHERE year = ? AND pupil = ?",
        [term.year, pupil],
    ).fetchall():
        if subject in rules:
            value = None if score is None else from_hundredths(score)
            marks[(semester, subject)].append(Mark(assessment, value, bool(absent), bool(justified)))
    out = {}
    for (semester, subject), ms in marks.items():
        tests = [m for m in ms if m.assessment != ACTIVITIES]
        act = next((m for m in ms if m.assessment == ACTIVITIES), None)
        average = subject_average(rules[subject], tests, act)
        if average is not None:
            out[(semester, subject)] = average
    return out


def refresh_average_alerts(db: sqlite_utils.Database, term: Term, pupil: str) -> int:
    """Compare averages with the stored snapshot; add an alert per drop of AVERAGE_DROP or more."""
    now = current_averages(db, term, pupil)
    before = {
        (sem, subj): avg
        for sem, subj, avg in db.execute(
            "SELECT semester, subject, average FROM _average_snapshots WHERE year = ? AND pupil = ?",
            [term.year, pupil],
        ).fetchall()
    }
    changed = {k: hundredths(v) for k, v in now.items() if before.get(k) != hundredths(v)}
    if not changed:
        return 0
    added = 0
    with write_transaction(db):
        for (semester, subject), value in changed.items():
            old = before.get((semester, subject))
            if old is not None and from_hundredths(old) - from_hundredths(value) >= AVERAGE_DROP:
                detail = {"subject": subject, "semester": semester, "before": old, "after": value}
                cur = db.conn.execute(
                    "INSERT INTO _alerts (pupil, kind, ref, detail) VALUES (?, 'average', ?, ?) "
                    "ON CONFLICT (pupil, kind, ref) DO NOTHING",
                    [pupil, f"{term.year}/{semester}/{subject}/{old}/{value}", json.dumps(detail)],
                )
                added += cur.rowcount
            db.conn.execute(
                "INSERT INTO _average_snapshots (year, pupil, semester, subject, average) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (year, pupil, semester, subject) DO UPDATE SET average = excluded.average",
                [term.year, pupil, semester, subject, value],
            )
    return added


def alerts_for(db: sqlite_utils.Database, pupil: str, *, limit: int = 50) -> list[dict]:
    """Unread first, newest first."""
    rows = db.execute(
        "SELECT id, kind, ref, detail, created_at, read_at FROM _alerts WHERE pupil = ? "
        "ORDER BY read_at IS NOT NULL, created_at DESC, id DESC LIMIT ?",
        [pupil, limit],
    ).fetchall()
    return [
        {
            "id": r[0],
            "kind": r[1],
            "ref": r[2],
            "detail": json.loads(r[3]) if r[3] else {},
            "created_at": r[4],
            "read": r[5] is not None,
        }
        for r in rows
    ]


def unread_count(db: sqlite_utils.Database, pupil: str) -> int:
    return db.execute("SELECT COUNT(*) FROM _alerts WHERE pupil = ? AND read_at IS NULL", [pupil]).fetchone()[0]


def mark_read(db: sqlite_utils.Database, pupil: str, alert_id: int | None = None) -> int:
    """Mark one alert (or all, with None) of this pupil read; returns how many changed."""
    with write_transaction(db):
        sql = "UPDATE _alerts SET read_at = strftime('%Y-%m-%dT%H:%M:%S', 'now') WHERE pupil = ? AND read_at IS NULL"
        params: list = [pupil]
        if alert_id is not None:
            sql += " AND id = ?"
            params.append(alert_id)
        return db.conn.execute(sql, params).rowcount


def alert_exists(db: sqlite_utils.Database, pupil: str, alert_id: int) -> bool:
    return db.execute("SELECT 1 FROM _alerts WHERE id = ? AND pupil = ?", [alert_id, pupil]).fetchone() is not None
