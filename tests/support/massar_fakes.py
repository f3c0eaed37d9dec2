"""Invented pupils for Massar class-list fixtures: never real pupil data.

Names are drawn from common Moroccan first and family names, and codes
from a seeded generator, so any resemblance to a real pupil is chance."""

from __future__ import annotations

import datetime as dt
import random

from syncclient.massarfiles.classlist_model import ClassListPupil, ClassSheet, Gender

BOYS = ("محمد", "يوسف", "أمين", "حمزة", "إلياس", "آدم", "عمر", "أيوب", "زكرياء", "مهدي", "أنس", "ياسين")
GIRLS = ("فاطمة الزهراء", "مريم", "خديجة", "سلمى", "إيمان", "هبة", "نور", "آية", "سارة", "جنات", "ملاك", "دعاء")
FAMILY = (
    "العلوي",
    "بنعلي",
    "الإدريسي",
    "التازي",
    "الفاسي",
    "بنجلون",
    "السوسي",
    "الرحماني",
    "أيت علي",
    "الحسني",
    "بوزيد",
    "المرابط",
    "الشرقاوي",
    "الزياني",
    "أمزيان",
)
PLACES = ("الرباط", "سلا", "فاس", "مراكش", "أكادير", "طنجة", "وجدة", "تازة", "بني ملال", "الراشيدية")


def fake_code(rng: random.Random) -> str:
    return rng.choice("ABCDEFGHJKLMNPRSTUVW") + "".join(rng.choice("0123456789") for _ in range(9))


def fake_pupils(count: int, *, seed: int = 0, school_year_start: int = 2023, age: int = 12) -> list[ClassListPupil]:
    """``count`` invented pupils of about ``age`` years, with distinct codes."""
    rng = random.Random(seed)
    codes: set[str] = set()
    pupils = []
    for n in range(count):
        code = fake_code(rng)
        while code in codes:
            code = fake_code(rng)
        codes.add(code)
        gender: Gender = "M" if rng.random() < 0.5 else "F"
        born = dt.date(school_year_start - age, 1, 1) + dt.timedelta(days=rng.randrange(365))
        pupils.append(
            ClassListPupil(
                row=n + 1,
                code=code,
                last_name=rng.choice(FAMILY),
                first_name=rng.choice(BOYS if gender == "M" else GIRLS),
                gender=gender,
                birth_date=born.isoformat(),
                birth_place=rng.choice(PLACES),
            )
        )
    return pupils


def fake_class_sheet(class_code: str, count: int, *, seed: int = 0, sheet_name: str = "Sheet1") -> ClassSheet:
    return ClassSheet(
        sheet_name=sheet_name,
        year="2023/2024",
        academy="الرباط سلا القنيطرة",
        directorate="سلا",
        school="الثانوية الإعدادية النموذجية",
        commune="سلا",
        level="الأولى ثانوي إعدادي مسار دولي",
        class_code=class_code,
        pupils=fake_pupils(count, seed=seed),
    )
