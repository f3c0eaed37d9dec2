"""The default catalogue shipped with the package, so a fresh node works offline.

Levels (`level_codes.py`), subjects, evaluation rules (`evaluation_catalogue.py`)
and Massar's numeric subject codes are the centre's to publish: these are only
starting values, replaced by what the central server publishes on sync.

Massar subject codes: 0030 (informatics) and 0019 (mathematics) are confirmed
from real exports; the others are placeholders until confirmed (see README,
"Subject codes").
"""

from __future__ import annotations

import sqlite_utils

from .evaluation import check_rule_row
from .evaluation_catalogue import shipped_rules
from .level_codes import LEVELS

ACADEMIES: tuple[tuple[str, str, str], ...] = (
    ("TTA", "طنجة تطوان الحسيمة", "Tanger-Tétouan-Al Hoceïma"),
    ("ORI", "الشرق", "L'Oriental"),
    ("FMK", "فاس مكناس", "Fès-Meknès"),
    ("RSK", "الرباط سلا القنيطرة", "Rabat-Salé-Kénitra"),
    ("BMK", "بني ملال خنيفرة", "Béni Mellal-Khénifra"),
    ("CSE", "الدار البيضاء سطات", "Casablanca-Settat"),
    ("MSA", "مراكش آسفي", "Marrakech-Safi"),
    ("DTF", "درعة تافيلالت", "Drâa-Tafilalet"),
    ("SMA", "سوس ماسة", "Souss-Massa"),
    ("GON", "كلميم واد نون", "Guelmim-Oued Noun"),
    ("LSH", "العيون الساقية الحمراء", "Laâyoune-Sakia El Hamra"),
    ("DOE", "الداخلة وادي الذهب", "Dakhla-Oued Ed-Dahab"),
)

# code, Arabic, French, Massar code
SUBJECTS: tuple[tuple[str, str, str, str], ...] = (
    ("ARA", "اللغة العربية", "Langue arabe", "0010"),
    ("FRA", "اللغة الفرنسية", "Langue française", "0020"),
    ("INFO", "المعلوميات", "Informatique", "0030"),
    ("ANG", "اللغة الإنجليزية", "Langue anglaise", "0040"),
    ("EIS", "التربية الإسلامية", "Éducation islamique", "0050"),
    ("HG", "الاجتماعيات", "Histoire-géographie", "0060"),
    ("MATH", "الرياضيات", "Mathématiques", "0019"),
    ("SVT", "علوم الحياة والأرض", "Sciences de la vie et de la terre", "0080"),
    ("PC", "الفيزياء والكيمياء", "Physique-chimie", "0090"),
    ("EPS", "التربية البدنية", "Éducation physique", "0100"),
    ("PHILO", "الفلسفة", "Philosophie", "0110"),
    ("AMZ", "اللغة الأمازيغية", "Langue amazighe", "0120"),
    ("SCI", "النشاط العلمي", "Activité scientifique", "0130"),
    ("ART", "التربية الفنية", "Éducation artistique", "0140"),
)


def seed_reference_data(db: sqlite_utils.Database) -> None:
    """Insert the catalogue where it is missing; never overwrite published values."""
    db.table("academies").insert_all(
        ({"code": c, "name_ar": ar, "name_fr": fr} for c, ar, fr in ACADEMIES), ignore=True
    )
    db.table("levels").insert_all(
        (
            {
                "code": lv.code,
                "cycle": lv.cycle,
                "year": lv.year,
                "scale": lv.scale,
                "ord": lv.ord,
                "name_ar": lv.name_ar,
                "name_fr": lv.name_fr,
            }
            for lv in LEVELS
        ),
        ignore=True,
    )
    db.table("subjects").insert_all(
        ({"code": c, "name_ar": ar, "name_fr": fr, "massar_code": m} for c, ar, fr, m in SUBJECTS),
        ignore=True,
    )
    db.table("evaluation_rules").insert_all((check_rule_row(r.as_row()) for r in shipped_rules()), ignore=True)
