"""The parent-notification outbox (node-local), filled by SQL triggers in the same transaction as the event.

Triggers (like change capture) so that no code path can record an absence,
an incident, a decision or a semester's closure (its results published)
without its notification. Only local writes raise
one: rows applied from the centre (a restored backup, another PC's edits)
were notified where they were typed. In the family's language (Arabic unless
they chose French), to the first guardian who gave a mobile number and
consent; the texts are bounded so each fits one SMS (70 characters in Arabic,
160 in Latin letters).

How many: one message per pupil, kind, day and topic (UNIQUE, step 15).
Absences and incidents have one topic: the family hears once a day, however
many hours or incidents follow. Results are about their semester: two
semesters closed the same day are two messages. Each change of a council or
orientation decision is a message of its own, and drops the one of that kind
still waiting to go: the family is told the decision that stands. Before
step 15 the key was pupil, kind and day, which swallowed the second semester
and a decision corrected the same day.

States: queued -> sending (claimed by a sender) -> sent (the gateway accepted
it) -> delivered (delivery report), or failed. The table is node-local: it never travels.
"""

from __future__ import annotations

import sqlite_utils

from .database import execute_script

KINDS = ("absence", "incident", "results", "council", "orientation")
STATES = ("queued", "sending", "sent", "delivered", "failed")
NAME_CHARS = 12  # a first name is cut to this many characters in a message

TEMPLATES: dict[str, dict[str, str]] = {
    "absence": {
        "ar": "مسار: غياب غير مبرر لـ{name} يوم {date}. المرجو التبرير",
        "fr": "Massar: absence non justifiée de {name} le {date}. Merci de la justifier auprès de l'établissement.",
    },
    "incident": {
        "ar": "مسار: مخالفة سلوكية لـ{name} يوم {date}. اتصلوا بالمؤسسة",
        "fr": "Massar: un incident concernant {name} a été noté le {date}. Merci de contacter l'établissement.",
    },
    "results": {
        "ar": "مسار: نتائج {name} للدورة {detail} متاحة بالمؤسسة",
        "fr": "Massar: les résultats du semestre {detail} de {name} sont disponibles à l'établissement.",
    },
    "council": {
        "ar": "مسار: قرار مجلس القسم في حق {name}: {detail}",
        "fr": "Massar: décision du conseil de classe pour {name}: {detail}.",
    },
    "orientation": {
        "ar": "مسار: توجيه {name}: {detail}. الطعن ممكن قبل {date}",
        "fr": "Massar: orientation de {name}: {detail}. Recours possible jusqu'au {date}.",
    },
}

COUNCIL_WORDS = {
    "pass": {"ar": "ينتقل", "fr": "passe"},
    "repeat": {"ar": "يكرر", "fr": "redouble"},
    "reorient": {"ar": "إعادة التوجيه", "fr": "réorientation"},
    "exclude": {"ar": "الفصل", "fr": "exclusion"},
    "leave": {"ar": "مغادرة", "fr": "départ"},
}

STEP8_KEY = "(pupil, kind, day)"
TOPIC_KEY = "(pupil, kind, day, topic)"
"""The outbox's key from step 15: what a message is about too (`install_sms_topics`)."""


def _outbox_sql(*, topics: bool) -> str:
    topic = "\n    topic TEXT NOT NULL DEFAULT ''," if topics else ""
    return f"""
CREATE TABLE IF NOT EXISTS _sms_outbox (
    id INTEGER PRIMARY KEY,
    pupil TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('absence', 'incident', 'results', 'council', 'orientation')),
    day TEXT NOT NULL,
    phone TEXT NOT NULL,
    lang TEXT NOT NULL CHECK (lang IN ('ar', 'fr')),
    text TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'sending', 'sent', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    claimed_at TEXT,
    sent_at TEXT,
    delivered_at TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%S', 'now')),{topic}
    UNIQUE {TOPIC_KEY if topics else STEP8_KEY}
);
CREATE INDEX IF NOT EXISTS _sms_outbox_by_state ON _sms_outbox (state, next_attempt_at);
"""


_COLUMNS = (
    "id, pupil, kind, day, phone, lang, text, state, attempts, next_attempt_at, claimed_at, sent_at, "
    "delivered_at, last_error, created_at"
)


_LOCAL = "(SELECT applying FROM _clock) = 0"


