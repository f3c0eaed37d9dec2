from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from syncclient.massarfiles.codes import is_massar_code
from syncclient.massarfiles.dates import BadDate, excel_serial, parse_date
from syncclient.massarfiles.grid import CellValue
from syncclient.massarfiles.marks import BadMark, parse_absence, parse_mark


@pytest.mark.parametrize(
    ("value", "datemode", "expected"),
    [
        pytest.param(40940, 0, dt.date(2012, 2, 1), id="serial-int"),
        pytest.param(40940.0, 0, dt.date(2012, 2, 1), id="serial-float-from-xls"),
        pytest.param(39478, 1, dt.date(2012, 2, 1), id="serial-1904"),
        pytest.param("01/02/2012", 0, dt.date(2012, 2, 1), id="dmy-slash"),
        pytest.param("1-2-2012", 0, dt.date(2012, 2, 1), id="dmy-dash"),
        pytest.param("2012-02-01", 0, dt.date(2012, 2, 1), id="iso"),
        pytest.param(dt.datetime(2012, 2, 1), 0, dt.date(2012, 2, 1), id="datetime"),
        pytest.param(None, 0, None, id="empty"),
        pytest.param("  ", 0, None, id="blank-text"),
    ],
)
def test_parse_date(value: CellValue, datemode: int, expected: dt.date | None) -> None:
    assert parse_date(value, datemode=datemode) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("31/02/2012", id="no-such-day"),
        pytest.param("2012/13/01", id="ymd-slash-bad-month"),
        pytest.param("demain", id="text"),
        pytest.param(0, id="serial-zero"),
        pytest.param(-5, id="negative"),
        pytest.param(9_999_999, id="far-future"),
        pytest.param(True, id="bool"),
        pytest.param("01/01/1850", id="too-old"),
    ],
)
def test_bad_dates(value: CellValue) -> None:
    with pytest.raises(BadDate):
        parse_date(value)


def test_excel_serial_inverts_parse() -> None:
    day = dt.date(2011, 9, 17)
    assert parse_date(excel_serial(day)) == day


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        pytest.param("J130012345", True, id="valid"),
        pytest.param("j130012345", False, id="lowercase"),
        pytest.param("J13001234", False, id="too-short"),
        pytest.param("JJ30012345", False, id="two-letters"),
        pytest.param("J١٣٠٠١٢٣٤٥", False, id="arabic-indic-digits"),
        pytest.param("J130012345\n", False, id="newline"),
    ],
)
def test_massar_code(code: str, ok: bool) -> None:
    assert is_massar_code(code) is ok


@pytest.mark.parametrize(
    ("value", "scale", "expected"),
    [
        pytest.param(12.5, 20, Decimal("12.5"), id="float"),
        pytest.param(12.3, 20, Decimal("12.3"), id="float-not-binary-exact"),
        pytest.param(15, 20, Decimal(15), id="int"),
        pytest.param("12,75", 20, Decimal("12.75"), id="decimal-comma"),
        pytest.param(" 8.25 ", 10, Decimal("8.25"), id="text-primary"),
        pytest.param(0, 20, Decimal(0), id="zero"),
        pytest.param(20, 20, Decimal(20), id="max"),
        pytest.param(None, 20, None, id="empty"),
        pytest.param("", 20, None, id="blank"),
    ],
)
def test_parse_mark(value: CellValue, scale: int, expected: Decimal | None) -> None:
    assert parse_mark(value, scale=scale) == expected


@pytest.mark.parametrize(
    ("value", "scale", "message"),
    [
        pytest.param("abc", 20, "not a number", id="text"),
        pytest.param(20.5, 20, "out of range", id="above-20"),
        pytest.param(11, 10, "out of range", id="above-10-primary"),
        pytest.param(-1, 20, "out of range", id="negative"),
        pytest.param(12.125, 20, "decimals", id="three-decimals"),
        pytest.param("NaN", 20, "not a number", id="nan"),
        pytest.param(True, 20, "not a number", id="bool"),
    ],
)
def test_bad_marks(value: CellValue, scale: int, message: str) -> None:
    with pytest.raises(BadMark, match=message):
        parse_mark(value, scale=scale)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, (False, False), id="blank"),
        pytest.param(" ", (False, False), id="space"),
        pytest.param("مبرر", (True, True), id="justified"),
        pytest.param(" مبرر :", (True, True), id="justified-with-colon"),
        pytest.param("غير مبرر", (True, False), id="not-justified"),
        pytest.param("غ", (True, False), id="abbreviation"),
    ],
)
def test_parse_absence(value: CellValue, expected: tuple[bool, bool]) -> None:
    assert parse_absence(value) == expected
