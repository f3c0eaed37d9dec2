"""Averages are exact: the integer-ratio arithmetic of `domain.evaluation` equals the formulas in Fractions."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from domain.evaluation import SubjectRule, subject_average

marks = st.integers(0, 2000).map(lambda h: Decimal(h) / 100)
counted = st.one_of(st.none(), marks)
shares = st.sampled_from([Fraction(0), Fraction(1, 4), Fraction(1, 3), Fraction(3, 10), Fraction(2, 7), Fraction(1, 2)])


def _rounded(value: Fraction) -> Decimal:
    # Half up at two decimals, straight from the exact rational (marks are never negative).
    hundredths = (value * 100 * 2 + 1) // 2
    return Decimal(hundredths) / 100


def _by_hand(rule: SubjectRule, tests: list[tuple[int, Decimal | None]], activities: Decimal | None) -> Decimal | None:
    values = [Fraction(v) for _, v in tests if v is not None]
    if not values:
        return None
    if rule.formula == "three_blocks":
        short = [Fraction(v) for n, v in tests if n < rule.tests and v is not None]
        last = [Fraction(v) for n, v in tests if n >= rule.tests and v is not None]
        blocks = [sum(b, Fraction(0)) / len(b) for b in (short, last) if b]
        blocks += [] if activities is None else [Fraction(activities)]
        return _rounded(sum(blocks, Fraction(0)) / len(blocks))
    mean = sum(values, Fraction(0)) / len(values)
    if activities is None or rule.activities_weight == 0:
        return _rounded(mean)
    w = rule.activities_weight
    return _rounded(mean * (1 - w) + Fraction(activities) * w)


@given(
    formula=st.sampled_from(["weighted", "three_blocks"]),
    share=shares,
    test_count=st.integers(1, 4),
    values=st.lists(counted, max_size=5),
    activities=counted,
)
def test_subject_average_equals_the_formula_in_exact_fractions(formula, share, test_count, values, activities):
    rule = SubjectRule("1APIC", "MATH", "2025/2026", test_count, share, formula, 3, None)
    tests = [(n, v) for n, v in enumerate(values, start=1)]
    got = subject_average(rule, tests, activities)
    expected = _by_hand(rule, tests, activities)
    assert got == expected
    assert got is None or got == got.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
