"""Migration step 15 on a node file of step 14: the SMS outbox is rebuilt with a topic, every message
already queued or sent is kept as it was, and what the old key swallowed is told from then on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from domain import council, pupils
from domain.codes import school_year_of
from domain.guardians import record_guardian
from domain.migrations import latest
from domain.replication import Side
from syncclient.semesters import close_semester
from syncclient.store import DB_NAME, NodeStore
from tests.support.downgrade import downgrade

TODAY = dt.date.today()
COLUMNS = "id, pupil, kind, day, phone, lang, text, state, attempts, sent_at"


def test_the_outbox_of_step_14_keeps_its_messages_and_tells_a_second_semester(tmp_path: Path) -> None:
    folder = tmp_path / "node"
    store = NodeStore.init(folder, "S001", year=school_year_of(TODAY))
    for code, lang in (("A100000001", "ar"), ("B100000002", "fr")):
        pupils.register_pupil(
            store.db, store.term, class_code="3APIC-1", last_name="X", first_name="Nour", gender="F", code=code
        )
        record_guardian(
            store.db, store.term, code, name="P", relation="mother", phone="0612345678", lang=lang, sms_consent=True
        )
    close_semester(store.db, store.school, store.term.year, 1, "dir")
    store.db.execute(
        "UPDATE _sms_outbox SET state = 'sent', attempts = 1, sent_at = '2025-01-31T10:00:00' WHERE id = 1"
    )
    before = store.db.execute(f"SELECT {COLUMNS} FROM _sms_outbox ORDER BY id").fetchall()
    assert len(before) == 2
    store.close()
    downgrade(folder / DB_NAME, Side.NODE, 14)

    store = NodeStore.open(folder)
    try:
        db = store.db
        assert db.execute("PRAGMA user_version").fetchone() == (latest(),)
        assert db.execute(f"SELECT {COLUMNS} FROM _sms_outbox ORDER BY id").fetchall() == before
        assert db.execute("SELECT DISTINCT topic FROM _sms_outbox").fetchall() == [("",)]
        # Semester 2 closed the same day as semester 1 is told.
        close_semester(db, store.school, store.term.year, 2, "dir")
        assert db.execute("SELECT kind, topic FROM _sms_outbox WHERE id > 2 ORDER BY id").fetchall() == [
            ("results", "2"),
            ("results", "2"),
        ]
        council.decide(db, store.term, "A100000001", "repeat", today=TODAY)
        db.execute("UPDATE _sms_outbox SET state = 'sent' WHERE kind = 'council'")
        council.decide(db, store.term, "A100000001", "pass", today=TODAY)
        assert db.execute("SELECT state FROM _sms_outbox WHERE kind = 'council' ORDER BY id").fetchall() == [
            ("sent",),
            ("queued",),
        ]
    finally:
        store.close()