def _text_sql(kind: str, *, date: str, detail: dict[str, str] | str | None = None) -> str:
    """A SQL expression for the message in the guardian's language (`g.lang`), from the pupil row `p`."""
    out = []
    for lang in ("ar", "fr"):
        name = "COALESCE(p.first_name_ar, p.first_name)" if lang == "ar" else "p.first_name"
        expr = f"replace({_quoted_template(kind, lang)}, '{{name}}', substr({name}, 1, {NAME_CHARS}))"
        expr = f"replace({expr}, '{{date}}', {date})"
        if isinstance(detail, dict):
            cases = " ".join(f"WHEN '{code}' THEN '{words[lang]}'" for code, words in COUNCIL_WORDS.items())
            expr = f"replace({expr}, '{{detail}}', CASE {detail['column']} {cases} ELSE {detail['column']} END)"
        elif detail is not None:
            expr = f"replace({expr}, '{{detail}}', {detail})"
        out.append(f"WHEN '{lang}' THEN {expr}")
    return f"CASE g.lang {' '.join(out)} END"


def _quoted_template(kind: str, lang: str) -> str:
    return "'" + TEMPLATES[kind][lang].replace("'", "''") + "'"


def _notify(kind: str, text: str, when: str = "", *, topic: str | None = None, supersede: bool = False) -> str:
    """The INSERT of one message; `topic` (an SQL expression) from step 15 on, None in step 8's outbox.
    `supersede`: a message of this kind for the pupil still waiting to go is dropped first (a decision
    corrected before its message left: the family is told the decision that stands, once)."""
    column, value, conflict = ("", "", STEP8_KEY) if topic is None else (", topic", f", {topic}", TOPIC_KEY)
    drop = (
        f"""
  DELETE FROM _sms_outbox WHERE pupil = NEW.pupil AND kind = '{kind}' AND state = 'queued';"""
        if supersede
        else ""
    )
    return f"""{drop}
  INSERT INTO _sms_outbox (pupil, kind, day, phone, lang, text{column})
  SELECT NEW.pupil, '{kind}', date('now'), g.phone, g.lang, {text}{value}
  FROM guardians g JOIN pupils p ON p.code = g.pupil
  WHERE g.pupil = NEW.pupil AND g.sms_consent = 1 AND g.phone IS NOT NULL {when}
  ORDER BY g.n LIMIT 1
  ON CONFLICT {conflict} DO NOTHING;"""


def _next_topic(kind: str) -> str:
    """A topic no message of this kind for the pupil has today: every change of a decision is told."""
    return (
        f"(SELECT COALESCE(MAX(CAST(topic AS INTEGER)), -1) + 1 FROM _sms_outbox "
        f"WHERE pupil = NEW.pupil AND kind = '{kind}' AND day = date('now'))"
    )


def _results_trigger(source: tuple[str, str, str], *, topics: bool) -> str:
    """A semester closed by the director: its results are published, one message per family."""
    table, when, school = source
    column, value, conflict = (", topic", ", CAST(NEW.semester AS TEXT)", TOPIC_KEY) if topics else ("", "", STEP8_KEY)
    text = _text_sql("results", date="''", detail="NEW.semester")
    return f"""-- A semester closed by the director: its results are published, one message per family.
CREATE TRIGGER _sms_results AFTER INSERT ON {table}{when}
BEGIN
  INSERT INTO _sms_outbox (pupil, kind, day, phone, lang, text{column})
  SELECT e.pupil, 'results', date('now'), g.phone, g.lang, {text}{value}
  FROM enrolments e JOIN pupils p ON p.code = e.pupil
  JOIN guardians g ON g.pupil = e.pupil AND g.n = (
    SELECT MIN(n) FROM guardians WHERE pupil = e.pupil AND sms_consent = 1 AND phone IS NOT NULL)
  WHERE e.year = NEW.year AND e.school = {school}
  ON CONFLICT {conflict} DO NOTHING;
END;"""


RELEASED_RESULTS = ("_semester_closures", "", "(SELECT v FROM _node WHERE k = 'school')")
"""Step 8's trigger, on the node-local closures of that release (step 14 replaces it)."""
SYNCED_RESULTS = ("semester_closures", f" WHEN {_LOCAL}", "NEW.school")
"""Step 14's: only where the director closed it; a closure another PC made arrives by sync, unannounced."""


_DAY = "strftime('%d/%m', NEW.day)"
_UNJUSTIFIED_NEW = "(NEW.hours & ~NEW.justified)"
_APPEAL = "strftime('%d/%m', NEW.appeal_until)"


