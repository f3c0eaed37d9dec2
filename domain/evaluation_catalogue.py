"""The evaluation rules shipped with the package: starting rows of `evaluation_rules`.

One row per (since, level, subject): from the school year `since` on (until a
later row for the same level and subject), the subject has `tests` supervised
tests a semester, the integrated activities weigh `activities_weight` (an exact
fraction) in its average computed by `formula`, it counts `coefficient` times
in the general average and `exam_coefficient` times in the level's exam
(NULL: not examined). The rows of the earliest `since` also apply to every
earlier year. The centre publishes corrections and new years; these rows are
what a node knows offline before its first sync. Sources per block below and
in the README ("Marking rules").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .level_codes import LEVELS, Level

CUSTOMARY = "2024/2025"  # and every earlier year
REFORM_2025 = "2025/2026"  # collège, ministerial notes 180-193


@dataclass(frozen=True)
class RuleRow:
    since: str
    level: str
    subject: str
    tests: int
    activities_weight: str
    formula: str
    coefficient: int
    exam_coefficient: int | None

    def as_row(self) -> dict[str, object]:
        return {
            "since": self.since,
            "level": self.level,
            "subject": self.subject,
            "tests": self.tests,
            "activities_weight": self.activities_weight,
            "formula": self.formula,
            "coefficient": self.coefficient,
            "exam_coefficient": self.exam_coefficient,
        }


# -- customary rules (2024/25 and earlier) --------------------------------------
# Source: common practice as reported by schools and the press: tests 75%,
# integrated activities 25%, English 60/40. Coefficients and test counts are
# this project's documented starting values (no official compilation found).

_CUSTOMARY_SHARE = "1/4"
_CUSTOMARY_SHARE_BY_SUBJECT = {"ANG": "2/5"}

_PRIMARY = {"ARA": 4, "FRA": 3, "MATH": 3, "EIS": 2, "SCI": 2, "AMZ": 1, "ART": 1, "EPS": 1}
_PRIMARY_UPPER = {**_PRIMARY, "HG": 1}
# 6AP provincial exam subjects (weights not found: the continuous coefficients).
_PRIMARY_EXAM = ("ARA", "FRA", "MATH", "SCI", "EIS")
_COLLEGE_CUSTOMARY = {
    "ARA": 3,
    "FRA": 3,
    "ANG": 2,
    "EIS": 2,
    "HG": 2,
    "MATH": 3,
    "SVT": 2,
    "PC": 2,
    "INFO": 1,
    "EPS": 1,
}
# 3AC regional exam (domain reference): Arabic, French, Maths 3; EI, HG, SVT, PC 1.
_REGIONAL_3AC = {"ARA": 3, "FRA": 3, "MATH": 3, "EIS": 1, "HG": 1, "SVT": 1, "PC": 1}
_SCIENCE = {"ARA": 2, "FRA": 4, "ANG": 2, "EIS": 2, "HG": 2, "PHILO": 2, "MATH": 4, "SVT": 4, "PC": 4, "INFO": 1}
_SCIENCE = {**_SCIENCE, "EPS": 1}
_MATHS = {**_SCIENCE, "MATH": 7, "SVT": 2, "PC": 5}
_PHYSICS = {**_SCIENCE, "PC": 7, "MATH": 7}
_LETTERS = {"ARA": 4, "FRA": 4, "ANG": 3, "EIS": 2, "HG": 3, "PHILO": 3, "MATH": 1, "EPS": 1}
_STREAMS = {
    "S": _SCIENCE,
    "T": _SCIENCE,
    "SE": _SCIENCE,
    "SVT": _SCIENCE,
    "SA": _SCIENCE,
    "STE": _SCIENCE,
    "STM": _SCIENCE,
    "SEG": _SCIENCE,
    "SGC": _SCIENCE,
    "SM": _MATHS,
    "SMA": _MATHS,
    "SMB": _MATHS,
    "SP": _PHYSICS,
    "PC": _PHYSICS,
    "LSH": _LETTERS,
    "L": _LETTERS,
    "SH": _LETTERS,
    "EO": _LETTERS,
}
# Baccalaureate: the 1BAC regional exam (languages, EI, HG) and the 2BAC
# national exam (the stream's other subjects). Uncertain: starting values.
_BAC_REGIONAL = ("ARA", "FRA", "EIS", "HG")
_NOT_IN_NATIONAL = (*_BAC_REGIONAL, "EPS")


def _stream_of(level: Level) -> str:
    code = level.code
    for prefix in ("TC", "1BAC", "2BAC"):
        if code.startswith(prefix):
            code = code[len(prefix) :]
            break
    if code not in _STREAMS and code[-1:] in ("F", "A"):
        code = code[:-1]
    return code


def _lycee_exam(level: Level, subject: str, coefficient: int) -> int | None:
    if level.year == 2 and subject in _BAC_REGIONAL:
        return coefficient
    if level.year == 3 and subject not in _NOT_IN_NATIONAL:
        return coefficient
    return None


def _customary(level: Level) -> Iterator[RuleRow]:
    if level.cycle == "primary":
        table = _PRIMARY_UPPER if level.year >= 5 else _PRIMARY
        for subject, coef in table.items():
            exam = coef if level.year == 6 and subject in _PRIMARY_EXAM else None
            yield RuleRow(CUSTOMARY, level.code, subject, 2, _CUSTOMARY_SHARE, "weighted", coef, exam)
    elif level.cycle == "college":
        for subject, coef in _COLLEGE_CUSTOMARY.items():
            exam = _REGIONAL_3AC.get(subject) if level.year == 3 else None
            share = _CUSTOMARY_SHARE_BY_SUBJECT.get(subject, _CUSTOMARY_SHARE)
            yield RuleRow(CUSTOMARY, level.code, subject, 3, share, "weighted", coef, exam)
    else:
        for subject, coef in _STREAMS[_stream_of(level)].items():
            share = _CUSTOMARY_SHARE_BY_SUBJECT.get(subject, _CUSTOMARY_SHARE)
            yield RuleRow(CUSTOMARY, level.code, subject, 3, share, "weighted", coef, _lycee_exam(level, subject, coef))


# -- collège from 2025/26: ministerial notes 180-193 ----------------------------
# As compiled by a public school-management project (see /README.md, "Marking
# rules"): subject -> (tests, activities share, formula, coefficient 1AC/2AC).
# 3AC continuous assessment: every coefficient 1. HG has 2 tests in 3AC; PE's
# activities share is 15% (1AC), 20% (2AC), 25% (3AC). English is the mean of
# three blocks: the two short tests, the final test, the activities.

_REFORM: dict[str, tuple[int, str, str, int]] = {
    "ARA": (2, "1/4", "weighted", 5),
    "FRA": (4, "1/5", "weighted", 5),
    "MATH": (3, "0", "weighted", 5),
    "HG": (3, "1/3", "weighted", 3),
    "EIS": (2, "1/3", "weighted", 2),
    "PC": (3, "1/4", "weighted", 2),
    "SVT": (2, "1/4", "weighted", 2),
    "INFO": (3, "1/5", "weighted", 1),
    "EPS": (3, "", "weighted", 2),
    "ANG": (3, "1/3", "three_blocks", 2),
}
_PE_SHARE = {1: "3/20", 2: "1/5", 3: "1/4"}


def _reform(level: Level) -> Iterator[RuleRow]:
    for subject, (tests, share, formula, coef) in _REFORM.items():
        if subject == "EPS":
            share = _PE_SHARE[level.year]
        if subject == "HG" and level.year == 3:
            tests = 2
        coefficient = 1 if level.year == 3 else coef
        exam = _REGIONAL_3AC.get(subject) if level.year == 3 else None
        yield RuleRow(REFORM_2025, level.code, subject, tests, share, formula, coefficient, exam)


def shipped_rules() -> list[RuleRow]:
    rows: list[RuleRow] = []
    for level in LEVELS:
        rows.extend(_customary(level))
        if level.cycle == "college":
            rows.extend(_reform(level))
    return rows
