"""Identifiers as Massar writes them: pupil codes, logins, classes, school years, dates."""

from __future__ import annotations

import datetime as dt
import re

from .errors import InvalidInput

MASSAR_CODE = re.compile(r"^[A-Z][0-9]{9}$")
# Provisional codes are visibly not Massar codes, and unique nationally
# because they embed the school's code.
PROVISIONAL_CODE = re.compile(r"^TMP-[A-Z0-9]{1,12}-[0-9]{1,6}$")
LOGIN_DOMAIN = "taalim.ma"
SCHOOL_CODE = re.compile(r"^[A-Z0-9]{3,12}$")
CLASS_CODE = re.compile(r"^([0-9A-Z]+?)(?:-([0-9]{1,2}))?$")
SCHOOL_YEAR = re.compile(r"^([0-9]{4})/([0-9]{4})$")


def check_pupil_code(code: str) -> str:
    code = code.strip().upper()
    if not (MASSAR_CODE.match(code) or PROVISIONAL_CODE.match(code)):
        raise InvalidInput(
            f"malformed pupil code {code!r}: expected one capital letter and nine digits, e.g. R130245678",
            code="bad_pupil_code",
        )
    return code


def check_school_code(code: str) -> str:
    code = code.strip().upper()
    if not SCHOOL_CODE.match(code):
        raise InvalidInput(f"malformed school code {code!r}: 3 to 12 capital letters or digits", code="bad_school_code")
    return code


def provisional_code(school: str, n: int) -> str:
    return f"TMP-{school}-{n}"


def login_for(code: str) -> str:
    return f"{code}@{LOGIN_DOMAIN}"


def level_of_class(class_code: str) -> str:
    """`1APIC-2` -> `1APIC`; primary classes may be `3AP` or `3AP-1`."""
    m = CLASS_CODE.match(class_code.strip().upper())
    if not m:
        raise InvalidInput(f"malformed class code {class_code!r}, e.g. 1APIC-1 or TCS-2", code="bad_class")
    return m.group(1)


def check_school_year(year: str) -> str:
    m = SCHOOL_YEAR.match(year.strip())
    if not m or int(m.group(2)) != int(m.group(1)) + 1:
        raise InvalidInput(f"malformed school year {year!r}, e.g. 2026/2027", code="bad_year")
    return year.strip()


def school_year_of(day: dt.date) -> str:
    """The school year runs September to August."""
    start = day.year if day.month >= 9 else day.year - 1
    return f"{start}/{start + 1}"


def parse_date(text: str, *, field: str = "date", allow_future: bool = False, today: dt.date | None = None) -> dt.date:
    try:
        value = dt.date.fromisoformat(text.strip())
    except (ValueError, AttributeError) as exc:
        raise InvalidInput(f"{field} {text!r} is not a date YYYY-MM-DD", code="bad_date") from exc
    if value.year < 1900:
        raise InvalidInput(f"{field} {text} is out of range", code="bad_date")
    if not allow_future and value > (today or dt.date.today()):
        raise InvalidInput(f"{field} {text} is in the future", code="date_in_future")
    return value
