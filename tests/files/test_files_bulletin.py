"""`massar node bulletin` and `syncclient.bulletins.render_bulletins`: printable report cards."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from domain.absences import AbsenceEntry, record_absences
from domain.grades import GradeEntry, record_grades
from domain.results import pupil_report
from domain.rules import FULL_DAY, hours_mask
from syncclient.bulletins import render_bulletins, semester_days

from .conftest import YEAR, School, massar, opened

SECTION = '<section class="bulletin"'


def _fill(school: School) -> None:
    """Marks in MATH and FRA for both semesters, and one absence per semester."""
    entries = []
    for i, pupil in enumerate(school.pupils("1APIC-1")):
        for semester in (1, 2):
            base = Decimal(8 + i + semester)
            entries += [
                GradeEntry(pupil, "MATH", semester, 1, base),
                GradeEntry(pupil, "MATH", semester, 2, base + Decimal("1.5")),
                GradeEntry(pupil, "MATH", semester, 5, Decimal(15), remark="عمل منتظم"),
                GradeEntry(pupil, "FRA", semester, 1, base - 2),
            ]
    first = school.pupils("1APIC-1")[0]
    entries.append(GradeEntry(first, "FRA", 1, 2, None, absent=True))
    with opened(school.node) as store:
        record_grades(store.db, store.term, entries)
        record_absences(
            store.db,
            store.term,
            [
                AbsenceEntry(first, dt.date(2023, 10, 10), hours_mask([1, 2])),
                AbsenceEntry(first, dt.date(2024, 3, 5), FULL_DAY, justified=True, reason="مرض"),
            ],
        )


def _names(node: Path) -> dict[str, str]:
    conn = sqlite3.connect(node / "node.sqlite")
    try:
        return {
            c: f"{last} {first}"
            for c, last, first in conn.execute("SELECT code, last_name_ar, first_name_ar FROM pupils")
        }
    finally:
        conn.close()


def test_class_bulletin_prints_one_arabic_page_per_pupil(school: School, tmp_path: Path) -> None:
    _fill(school)
    massar("node", "close-semester", "--data", school.node, "--semester", "1")
    out = tmp_path / "bulletins.html"

    massar("node", "bulletin", "--data", school.node, "--class", "1APIC-1", "--semester", "1", "-o", out)

    html = out.read_text(encoding="utf-8")
    assert '<html lang="ar" dir="rtl">' in html
    assert "page-break-after: always" in html and "@page" in html and "@media print" in html
    # self-contained: nothing fetched when printed offline
    assert not re.search(r"<link|<script|<img|url\(|https?://", html)
    pages = html.split(SECTION)[1:]
    pupils = school.pupils("1APIC-1")
    assert len(pages) == len(pupils)
    names = _names(school.node)
    with opened(school.node) as store:
        reports = {p: pupil_report(store.db, YEAR, p, school=store.school, semesters=(1,)) for p in pupils}
    for page in pages:
        code = re.match(r' data-pupil="([A-Z0-9-]+)"', page).group(1)
        report = reports[code]["semesters"]["1"]
        assert names[code] in page
        assert "بيان النقط" in page and "الدورة الأولى" in page and "الرياضيات" in page
        assert "الثانوية الإعدادية النموذجية" in page
        assert f"{report['average']:.2f}" in page
        assert re.search(rf'<span class="num">{report["rank"]}</span> من <span class="num">{len(pupils)}</span>', page)
    first = next(p for p in pages if pupils[0] in p[:40])
    assert re.search(r"ساعات الغياب</th><td class=\"num\">2<", first)
    assert re.search(r"غير مبررة</th><td class=\"num\">2<", first)


def test_open_semester_prints_provisional_without_rank(school: School) -> None:
    _fill(school)
    pupil = school.pupils("1APIC-1")[0]

    with opened(school.node) as store:
        html = render_bulletins(store, [pupil], 2)

    assert "نتائج مؤقتة" in html and "الرتبة تعطى بعد إغلاقها" in html
    assert not re.search(r'<span class="num">\d+</span> من <span class="num">', html)
    assert 'المعدل السنوي</th><td class="num">—<' in html  # annual waits for both closures
    assert "(مقترح)" not in html


def test_second_semester_bulletin_of_one_pupil(school: School) -> None:
    _fill(school)
    for semester in ("1", "2"):
        massar("node", "close-semester", "--data", school.node, "--semester", semester)
    pupil = school.pupils("1APIC-1")[0]

    with opened(school.node) as store:
        html = render_bulletins(store, [pupil], 2)
        report = pupil_report(store.db, YEAR, pupil, school=store.school)

    assert html.count(SECTION) == 1
    assert "الدورة الثانية" in html and "المعدل السنوي" in html
    assert f"{report['annual_average']:.2f}" in html
    assert re.search(r"ساعات الغياب</th><td class=\"num\">8<", html)  # the March full day only
    assert re.search(r"منها مبررة</th><td class=\"num\">8<", html)


def test_semester_boundary() -> None:
    assert semester_days("2023/2024", 1) == ("2023-09-01", "2024-01-31")
    assert semester_days("2023/2024", 2) == ("2024-02-01", "2024-08-31")


@pytest.mark.parametrize(
    ("who", "message"),
    [
        pytest.param(["--student", "Z000000001"], "unknown pupil Z000000001", id="unknown-pupil"),
        pytest.param(["--student", "12"], "malformed pupil code", id="malformed-code"),
        pytest.param(["--class", "3APIC-4"], "no pupil in class 3APIC-4", id="empty-class"),
    ],
)
def test_bulletin_refuses_clearly(school: School, tmp_path: Path, who: list[str], message: str) -> None:
    out = tmp_path / "b.html"
    proc = massar("node", "bulletin", "--data", school.node, *who, "--semester", "1", "-o", out, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()
