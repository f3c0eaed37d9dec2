"""A class's grade sheet for one subject and semester: what it shows and what a save changes.

A save changes only the cells whose value differs from what the sheet showed
when it was opened. A cell that someone else changed since (another teacher, the
secretary, a sync) is a conflict: nothing of the save is written and both values
are reported, so nobody's marks are lost silently.

Cells travel as text: "" (empty), a score ("12.5"), "a" (absent) or "j"
(absent, justified). The flat field encoding used by the web form is parsed
here too, so any front end that posts a sheet gets the same rules: row i has
`p{i}` (pupil code), `s{i}_{a}` (score), `x{i}_{a}` (absence mark), `r{i}`
(remark) and `o{i}`, what the page showed: the cells joined by "," then ";"
and the remark (`shown_field`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import sqlite_utils

from .database import write_transaction
from .errors import InvalidInput, NotFound
from .grades import GradeEntry, check_in_scale, parse_score, record_grades
from .pupils import Term
from .rows import delete_keys
from .rules import ACTIVITIES, from_hundredths

ABSENT, JUSTIFIED = "a", "j"
MAX_REMARK = 500
Cell = tuple[str, int]  # (pupil, assessment)


def assessments_of(tests: int) -> list[int]:
    """The columns of a subject's sheet: its rule's number of tests, then the activities."""
    return [*range(1, tests + 1), ACTIVITIES]


def score_text(score: Decimal) -> str:
    return f"{score.normalize():f}"


def stored_text(score: int | None, absent: int, justified: int) -> str:
    if absent:
        return JUSTIFIED if justified else ABSENT
    return "" if score is None else score_text(from_hundredths(score))


def cell_value(typed_score: str, mark: str, scale: int) -> str:
    """The canonical text of one typed cell; InvalidInput (with a code) when it cannot be saved."""
    typed_score = typed_score.strip()
    if mark not in ("", ABSENT, JUSTIFIED):
        raise InvalidInput(f"absence mark {mark!r} is not a, j or empty", code="bad_absence_mark")
    if mark and typed_score:
        raise InvalidInput("a mark cannot be both a score and absent", code="score_and_absent")
    if mark:
        return mark
    if not typed_score:
        return ""
    score = parse_score(typed_score)
    check_in_scale(score, scale)
    return score_text(score)


@dataclass
class SheetState:
    cells: dict[Cell, str] = field(default_factory=dict)
    remarks: dict[str, str] = field(default_factory=dict)


def stored_sheet(db: sqlite_utils.Database, term: Term, class_code: str, subject: str, semester: int) -> SheetState:
    state = SheetState()
    for pupil, a, score, absent, justified, remark in db.execute(
        "SELECT g.pupil, g.assessment, g.score, g.absent, g.justified, g.remark FROM grades g "
        "JOIN enrolments e ON e.year = g.year AND e.pupil = g.pupil "
        "WHERE e.school = ? AND e.year = ? AND e.class = ? AND g.subject = ? AND g.semester = ?",
        [term.school, term.year, class_code, subject, semester],
    ).fetchall():
        state.cells[(pupil, a)] = stored_text(score, absent, justified)
        if remark:
            state.remarks[pupil] = remark
    return state


@dataclass
class SheetRow:
    """One posted row: what was typed, and what the page showed (None: not sent, take the stored value)."""

    index: int
    pupil: str
    typed: dict[int, tuple[str, str]]  # assessment -> (score text, absence mark)
    shown: dict[int, str | None]
    remark: str
    shown_remark: str | None


def _field(fields: Mapping[str, str], name: str, limit: int) -> str:
    value = fields.get(name, "")
    value = value if isinstance(value, str) else ""
    if len(value) > limit:
        raise InvalidInput(f"{name} is too long", code="too_long")
    return value


def row_indexes(fields: Mapping[str, str], prefix: str = "p") -> list[int]:
    """The row numbers of the posted form (`p0`, `p1`...), in order."""
    n = len(prefix)
    return sorted({int(k[n:]) for k in fields if k.startswith(prefix) and k[n:].isdigit() and len(k) - n <= 4})


def shown_field(cells: Sequence[str], remark: str) -> str:
    """What a row showed, in one form field: `12.5,a,,j,15;remark`."""
    return ",".join(cells) + ";" + remark


def _parse_shown(text: str | None, assessments: Sequence[int]) -> tuple[dict[int, str | None], str | None]:
    if text is None:
        return dict.fromkeys(assessments), None
    cells, _, remark = str(text).partition(";")
    values = cells.split(",")
    if len(values) != len(assessments):
        raise InvalidInput("the sheet's shown values do not match its columns", code="bad_sheet")
    return dict(zip(assessments, values, strict=True)), remark


def rows_from_fields(fields: Mapping[str, str], assessments: Sequence[int]) -> list[SheetRow]:
    rows = []
    for i in row_indexes(fields):
        typed = {a: (_field(fields, f"s{i}_{a}", 20), _field(fields, f"x{i}_{a}", 1)) for a in assessments}
        shown, shown_remark = _parse_shown(fields.get(f"o{i}"), assessments)
        rows.append(
            SheetRow(
                index=i,
                pupil=str(fields.get(f"p{i}", "")).strip().upper(),
                typed=typed,
                shown=shown,
                remark=_field(fields, f"r{i}", MAX_REMARK).strip(),
                shown_remark=shown_remark,
            )
        )
    return rows


@dataclass(frozen=True)
class CellProblem:
    pupil: str
    assessment: int | None  # None: the remark
    code: str


@dataclass(frozen=True)
class CellConflict:
    """Someone else changed this cell since the page was opened."""

    pupil: str
    assessment: int | None  # None: the remark
    theirs: str
    yours: str


@dataclass
class SheetSave:
    entries: list[GradeEntry] = field(default_factory=list)
    cleared: list[tuple] = field(default_factory=list)
    problems: list[CellProblem] = field(default_factory=list)
    conflicts: list[CellConflict] = field(default_factory=list)
    changed: int = 0
    stored: SheetState = field(default_factory=SheetState)
    pupils: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class SheetChoice:
    class_code: str
    scale: int
    cycle: str
    subject: str
    semester: int


def plan_save(
    db: sqlite_utils.Database, term: Term, choice: SheetChoice, rows: Sequence[SheetRow], in_class: Sequence[str]
) -> SheetSave:
    """What saving these rows would change; nothing is written."""
    if len(rows) > len(in_class) + 1:
        raise InvalidInput("too many rows", code="bad_sheet")
    members = set(in_class)
    stored = stored_sheet(db, term, choice.class_code, choice.subject, choice.semester)
    plan = SheetSave(stored=stored)
    for row in rows:
        if row.pupil not in members or row.pupil in plan.pupils:
            raise NotFound(f"pupil {row.pupil} is not in class {choice.class_code}", code="not_in_class")
        plan.pupils.add(row.pupil)
        final: dict[int, str] = {}
        dirty = False
        for a, (typed, mark) in row.typed.items():
            now = stored.cells.get((row.pupil, a), "")
            try:
                wanted = cell_value(typed, mark, choice.scale)
                shown = now if row.shown[a] is None else cell_value(*_split(row.shown[a] or ""), choice.scale)
            except InvalidInput as exc:
                plan.problems.append(CellProblem(row.pupil, a, exc.code))
                continue
            final[a] = now
            if wanted in (shown, now):
                continue  # untouched on this page (a change by someone else stays), or already so
            if now != shown:
                plan.conflicts.append(CellConflict(row.pupil, a, now, wanted))
                continue
            final[a] = wanted
            dirty = True
        remark_now = stored.remarks.get(row.pupil, "")
        remark_shown = remark_now if row.shown_remark is None else row.shown_remark.strip()
        remark = remark_now
        if row.remark not in (remark_shown, remark_now):
            if remark_now != remark_shown:
                plan.conflicts.append(CellConflict(row.pupil, None, remark_now, row.remark))
            else:
                remark, dirty = row.remark, True
        if not dirty:
            continue
        marks = {a: v for a, v in final.items() if v}
        if remark and not marks:
            plan.problems.append(CellProblem(row.pupil, None, "remark_needs_mark"))
            continue
        for a, value in final.items():
            before = stored.cells.get((row.pupil, a), "")
            if value:
                score = None if value in (ABSENT, JUSTIFIED) else Decimal(value)
                absent = value in (ABSENT, JUSTIFIED)
                plan.entries.append(
                    GradeEntry(row.pupil, choice.subject, choice.semester, a, score, absent, value == JUSTIFIED, remark)
                )
            elif before:
                plan.cleared.append((term.year, row.pupil, choice.subject, choice.semester, a))
            if value != before:
                plan.changed += 1
    return plan


def _split(text: str) -> tuple[str, str]:
    """A shown cell's text back into (score, mark)."""
    return ("", text) if text in (ABSENT, JUSTIFIED) else (text, "")


def save_sheet(
    db: sqlite_utils.Database, term: Term, choice: SheetChoice, rows: Sequence[SheetRow], in_class: Sequence[str]
) -> SheetSave:
    """Plan and write in one transaction (no other writer between the check and the write).

    Nothing is written when a cell has a problem or a conflict: the caller shows them.
    """
    with write_transaction(db):
        plan = plan_save(db, term, choice, rows, in_class)
        if not plan.problems and not plan.conflicts:
            record_grades(db, term, plan.entries)
            delete_keys(db, "grades", plan.cleared)
    return plan
