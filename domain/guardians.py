"""A pupil's father, mother or guardian, with the mobile number SMS go to and the family's consent."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from .database import write_transaction
from .errors import InvalidInput
from .phones import check_mobile
from .pupils import Term, enrolment_of
from .rows import upsert_dicts

RELATIONS = ("father", "mother", "guardian")
LANGS = ("ar", "fr")


def record_guardian(
    db: sqlite_utils.Database,
    term: Term,
    pupil: str,
    *,
    name: str,
    relation: str,
    phone: str | None = None,
    lang: str = "ar",
    sms_consent: bool = False,
) -> dict[str, Any]:
    """Add the guardian, or update the one with the same relation. Messages go only with consent."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise InvalidInput("a guardian needs a name (at most 120 characters)", code="missing_name")
    if relation not in RELATIONS:
        raise InvalidInput(f"relation is one of {', '.join(RELATIONS)}, not {relation!r}", code="bad_relation")
    if lang not in LANGS:
        raise InvalidInput(f"language is ar or fr, not {lang!r}", code="bad_lang")
    number = check_mobile(phone) if phone else None
    if sms_consent and number is None:
        raise InvalidInput("SMS consent needs a mobile number", code="consent_without_phone")
    with write_transaction(db):
        enrolment_of(db, term, pupil)
        same = db.execute("SELECT n FROM guardians WHERE pupil = ? AND relation = ?", [pupil, relation]).fetchone()
        if same:
            n = same[0]
        else:
            n = 1 + db.execute("SELECT COALESCE(MAX(n), 0) FROM guardians WHERE pupil = ?", [pupil]).fetchone()[0]
        row = {
            "school": term.school,
            "pupil": pupil,
            "n": n,
            "name": name,
            "relation": relation,
            "phone": number,
            "lang": lang,
            "sms_consent": int(sms_consent),
        }
        upsert_dicts(db, "guardians", [row])
    return row
