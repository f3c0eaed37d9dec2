"""The parents' SMS outbox as the node's code sees it: results published by hand, counts, the list.

The table, its triggers and the message templates are in `domain/sms_tables.py` (migration steps 8, 15).
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

from domain.database import write_transaction
from domain.sms_tables import COUNCIL_WORDS, KINDS, NAME_CHARS, STATES, TEMPLATES, TOPIC_KEY, _text_sql

__all__ = [
    "COUNCIL_WORDS",
    "KINDS",
    "NAME_CHARS",
    "STATES",
    "TEMPLATES",
    "outbox_counts",
    "outbox_rows",
    "queue_results",
]


def queue_results(db: sqlite_utils.Database, pupils: list[str], semester: int) -> int:
    """Results published for these pupils outside a semester's closure (closing a semester queues them
    by trigger): one message each, in the caller's transaction."""
    added = 0
    with write_transaction(db):
        for pupil in pupils:
            cur = db.conn.execute(
                f"""INSERT INTO _sms_outbox (pupil, kind, day, phone, lang, text, topic)
                SELECT ?, 'results', date('now'), g.phone, g.lang, {_text_sql("results", date="''", detail="?")}, ?
                FROM guardians g JOIN pupils p ON p.code = g.pupil
                WHERE g.pupil = ? AND g.sms_consent = 1 AND g.phone IS NOT NULL
                ORDER BY g.n LIMIT 1
                ON CONFLICT {TOPIC_KEY} DO NOTHING""",
                [pupil, str(semester), str(semester), str(semester), pupil],
            )
            added += cur.rowcount
    return added


def outbox_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """queued / sending / sent / delivered / failed, every state present (0 when none)."""
    counts = dict.fromkeys(STATES, 0)
    for state, n in db.execute("SELECT state, COUNT(*) FROM _sms_outbox GROUP BY state").fetchall():
        counts[state] = n
    return counts


def outbox_rows(db: sqlite_utils.Database, *, limit: int = 200) -> list[dict[str, Any]]:
    cols = ("id", "pupil", "kind", "day", "phone", "lang", "text", "state", "attempts", "sent_at", "last_error")
    rows = db.execute(f"SELECT {', '.join(cols)} FROM _sms_outbox ORDER BY id DESC LIMIT ?", [limit]).fetchall()
    return [dict(zip(cols, r, strict=True)) for r in rows]
