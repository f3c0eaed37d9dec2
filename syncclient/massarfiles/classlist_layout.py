"""Titles of the class list export (`ListEleve_YYYYMMDD.xls`), kept in one
place for the reader and the writer. The first spelling is the one written."""

from __future__ import annotations

TITLE = "لائحة التلاميذ"

# Table columns, right-most first, as the export lays them out.
COLUMNS: dict[str, tuple[str, ...]] = {
    "order": ("ر.ت", "رت"),
    "code": ("الرمز", "رمز التلميذ", "رقم التلميذ"),
    "last_name": ("النسب",),
    "first_name": ("الإسم", "اسم التلميذ"),
    "gender": ("النوع", "الجنس"),
    "birth_date": ("تاريخ الإزدياد",),
    "birth_place": ("مكان الازدياد",),
}
REQUIRED = ("code", "last_name", "first_name", "gender", "birth_date")

METADATA: dict[str, tuple[str, ...]] = {
    "year": ("السنة الدراسية",),
    "academy": ("الأكاديمية", "الأكاديمية الجهوية"),
    "directorate": ("المديرية", "المديرية الإقليمية"),
    "school": ("المؤسسة",),
    "commune": ("الجماعة",),
    "level": ("المستوى",),
    "class_code": ("القسم",),
}

# Hamza/alef variants are handled by normalise_label, so one spelling each.
GENDERS: dict[str, str] = {"ذكر": "M", "أنثى": "F", "M": "M", "F": "F"}
GENDER_WORDS = {"M": "ذكر", "F": "أنثى"}
