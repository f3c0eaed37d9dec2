"""Closing a school year and opening the next.

`close_year` turns the council's decisions (and orientation decisions) into one
outcome per pupil with a proposed class for next year (`year_outcomes`, synced).
The director confirms or changes the proposed classes; confirming enrols the
pupil in next year's class at once, so re-registration at the secretariat and
the year flow are one and the same record. `open_year` then switches the node
to the new year. The closed year's rows are never rewritten: `year_digest`
hashes them so anyone can check.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import sqlite_utils

from protocol.tables import BY_NAME

from .codes import check_school_year, level_of_class
from .database import write_transaction
from .errors import Conflict, InvalidInput, NotFound
from .orientation import VOCATIONAL
from .pupils import Term, ensure_class
from .rows import upsert_dicts

# Tables holding a school year's records: keyed by `year`, or by a day inside it.
YEAR_TABLES = (
    "classes",
    "enrolments",
    "grades",
    "council_decisions",
    "orientation_wishes",
    "orientation_decisions",
    "exam_results",
)
DAY_TABLES = ("absences", "incidents")


def next_year_of(year: str) -> str:
    start = int(check_school_year(year)[:4]) + 1
    return f"{start}/{start + 1}"


def _year_up(db: sqlite_utils.Database, level: str) -> str | None:
    """`1APIC` -> `2APIC`, `5APG` -> `6APG`: the same track one year up, if that level exists.
    Never in the lycée: the next year there is a stream, chosen by orientation."""
    m = re.match(r"^([0-9])(.*)$", level)
    cycle = db.execute("SELECT cycle FROM levels WHERE code = ?", [level]).fetchone()
    if not m or cycle is None or cycle[0] == "lycee":
        return None
    candidate = f"{int(m.group(1)) + 1}{m.group(2)}"
    row = db.execute("SELECT code FROM levels WHERE code = ?", [candidate]).fetchone()
    return row[0] if row else None


def _section(class_code: str) -> str:
    return class_code.rsplit("-", 1)[1] if "-" in class_code else "1"


def plan_outcome(
    db: sqlite_utils.Database, class_code: str, level: str, decision: str, stream: str | None
) -> dict[str, Any]:
    """One pupil's outcome: pass, repeat, oriented or leaver, with next level and proposed class."""
    if decision in ("exclude", "leave"):
        return {"outcome": "leaver", "next_level": None, "next_class": None}
    if decision == "repeat":
        return {"outcome": "repeat", "next_level": level, "next_class": class_code}
    if stream is not None:
        if stream == VOCATIONAL:
            return {"outcome": "leaver", "next_level": None, "next_class": None}
        return {"outcome": "oriented", "next_level": stream, "next_class": f"{stream}-1"}
    if decision == "reorient":
        return {"outcome": "oriented", "next_level": None, "next_class": None}  # awaits an orientation decision
    up = _year_up(db, level)
    if up is None:
        # The end of a cycle this school does not continue (6AP, 2BAC), or a stream still to choose.
        cycle_end = db.execute(
            "SELECT 1 FROM levels l WHERE l.code = ? AND NOT EXISTS "
            "(SELECT 1 FROM levels n WHERE n.ord = l.ord + 1 AND n.cycle = l.cycle)",
            [level],
        ).fetchone()
        if cycle_end:
            return {"outcome": "leaver", "next_level": None, "next_class": None}
        return {"outcome": "pass", "next_level": None, "next_class": None}
    return {"outcome": "pass", "next_level": up, "next_class": f"{up}-{_section(class_code)}"}


def close_year(db: sqlite_utils.Database, term: Term) -> dict[str, Any]:
    """Propose next year's class of every pupil; refuses while a pupil has no council decision."""
    rows = db.execute(
        "SELECT e.pupil, e.class, c.level, d.decision, o.decision FROM enrolments e "
        "JOIN classes c ON c.school = e.school AND c.year = e.year AND c.code = e.class "
        "LEFT JOIN council_decisions d ON d.year = e.year AND d.pupil = e.pupil "
        "LEFT JOIN orientation_decisions o ON o.year = e.year AND o.pupil = e.pupil "
        "WHERE e.school = ? AND e.year = ? ORDER BY e.class, e.pupil",
        [term.school, term.year],
    ).fetchall()
    if not rows:
        raise NotFound(f"no pupil enrolled at {term.school} in {term.year}", code="empty_year")
    missing = [r[0] for r in rows if r[3] is None]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise Conflict(
            f"{len(missing)} pupil(s) have no council decision yet ({shown}): "
            "record them with `massar node decide` first",
            code="decisions_missing",
        )
    outcomes = []
    with write_transaction(db):
        confirmed = {
            r[0]: r[1:]
            for r in db.execute(
                "SELECT pupil, outcome, next_level, next_class FROM year_outcomes "
                "WHERE school = ? AND year = ? AND confirmed = 1",
                [term.school, term.year],
            ).fetchall()
        }
        for pupil, class_code, level, decision, stream in rows:
            plan = plan_outcome(db, class_code, level, decision, stream)
            keep = confirmed.get(pupil)
            if keep is not None and keep[0] == plan["outcome"]:
                continue  # closing again keeps what the director already confirmed
            outcomes.append({"school": term.school, "year": term.year, "pupil": pupil, **plan, "confirmed": 0})
        upsert_dicts(db, "year_outcomes", outcomes)
    return summary(db, term)