def _triggers_sql(*, topics: bool) -> str:
    """Every notification but the results'. With `topics` (step 15), absences and incidents keep one
    message a day, and each change of a council or orientation decision is told, the one still
    waiting to go dropped for it; before, a decision corrected the same day was never told."""
    day = "''" if topics else None
    council_topic = _next_topic("council") if topics else None
    orientation_topic = _next_topic("orientation") if topics else None
    council = _text_sql("council", date="''", detail={"column": "NEW.decision"})
    orient = _text_sql("orientation", date=_APPEAL, detail="NEW.decision")
    return f"""
CREATE TRIGGER _sms_absence_insert AFTER INSERT ON absences
WHEN {_UNJUSTIFIED_NEW} != 0 AND {_LOCAL}
BEGIN{_notify("absence", _text_sql("absence", date=_DAY), topic=day)}
END;
CREATE TRIGGER _sms_absence_update AFTER UPDATE OF hours, justified ON absences
WHEN ({_UNJUSTIFIED_NEW} & ~(OLD.hours & ~OLD.justified)) != 0 AND {_LOCAL}
BEGIN{_notify("absence", _text_sql("absence", date=_DAY), topic=day)}
END;
CREATE TRIGGER _sms_incident_insert AFTER INSERT ON incidents WHEN {_LOCAL}
BEGIN{_notify("incident", _text_sql("incident", date=_DAY), topic=day)}
END;
CREATE TRIGGER _sms_council_insert AFTER INSERT ON council_decisions WHEN {_LOCAL}
BEGIN{_notify("council", council, topic=council_topic, supersede=topics)}
END;
CREATE TRIGGER _sms_council_update AFTER UPDATE OF decision ON council_decisions
WHEN OLD.decision IS NOT NEW.decision AND {_LOCAL}
BEGIN{_notify("council", council, topic=council_topic, supersede=topics)}
END;
CREATE TRIGGER _sms_orientation_insert AFTER INSERT ON orientation_decisions WHEN {_LOCAL}
BEGIN{_notify("orientation", orient, topic=orientation_topic, supersede=topics)}
END;
CREATE TRIGGER _sms_orientation_update AFTER UPDATE OF decision ON orientation_decisions
WHEN OLD.decision IS NOT NEW.decision AND {_LOCAL}
BEGIN{_notify("orientation", orient, topic=orientation_topic, supersede=topics)}
END;
-- A provisional code replaced by the Massar code: the pupil's messages follow.
CREATE TRIGGER _sms_rekey AFTER UPDATE OF pupil ON enrolments WHEN OLD.pupil IS NOT NEW.pupil
BEGIN
  UPDATE OR IGNORE _sms_outbox SET pupil = NEW.pupil WHERE pupil = OLD.pupil;
END;
"""


def _drop_triggers(db: sqlite_utils.Database) -> None:
    for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '\\_sms\\_%' ESCAPE '\\'"
    ).fetchall():
        db.conn.execute(f'DROP TRIGGER "{name}"')


def install_synced_results_trigger(db: sqlite_utils.Database) -> None:
    """Node, step 14: "results published" follows the closure into the synced `semester_closures`."""
    db.conn.execute("DROP TRIGGER IF EXISTS _sms_results")
    execute_script(db, _results_trigger(SYNCED_RESULTS, topics=False))


def install_sms_outbox(db: sqlite_utils.Database) -> None:
    """Node, step 8: the SMS outbox and the triggers that fill it (idempotent)."""
    execute_script(db, _outbox_sql(topics=False))
    _drop_triggers(db)
    execute_script(db, _triggers_sql(topics=False) + _results_trigger(RELEASED_RESULTS, topics=False))


def install_sms_topics(db: sqlite_utils.Database) -> None:
    """Node, step 15: the outbox keyed by what a message is about too. Messages already queued or sent
    keep their rows (topic '': they were the day's one message of their kind)."""
    _drop_triggers(db)
    db.conn.execute("ALTER TABLE _sms_outbox RENAME TO _sms_outbox_step8")
    db.conn.execute("DROP INDEX IF EXISTS _sms_outbox_by_state")
    execute_script(db, _outbox_sql(topics=True))
    db.conn.execute(f"INSERT INTO _sms_outbox ({_COLUMNS}) SELECT {_COLUMNS} FROM _sms_outbox_step8")
    db.conn.execute("DROP TABLE _sms_outbox_step8")
    execute_script(db, _triggers_sql(topics=True) + _results_trigger(SYNCED_RESULTS, topics=True))
