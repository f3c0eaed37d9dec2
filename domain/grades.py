"""Recording marks: one per pupil and assessment (four tests + integrated activities)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, InvalidOperation

import sqlite_utils

from .database import write_transaction
from .errors import FileRejected, InvalidInput, NotFound, RowError
from .evaluation import SubjectRule, rules_for
from .pupils import Enrolment, Term, enrolment_of, enrolments_by_pupil
from .rows import upsert_rows
from .rules import ACTIVITIES, hundredths

ASSESSMENT_NAMES = {"1": 1, "2": 2, "3": 3, "4": 4, "activities": ACTIVITIES, "5": ACTIVITIES}


@dataclass(frozen=True)
class GradeEntry:
    pupil: str
    subject: str
    semester: int
    assessment: int  # 1..4 tests, 5 integrated activities
    score: Decimal | None
    absent: bool = False
    justified: bool = False
    remark: str | None = None


def parse_assessment(text: str) -> int:
    try:
        return ASSESSMENT_NAMES[str(text).strip().lower()]
    except KeyError:
        raise InvalidInput(
            f"assessment must be 1, 2, 3, 4 or activities, not {text!r}", code="bad_assessment"
        ) from None


def parse_semester(text: str | int) -> int:
    if str(text).strip() not in ("1", "2"):
        raise InvalidInput(f"semester must be 1 or 2, not {text!r}", code="bad_semester")
    return int(text)


# Arabic-Indic and Eastern Arabic-Indic digits, and the Arabic decimal separator and
# comma, as a phone keyboard set to Arabic types them: ١٢,٥ and ۱۲٫۵ are 12.5.
_TO_ASCII = str.maketrans(
    {**{0x0660 + d: str(d) for d in range(10)}, **{0x06F0 + d: str(d) for d in range(10)}, 0x066B: ".", 0x060C: "."}
)


def ascii_number(text: str) -> str:
    """The typed number with Latin digits and a dot for the decimal separator."""
    return str(text).strip().translate(_TO_ASCII).replace(",", ".")


def parse_score(text: str) -> Decimal:
    try:
        value = Decimal(ascii_number(text))
    except InvalidOperation:
        raise InvalidInput(f"score {text!r} is not a number", code="bad_score") from None
    if not value.is_finite():
        raise InvalidInput(f"score {text!r} is not a number", code="bad_score")
    exponent = value.as_tuple().exponent  # an int once the value is finite
    if isinstance(exponent, int) and exponent < -2 and value != value.quantize(Decimal("0.01"), context=_WIDE):
        raise InvalidInput(f"score {text} has more than 2 decimals", code="bad_score")
    return value


def check_in_scale(score: Decimal, scale: int, where: str = "") -> None:
    """A score must lie between 0 and the level's scale (10 in primary, 20 after)."""
    if not (0 <= score <= scale):
        raise InvalidInput(
            f"score {score} is out of the scale 0-{scale}" + (f" of {where}" if where else ""),
            code="score_out_of_scale",
        )


# Wide enough to quantize any finite decimal a person can type (1e30 included)
# without raising InvalidOperation: the scale check reports those values instead.
_WIDE = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


