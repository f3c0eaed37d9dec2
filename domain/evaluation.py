"""A school year's evaluation rules, read from the `evaluation_rules` table.

The rule of (year, level, subject) is the row with the latest `since` not
after the year, or the earliest row when the year predates them all. The
centre publishes the rows; this module only reads them, so a changed rule
changes every average computed after it arrives. Subject weights never
appear in code: only the shapes of the formulas do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import sqlite_utils

from .errors import InvalidInput
from .rules import round2

# formula name -> what it means; the README's "Marking rules" lists them too.
FORMULAS = {
    "weighted": "tests' mean and the integrated activities, weighted by activities_weight",
    "three_blocks": "mean of three blocks: the short tests' mean, the last (final) test, the activities",
}
MAX_TESTS = 4


@dataclass(frozen=True)
class SubjectRule:
    level: str
    subject: str
    since: str
    tests: int
    activities_weight: Fraction
    formula: str
    coefficient: int
    exam_coefficient: int | None

    def as_json(self) -> dict[str, object]:
        return {
            "tests": self.tests,
            "activities_weight": fraction_text(self.activities_weight),
            "activities_percent": float(_exact((self.activities_weight * 100).as_integer_ratio())),
            "formula": self.formula,
            "coefficient": self.coefficient,
            "exam_coefficient": self.exam_coefficient,
            "rule_since": self.since,
        }


def fraction_text(value: Fraction) -> str:
    return str(value)


def parse_share(text: object) -> Fraction:
    """`1/3`, `0.25`, `25%` or `0` -> an exact fraction in 0..1."""
    raw = str(text if text is not None else "").strip()
    try:
        value = Fraction(raw[:-1]) / 100 if raw.endswith("%") else Fraction(raw)
    except (ValueError, ZeroDivisionError):
        raise InvalidInput(
            f"activities_weight {raw!r} is not a share such as 1/4, 0.25 or 25%", code="bad_rule"
        ) from None
    if not 0 <= value <= 1:
        raise InvalidInput(f"activities_weight {raw} is outside 0..1", code="bad_rule")
    return value


def check_rule_row(row: dict[str, object]) -> dict[str, object]:
    """A published or shipped row, normalised (share as a fraction); InvalidInput when wrong."""
    out = dict(row)
    out["activities_weight"] = fraction_text(parse_share(row.get("activities_weight")))
    if row.get("formula") not in FORMULAS:
        raise InvalidInput(f"formula {row.get('formula')!r} is not one of {', '.join(FORMULAS)}", code="bad_rule")
    tests = row.get("tests")
    if not isinstance(tests, int) or isinstance(tests, bool) or not 1 <= tests <= MAX_TESTS:
        raise InvalidInput(f"tests must be 1..{MAX_TESTS}, not {tests!r}", code="bad_rule")
    if row.get("formula") == "three_blocks" and tests < 2:
        raise InvalidInput("three_blocks needs at least 2 tests (short tests, then the final)", code="bad_rule")
    for name, low in (("coefficient", 0), ("exam_coefficient", 1)):
        value = row.get(name)
        if name == "exam_coefficient" and value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= 9:
            raise InvalidInput(f"{name} must be {low}..9, not {value!r}", code="bad_rule")
    return out


def _rule(row: Sequence) -> SubjectRule:
    level, subject, since, tests, share, formula, coefficient, exam = row
    return SubjectRule(level, subject, since, int(tests), Fraction(share), formula, int(coefficient), exam)


_SQL = """
SELECT r.level, r.subject, r.since, r.tests, r.activities_weight, r.formula, r.coefficient, r.exam_coefficient
FROM evaluation_rules r
WHERE r.level = ? AND r.since = COALESCE(
    (SELECT MAX(o.since) FROM evaluation_rules o WHERE o.level = r.level AND o.subject = r.subject AND o.since <= ?),
    (SELECT MIN(o.since) FROM evaluation_rules o WHERE o.level = r.level AND o.subject = r.subject))
ORDER BY r.subject
"""


def rules_for(db: sqlite_utils.Database, year: str, level: str) -> dict[str, SubjectRule]:
    """subject -> rule for one level in one school year; subjects with coefficient 0 are not taught."""
    rules = (_rule(r) for r in db.execute(_SQL, [level, year]).fetchall())
    return {r.subject: r for r in rules if r.coefficient > 0}


# Exact rationals as (numerator, denominator) pairs of ints: the same numbers Fraction gives,
# without its object per operation (a class's results page computes thousands of averages).
Ratio = tuple[int, int]


def _exact(value: Ratio) -> Decimal:
    # Decimal division is correctly rounded, so any representation of the same rational gives the same digits.
    return round2(Decimal(value[0]) / Decimal(value[1]))


def _mean_of(values: Sequence[Decimal]) -> Ratio:
    # Marks have two decimals, so their Decimal sum is exact: one ratio per mean, not one per mark.
    n, d = sum(values, Decimal(0)).as_integer_ratio()
    return n, d * len(values)


def _mean(values: Sequence[Decimal]) -> Ratio | None:
    return _mean_of(values) if values else None


def subject_average(
    rule: SubjectRule, tests: Sequence[tuple[int, Decimal | None]], activities: Decimal | None
) -> Decimal | None:
    """A subject's semester average from its counted marks.

    ``tests`` are (test number, counted value) pairs, value None when the mark
    is left out (justified absence); ``activities`` the counted activities mark.
    No average without a counted test."""
    counted = [v for _, v in tests if v is not None]
    if not counted:
        return None
    if rule.formula == "three_blocks":
        final = rule.tests
        short = _mean([v for n, v in tests if n < final and v is not None])
        # a test numbered past the rule's count (marked under an older rule) joins the final block
        last = _mean([v for n, v in tests if n >= final and v is not None])
        blocks = [b for b in (short, last, None if activities is None else activities.as_integer_ratio()) if b]
        num, den = 0, 1
        for n, d in blocks:
            num, den = num * d + n * den, den * d
        return _exact((num, den * len(blocks)))
    mean_n, mean_d = _mean_of(counted)
    w = rule.activities_weight
    if activities is None or w == 0:
        return _exact((mean_n, mean_d))
    # mean * (1 - w) + activities * w, with w = p / q
    p, q = w.numerator, w.denominator
    act_n, act_d = activities.as_integer_ratio()
    return _exact((mean_n * (q - p) * act_d + act_n * p * mean_d, mean_d * q * act_d))
