"""The marking rules, in one place.

Where public sources differ, the choice made here is documented in the README
("Marking rules"). Everything is exact decimal arithmetic on integer hundredths.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

PASS_MARK = {10: Decimal("5"), 20: Decimal("10")}
MAX_TESTS = 4
ACTIVITIES = 5  # assessment number of the integrated activities (الأنشطة المندمجة)
HOUR_SLOTS = 8  # 4 morning + 4 afternoon
FULL_DAY = (1 << HOUR_SLOTS) - 1

TWO_PLACES = Decimal("0.01")


def round2(value: Decimal) -> Decimal:
    return value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def hundredths(score: Decimal) -> int:
    return int((score * 100).to_integral_value())


def from_hundredths(value: int) -> Decimal:
    return Decimal(value) / 100


def certificate_3apic(continuous: Decimal, local_exam: Decimal, regional_exam: Decimal) -> Decimal:
    """Brevet (3APIC): (3 x continuous assessment + 3 x local exam + 4 x regional exam) / 10."""
    return round2((3 * continuous + 3 * local_exam + 4 * regional_exam) / 10)


# 6AP certificate: continuous assessment, the school exam and the provincial
# exam. No published weights were found: equal thirds (README, "Marking rules").
CERTIFICATE_6AP_WEIGHTS = (Decimal(1), Decimal(1), Decimal(1))


def certificate_6ap(continuous: Decimal, local_exam: Decimal, provincial_exam: Decimal) -> Decimal:
    """6AP: weighted mean of continuous assessment, school exam and provincial exam (/10)."""
    a, b, c = CERTIFICATE_6AP_WEIGHTS
    return round2((a * continuous + b * local_exam + c * provincial_exam) / (a + b + c))


def baccalaureate(continuous: Decimal, regional_exam: Decimal, national_exam: Decimal) -> Decimal:
    """Bac: 25% continuous assessment + 25% regional exam (1BAC) + 50% national exam."""
    return round2(continuous / 4 + regional_exam / 4 + national_exam / 2)


def passes(average: Decimal | None, scale: int) -> bool | None:
    if average is None:
        return None
    return average >= PASS_MARK[scale]


def hours_mask(hours: list[int]) -> int:
    mask = 0
    for h in hours:
        mask |= 1 << (h - 1)
    return mask


def mask_hours(mask: int) -> list[int]:
    return [h for h in range(1, HOUR_SLOTS + 1) if mask & (1 << (h - 1))]