def summary(db: sqlite_utils.Database, term: Term) -> dict[str, Any]:
    counts = dict.fromkeys(("pass", "repeat", "oriented", "leaver"), 0)
    unconfirmed = 0
    for outcome, confirmed, n in db.execute(
        "SELECT outcome, confirmed, COUNT(*) FROM year_outcomes WHERE school = ? AND year = ? "
        "GROUP BY outcome, confirmed",
        [term.school, term.year],
    ).fetchall():
        counts[outcome] += n
        if not confirmed and outcome != "leaver":
            unconfirmed += n
    return {"year": term.year, "next_year": next_year_of(term.year), **counts, "to_confirm": unconfirmed}


def proposals(db: sqlite_utils.Database, term: Term, class_code: str | None = None) -> list[dict[str, Any]]:
    cols: tuple[str, ...] = ("pupil", "class", "last_name", "first_name", "last_name_ar", "first_name_ar", "outcome")
    cols += ("next_level", "next_class", "confirmed")
    sql = (
        "SELECT o.pupil, e.class, p.last_name, p.first_name, p.last_name_ar, p.first_name_ar, o.outcome, "
        "o.next_level, o.next_class, o.confirmed FROM year_outcomes o "
        "JOIN enrolments e ON e.year = o.year AND e.pupil = o.pupil JOIN pupils p ON p.code = o.pupil "
        "WHERE o.school = ? AND o.year = ?"
    )
    params: list[Any] = [term.school, term.year]
    if class_code:
        sql += " AND e.class = ?"
        params.append(class_code.strip().upper())
    rows = db.execute(sql + " ORDER BY e.class, p.last_name, p.first_name, o.pupil", params).fetchall()
    return [dict(zip(cols, r, strict=True)) for r in rows]


def confirm(db: sqlite_utils.Database, term: Term, choices: dict[str, str | None] | None = None) -> int:
    """Confirm proposed classes: `choices` maps pupil -> class (None keeps the proposal);
    without `choices`, every proposal with a class. Each confirmed pupil is enrolled in
    next year's class at once. All or nothing."""
    target = Term(term.school, next_year_of(term.year))
    current = {p["pupil"]: p for p in proposals(db, term)}
    if not current:
        raise Conflict(f"{term.year} is not closed: run `massar node close-year` first", code="year_not_closed")
    if choices is None:
        choices = {p: None for p, row in current.items() if row["outcome"] != "leaver"}
    done = 0
    with write_transaction(db):
        for pupil, chosen in choices.items():
            row = current.get(pupil)
            if row is None:
                raise NotFound(f"pupil {pupil} has no outcome for {term.year}", code="unknown_pupil")
            if row["outcome"] == "leaver":
                raise Conflict(f"{pupil} leaves the school: no class next year", code="leaver")
            new_class = (chosen or row["next_class"] or "").strip().upper()
            if not new_class:
                raise InvalidInput(f"choose next year's class for {pupil}", code="missing_class")
            level = level_of_class(new_class)
            new_class = ensure_class(db, target, new_class, level)
            db.conn.execute(
                "UPDATE year_outcomes SET next_class = ?, next_level = ?, confirmed = 1 WHERE year = ? AND pupil = ?",
                [new_class, level, term.year, pupil],
            )
            upsert_dicts(
                db, "enrolments", [{"school": term.school, "year": target.year, "pupil": pupil, "class": new_class}]
            )
            done += 1
    return done


def open_year(db: sqlite_utils.Database, term: Term, year: str) -> dict[str, Any]:
    """Check the new year may open: the next one, every staying pupil confirmed. Returns counts;
    the caller switches its current year in the same transaction."""
    year = check_school_year(year)
    expected = next_year_of(term.year)
    if year != expected:
        raise InvalidInput(f"the year after {term.year} is {expected}, not {year}", code="bad_year")
    info = summary(db, term)
    if not any(info[k] for k in ("pass", "repeat", "oriented", "leaver")):
        raise Conflict(f"{term.year} is not closed: run `massar node close-year` first", code="year_not_closed")
    if info["to_confirm"]:
        raise Conflict(
            f"{info['to_confirm']} proposed class(es) are not confirmed: "
            "confirm them on the year page or with `massar node confirm-classes`",
            code="unconfirmed",
        )
    enrolled = db.execute(
        "SELECT COUNT(*) FROM enrolments WHERE school = ? AND year = ?", [term.school, year]
    ).fetchone()[0]
    return {**info, "opened": year, "enrolled": enrolled}


def year_digest(db: sqlite_utils.Database, school: str, year: str) -> str:
    """SHA-256 of every record of one school year, in key order: equal digests, identical records."""
    h = hashlib.sha256()
    start, end = year.split("/")
    for table in (*YEAR_TABLES, *DAY_TABLES):
        # The registry's columns, not SELECT *: node and centre then hash the same thing.
        cols = ", ".join(BY_NAME[table].column_names)
        where = "year = ?" if table in YEAR_TABLES else "day BETWEEN ? AND ?"
        params = [year] if table in YEAR_TABLES else [f"{start}-09-01", f"{end}-08-31"]
        for row in db.execute(
            f"SELECT {cols} FROM {table} WHERE school = ? AND {where} ORDER BY {cols}", [school, *params]
        ).fetchall():
            h.update(json.dumps([table, *row], ensure_ascii=False).encode())
    return h.hexdigest()
