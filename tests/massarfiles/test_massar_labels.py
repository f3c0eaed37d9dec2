from __future__ import annotations

import pytest

from syncclient.massarfiles.grid import Grid
from syncclient.massarfiles.labels import find_columns, find_header_row, find_label, normalise_label


@pytest.mark.parametrize(
    ("left", "right"),
    [
        pytest.param("تاريخ الإزدياد", "تاريخ الازدياد", id="hamza-under-alef"),
        pytest.param("رقم  التلميذ  ", "رقم التلميذ", id="doubled-and-trailing-spaces"),
        pytest.param("أكاديمية :", "اكاديمية", id="trailing-colon"),
        pytest.param(": المستوى", "المستوى", id="leading-colon"),
        pytest.param(" تاريخ الإزدياد", "تاريخ الازدياد", id="leading-space"),
        pytest.param("المـــادة", "المادة", id="tatweel"),
        pytest.param("آية", "اية", id="madda"),
        pytest.param("الدورة الأولى", "الدورة الاولي", id="alef-maqsura"),
        pytest.param("م. الإقليمية", "م.الاقليمية", id="space-after-dot"),
        pytest.param("مبرّر", "مبرر", id="shadda"),
        pytest.param("الرمز\u00a0:", "الرمز", id="no-break-space"),
        pytest.param("\u200fالقسم\u200f", "القسم", id="rtl-marks"),
        pytest.param("ﻻ", "لا", id="presentation-form"),
    ],
)
def test_variants_normalise_equal(left: str, right: str) -> None:
    assert normalise_label(left) == normalise_label(right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        pytest.param("الفرض الأول", "الفرض الثاني", id="different-words"),
        pytest.param("رقم التلميذ", "رقمالتلميذ", id="space-is-significant"),
        pytest.param("مبرر", "غير مبرر", id="negation"),
    ],
)
def test_different_labels_stay_different(left: str, right: str) -> None:
    assert normalise_label(left) != normalise_label(right)


def test_none_and_numbers() -> None:
    assert normalise_label(None) == ""
    assert normalise_label(12) == "12"


GRID = Grid(
    name="S",
    cells=[
        [None, "لائحة التلاميذ", None],
        ["2023/2024", "السنة  الدراسية :", None],
        ["مكان الإزدياد", "الإسم", "ر.ت"],
    ],
)


def test_find_label_returns_first_match() -> None:
    assert find_label(GRID, ["السنة الدراسية"]) == (1, 1)
    assert find_label(GRID, ["غير موجود"]) is None
    assert find_label(GRID, ["ر.ت"], rows=range(2)) is None


def test_find_header_row_and_columns() -> None:
    titles = {"order": ("ر. ت",), "first": ("الاسم",), "place": ("مكان الازدياد",), "x": ("x",)}
    assert find_header_row(GRID, titles) == (2, {"place": 0, "first": 1, "order": 2})
    assert find_columns(GRID, 0, titles) == {}
