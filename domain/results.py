"""A pupil's results: subject averages, general average, rank, annual decision.

One module for the node CLI, the parent terminal, bulletins and the central
server, so every replica computes the same numbers from the same rows.
The year's evaluation rules (tests, activities share, formula, coefficient)
are read from the `evaluation_rules` table at every computation
(`evaluation.py`), so a rule the centre corrects changes every average
computed after it arrives. Documented in the README ("Marking rules").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlite_utils

from . import evaluation
from .certificates import certificate
from .council import council_view, decision_of, proposal
from .errors import NotFound
from .evaluation import SubjectRule, rules_for
from .rules import ACTIVITIES, from_hundredths, mask_hours, passes, round2


@dataclass
class Mark:
    assessment: int
    score: Decimal | None
    absent: bool
    justified: bool
    remark: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "assessment": "activities" if self.assessment == ACTIVITIES else self.assessment,
            "score": _num(self.score),
            "absent": self.absent,
            "justified": self.justified,
        }


@dataclass
class SubjectResult:
    subject: str
    name_ar: str
    name_fr: str
    rule: SubjectRule
    tests: list[Mark] = field(default_factory=list)
    activities: Mark | None = None
    remark: str | None = None
    _settled: tuple[Decimal | None] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def coefficient(self) -> int:
        return self.rule.coefficient

    @property
    def average(self) -> Decimal | None:
        if self._settled is not None:
            return self._settled[0]
        return subject_average(self.rule, self.tests, self.activities)

    def settle(self) -> None:
        """Its marks are all loaded: compute the average once (a class's page reads it many times)."""
        self._settled = (subject_average(self.rule, self.tests, self.activities),)


def _counted(mark: Mark) -> Decimal | None:
    """Unjustified absence counts 0; a justified one is left out."""
    if mark.absent:
        return None if mark.justified else Decimal(0)
    return mark.score


def subject_average(rule: SubjectRule, tests: list[Mark], activities: Mark | None) -> Decimal | None:
    """By the subject's rule (see evaluation.subject_average)."""
    counted = [(t.assessment, _counted(t)) for t in tests]
    return evaluation.subject_average(rule, counted, _counted(activities) if activities else None)


def general_average(subjects: list[SubjectResult]) -> Decimal | None:
    weighted = [(s.average, s.coefficient) for s in subjects if s.average is not None]
    total = sum(c for _, c in weighted)
    if not total:
        return None
    return round2(sum((a * c for a, c in weighted), Decimal(0)) / total)


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(round2(value))


class ClassResults:
    """Every pupil's subject results in one class, year and semester."""

    def __init__(
        self, db: sqlite_utils.Database, school: str, year: str, class_code: str, level: str, semester: int
    ) -> None:
        self.semester = semester
        rules = rules_for(db, year, level)
        names = {r[0]: (r[1], r[2]) for r in db.execute("SELECT code, name_ar, name_fr FROM subjects").fetchall()}
        subjects = [(code, *names.get(code, (code, code)), rule) for code, rule in sorted(rules.items())]
        pupils = [
            r[0]
            for r in db.execute(
                "SELECT pupil FROM enrolments WHERE school = ? AND year = ? AND class = ? ORDER BY pupil",
                [school, year, class_code],
            ).fetchall()
        ]
        self.pupils = pupils
        self.results: dict[str, list[SubjectResult]] = {p: [SubjectResult(*s) for s in subjects] for p in pupils}
        index = {p: {s.subject: s for s in rs} for p, rs in self.results.items()}
        rows = db.execute(
            "SELECT g.pupil, g.subject, g.assessment, g.score, g.absent, g.justified, g.remark FROM grades g "
            "JOIN enrolments e ON e.year = g.year AND e.pupil = g.pupil "
            "WHERE e.school = ? AND e.year = ? AND e.class = ? AND g.semester = ? "
            "ORDER BY g.pupil, g.subject, g.assessment",
            [school, year, class_code, semester],
        ).fetchall()
        for pupil, subject, assessment, score, absent, justified, remark in rows:
            result = index.get(pupil, {}).get(subject)
            if result is None:
                continue  # a mark for a subject the level no longer has
            mark = Mark(
                assessment, None if score is None else from_hundredths(score), bool(absent), bool(justified), remark
            )
            if assessment == ACTIVITIES:
                result.activities = mark
            else:
                result.tests.append(mark)
            if remark:
                result.remark = remark
        for subject_results in self.results.values():
            for result in subject_results:
                result.settle()
        self.averages = {p: general_average(rs) for p, rs in self.results.items()}

    def rank(self, pupil: str) -> int | None:
        """Competition ranking (1, 2, 2, 4) among pupils with an average."""
        mine = self.averages.get(pupil)
        if mine is None:
            return None
        return 1 + sum(1 for a in self.averages.values() if a is not None and a > mine)

    def subject_stats(self, subject: str) -> dict[str, float | None]:
        values = [
            s.average for rs in self.results.values() for s in rs if s.subject == subject and s.average is not None
        ]
        if not values:
            return {"class_average": None, "class_min": None, "class_max": None}
        return {
            "class_average": _num(sum(values, Decimal(0)) / len(values)),
            "class_min": _num(min(values)),
            "class_max": _num(max(values)),
        }


def pupil_report(
    db: sqlite_utils.Database, year: str, pupil: str, *, school: str | None = None, semesters: tuple[int, ...] = (1, 2)
) -> dict[str, Any]:
    """The report as the CLI's `report --json` prints it; `school` restricts to one school's pupils."""
    row = db.execute(
        "SELECT e.school, e.class, c.level, l.scale, p.last_name, p.first_name, p.last_name_ar, p.first_name_ar "
        "FROM enrolments e JOIN classes c ON c.school = e.school AND c.year = e.year AND c.code = e.class "
        "JOIN levels l ON l.code = c.level JOIN pupils p ON p.code = e.pupil "
        # A pupil who moved during the year has two enrolments: the one asked for, else his current school's.
        # (typed: PostgreSQL cannot infer an untyped parameter that is only compared with NULL)
        "WHERE e.year = ? AND e.pupil = ? AND (CAST(? AS TEXT) IS NULL OR e.school = ?) ORDER BY e.school = p.school DESC LIMIT 1",
        [year, pupil, school, school],
    ).fetchone()
    if not row:
        raise NotFound(f"unknown pupil {pupil} in {year}", code="unknown_pupil")
    owner, class_code, level, scale, last, first, last_ar, first_ar = row
    report: dict[str, Any] = {
        "student": pupil,
        "name": f"{last} {first}",
        "name_ar": f"{last_ar} {first_ar}" if last_ar and first_ar else None,
        "school": owner,
        "year": year,
        "class": class_code,
        "level": level,
        "scale": scale,
        "semesters": {},
    }
    averages: dict[int, Decimal | None] = {}
    for semester in (1, 2):
        results = ClassResults(db, owner, year, class_code, level, semester)
        averages[semester] = results.averages.get(pupil)
        if semester not in semesters:
            continue
        subjects = []
        for s in results.results.get(pupil, []):
            subjects.append(
                {
                    "subject": s.subject,
                    "name_ar": s.name_ar,
                    "name_fr": s.name_fr,
                    "coefficient": s.coefficient,
                    "rule": s.rule.as_json(),
                    "tests": [t.as_json() for t in s.tests],
                    "activities": s.activities.as_json() if s.activities else None,
                    "average": _num(s.average),
                    "remark": s.remark,
                    **results.subject_stats(s.subject),
                }
            )
        report["semesters"][str(semester)] = {
            "subjects": subjects,
            "average": _num(averages[semester]),
            "rank": results.rank(pupil),
            "class_size": len(results.pupils),
        }
    annual = None
    if averages[1] is not None and averages[2] is not None:
        annual = round2((averages[1] + averages[2]) / 2)
    passed = passes(annual, scale)
    report["annual_average"] = _num(annual)
    report["decision"] = None if passed is None else ("pass" if passed else "fail")
    report["certificate"] = certificate(db, year, pupil, annual)
    # The average proposes; the class council decides (shown "proposed" until it has).
    report["council"] = council_view(decision_of(db, year, pupil), proposal(passed))
    report["absences"] = absence_summary(db, year, pupil)
    return report


def absence_summary(db: sqlite_utils.Database, year: str, pupil: str) -> dict[str, Any]:
    start, end = year.split("/")
    rows = db.execute(
        "SELECT day, hours, justified, reason FROM absences WHERE pupil = ? AND day BETWEEN ? AND ? ORDER BY day DESC",
        [pupil, f"{start}-09-01", f"{end}-08-31"],
    ).fetchall()
    days = []
    hours = unjustified = 0
    for day, mask, justified, reason in rows:
        h = mask_hours(mask)
        u = mask_hours(mask & ~justified)
        hours += len(h)
        unjustified += len(u)
        days.append({"date": day, "hours": h, "unjustified_hours": u, "reason": reason})
    return {"hours": hours, "unjustified_hours": unjustified, "days": days}
