"""The node's alert tables for the parents' terminal (see syncclient/alerts.py).

Their schema lives here, beside the other migrations of domain/migrations.py,
so that every schema change of either replica is listed in one place.
"""

from __future__ import annotations

import sqlite_utils

from .database import execute_script

ALERT_WINDOW_DAYS = 30

_UPSERT_ABSENCE = (
    "INSERT INTO _alerts (pupil, kind, ref, detail) "
    "VALUES (NEW.pupil, 'absence', NEW.day, json_object('hours', NEW.hours & ~NEW.justified)) "
    "ON CONFLICT (pupil, kind, ref) DO UPDATE SET detail = excluded.detail, read_at = NULL, "
    "created_at = excluded.created_at;"
)
_RECENT = f"NEW.day >= date('now', '-{ALERT_WINDOW_DAYS} days')"

ALERTS_SQL = f"""
CREATE TABLE _alerts (
    id INTEGER PRIMARY KEY,
    pupil TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('absence', 'average', 'incident')),
    ref TEXT NOT NULL,
    detail TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now')),
    read_at TEXT,
    UNIQUE (pupil, kind, ref)
);
CREATE TABLE _average_snapshots (
    year TEXT NOT NULL,
    pupil TEXT NOT NULL,
    semester INTEGER NOT NULL,
    subject TEXT NOT NULL,
    average INTEGER NOT NULL,
    PRIMARY KEY (year, pupil, semester, subject)
);
CREATE TRIGGER _alert_absence_insert AFTER INSERT ON absences
WHEN (NEW.hours & ~NEW.justified) != 0 AND {_RECENT}
BEGIN
  {_UPSERT_ABSENCE}
END;
CREATE TRIGGER _alert_absence_update AFTER UPDATE OF hours, justified ON absences
WHEN ((NEW.hours & ~NEW.justified) & ~(OLD.hours & ~OLD.justified)) != 0 AND {_RECENT}
BEGIN
  {_UPSERT_ABSENCE}
END;
CREATE TRIGGER _alert_incident_insert AFTER INSERT ON incidents
WHEN {_RECENT}
BEGIN
  INSERT INTO _alerts (pupil, kind, ref, detail) VALUES (NEW.pupil, 'incident', NEW.day || '#' || NEW.n, NULL)
  ON CONFLICT (pupil, kind, ref) DO NOTHING;
END;
-- A provisional code replaced by the Massar code: the alerts follow the pupil.
CREATE TRIGGER _alert_rekey AFTER UPDATE OF pupil ON enrolments WHEN OLD.pupil IS NOT NEW.pupil
BEGIN
  UPDATE OR IGNORE _alerts SET pupil = NEW.pupil WHERE pupil = OLD.pupil;
  UPDATE OR IGNORE _average_snapshots SET pupil = NEW.pupil WHERE pupil = OLD.pupil;
END;
"""


def install_alerts(db: sqlite_utils.Database) -> None:
    """Node migration 3: the alert tables and their triggers."""
    execute_script(db, ALERTS_SQL)