class GradeValidator:
    """Checks entries against the school's enrolments and each level's subjects and scale."""

    def __init__(self, db: sqlite_utils.Database, term: Term) -> None:
        self.db, self.term = db, term
        self._enrolments: dict[str, Enrolment] | None = None
        self._subjects: dict[str, dict[str, SubjectRule]] = {}

    def enrolment(self, pupil: str) -> Enrolment:
        if self._enrolments is None:
            self._enrolments = enrolments_by_pupil(self.db, self.term)
        found = self._enrolments.get(pupil)
        if found is None:
            return enrolment_of(self.db, self.term, pupil)  # raises the precise NotFound
        return found

    def subjects(self, level: str) -> dict[str, SubjectRule]:
        if level not in self._subjects:
            self._subjects[level] = rules_for(self.db, self.term.year, level)
        return self._subjects[level]

    def row(self, entry: GradeEntry) -> tuple:
        e = self.enrolment(entry.pupil)
        subject = entry.subject.strip().upper()
        rule = self.subjects(e.level).get(subject)
        if rule is None:
            raise NotFound(f"subject {subject} is not taught in {e.level}", code="unknown_subject")
        if entry.semester not in (1, 2):
            raise InvalidInput("semester must be 1 or 2", code="bad_semester")
        if entry.assessment not in range(1, ACTIVITIES + 1):
            raise InvalidInput("assessment must be 1..4 or activities", code="bad_assessment")
        if entry.assessment != ACTIVITIES and entry.assessment > rule.tests:
            raise InvalidInput(
                f"{subject} has {rule.tests} test(s) a semester in {e.level} in {self.term.year}, "
                f"not a test {entry.assessment}",
                code="no_such_test",
            )
        if entry.absent:
            if entry.score is not None:
                raise InvalidInput("a mark cannot be both a score and absent", code="score_and_absent")
            score = None
        else:
            if entry.justified:
                raise InvalidInput("only an absence can be justified, not a score", code="justified_without_absent")
            if entry.score is None:
                raise InvalidInput("give a score or mark the pupil absent", code="missing_score")
            check_in_scale(entry.score, e.scale, e.class_code)
            score = hundredths(entry.score)
        remark = (entry.remark or "").strip() or None
        if remark is not None and len(remark) > 500:
            raise InvalidInput("remark is longer than 500 characters", code="remark_too_long")
        return (
            self.term.school,
            self.term.year,
            entry.pupil,
            subject,
            entry.semester,
            entry.assessment,
            score,
            int(entry.absent),
            int(entry.absent and entry.justified),
            remark,
        )


def record_grades(db: sqlite_utils.Database, term: Term, entries: Sequence[GradeEntry]) -> int:
    """Validate every entry, then write all of them in one transaction (or none)."""
    validator = GradeValidator(db, term)
    rows = [validator.row(e) for e in entries]
    with write_transaction(db):
        upsert_rows(db, "grades", rows)
    return len(rows)


GRADES_CSV_HEADER = ("code", "subject", "semester", "assessment", "score", "absent", "justified", "remark")


def _flag(text: str | None) -> bool:
    value = (text or "").strip().lower()
    if value in ("", "0", "no", "false", "n", "non"):
        return False
    if value in ("1", "yes", "true", "y", "oui", "o"):
        return True
    raise InvalidInput(f"expected 0 or 1, not {text!r}", code="bad_flag")


def grade_entries_from_rows(
    db: sqlite_utils.Database, term: Term, rows: Iterable[tuple[int, dict]]
) -> list[GradeEntry]:
    """Validate CSV-like rows; every bad row is reported together and nothing is returned then."""
    validator = GradeValidator(db, term)
    entries, errors = [], []
    seen: dict[tuple, int] = {}
    for line, row in rows:
        try:
            if "__extra__" in row:
                raise InvalidInput("too many columns")
            absent = _flag(row.get("absent"))
            score_text = (row.get("score") or "").strip()
            entry = GradeEntry(
                pupil=(row.get("code") or "").strip().upper(),
                subject=(row.get("subject") or "").strip().upper(),
                semester=parse_semester(row.get("semester") or ""),
                assessment=parse_assessment(row.get("assessment") or ""),
                score=parse_score(score_text) if score_text else None,
                absent=absent,
                justified=_flag(row.get("justified")),
                remark=row.get("remark"),
            )
            key = validator.row(entry)[2:6]
            if key in seen:
                # two marks for one cell: which one the teacher meant is anyone's guess
                raise InvalidInput(f"the same mark is already given on row {seen[key]}", code="duplicate_mark")
            seen[key] = line
            entries.append(entry)
        except (InvalidInput, NotFound) as exc:
            errors.append(RowError(line, str(exc)))
    if errors:
        raise FileRejected(f"{len(errors)} bad row(s); nothing was imported", errors)
    return entries
