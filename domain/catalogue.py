"""The default catalogue shipped with the package, so a fresh node works offline.

Levels and their scales are fixed by the school system. Subjects, coefficients
and Massar's numeric subject codes are the centre's to publish: these are only
starting values, replaced by what the central server publishes on sync.

Massar subject codes: only 0030 (informatics) is confirmed from a real export;
the others are placeholders until confirmed (see README, "Subject codes").
"""

from __future__ import annotations

import sqlite_utils

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

# code, cycle, scale, order, Arabic, French
LEVELS: tuple[tuple[str, str, int, int, str, str], ...] = (
    ("1AP", "primary", 10, 1, "المستوى الأول ابتدائي", "1re année primaire"),
    ("2AP", "primary", 10, 2, "المستوى الثاني ابتدائي", "2e année primaire"),
    ("3AP", "primary", 10, 3, "المستوى الثالث ابتدائي", "3e année primaire"),
    ("4AP", "primary", 10, 4, "المستوى الرابع ابتدائي", "4e année primaire"),
    ("5AP", "primary", 10, 5, "المستوى الخامس ابتدائي", "5e année primaire"),
    ("6AP", "primary", 10, 6, "المستوى السادس ابتدائي", "6e année primaire"),
    ("1APIC", "college", 20, 7, "الأولى إعدادي", "1re année collège"),
    ("2APIC", "college", 20, 8, "الثانية إعدادي", "2e année collège"),
    ("3APIC", "college", 20, 9, "الثالثة إعدادي", "3e année collège"),
    ("TCS", "lycee", 20, 10, "الجذع المشترك العلمي", "Tronc commun scientifique"),
    ("TCLSH", "lycee", 20, 10, "الجذع المشترك آداب وعلوم إنسانية", "Tronc commun lettres et sciences humaines"),
    ("TCT", "lycee", 20, 10, "الجذع المشترك التكنولوجي", "Tronc commun technologique"),
    ("1BACSE", "lycee", 20, 11, "الأولى باكالوريا علوم تجريبية", "1re bac sciences expérimentales"),
    ("1BACSM", "lycee", 20, 11, "الأولى باكالوريا علوم رياضية", "1re bac sciences mathématiques"),
    ("1BACL", "lycee", 20, 11, "الأولى باكالوريا آداب", "1re bac lettres"),
    ("2BACSVT", "lycee", 20, 12, "الثانية باكالوريا علوم الحياة والأرض", "2e bac SVT"),
    ("2BACPC", "lycee", 20, 12, "الثانية باكالوريا علوم فيزيائية", "2e bac sciences physiques"),
    ("2BACSM", "lycee", 20, 12, "الثانية باكالوريا علوم رياضية", "2e bac sciences mathématiques"),
    ("2BACL", "lycee", 20, 12, "الثانية باكالوريا آداب", "2e bac lettres"),
)

# code, Arabic, French, Massar code
SUBJECTS: tuple[tuple[str, str, str, str], ...] = (
    ("ARA", "اللغة العربية", "Langue arabe", "0010"),
    ("FRA", "اللغة الفرنسية", "Langue française", "0020"),
    ("INFO", "المعلوميات", "Informatique", "0030"),
    ("ANG", "اللغة الإنجليزية", "Langue anglaise", "0040"),
    ("EIS", "التربية الإسلامية", "Éducation islamique", "0050"),
    ("HG", "الاجتماعيات", "Histoire-géographie", "0060"),
    ("MATH", "الرياضيات", "Mathématiques", "0070"),
    ("SVT", "علوم الحياة والأرض", "Sciences de la vie et de la terre", "0080"),
    ("PC", "الفيزياء والكيمياء", "Physique-chimie", "0090"),
    ("EPS", "التربية البدنية", "Éducation physique", "0100"),
    ("PHILO", "الفلسفة", "Philosophie", "0110"),
    ("AMZ", "اللغة الأمازيغية", "Langue amazighe", "0120"),
    ("SCI", "النشاط العلمي", "Activité scientifique", "0130"),
    ("ART", "التربية الفنية", "Éducation artistique", "0140"),
)

_PRIMARY = {"ARA": 4, "FRA": 3, "MATH": 3, "EIS": 2, "SCI": 2, "AMZ": 1, "ART": 1, "EPS": 1}
_PRIMARY_UPPER = {**_PRIMARY, "HG": 1}
_COLLEGE = {"ARA": 3, "FRA": 3, "ANG": 2, "EIS": 2, "HG": 2, "MATH": 3, "SVT": 2, "PC": 2, "INFO": 1, "EPS": 1}
_SCIENCE = {
    "ARA": 2,
    "FRA": 4,
    "ANG": 2,
    "EIS": 2,
    "HG": 2,
    "PHILO": 2,
    "MATH": 4,
    "SVT": 4,
    "PC": 4,
    "INFO": 1,
    "EPS": 1,
}
_MATHS = {**_SCIENCE, "MATH": 7, "SVT": 2, "PC": 5}
_LETTERS = {"ARA": 4, "FRA": 4, "ANG": 3, "EIS": 2, "HG": 3, "PHILO": 3, "MATH": 1, "EPS": 1}

COEFFICIENTS: dict[str, dict[str, int]] = {
    **{f"{n}AP": _PRIMARY for n in (1, 2, 3, 4)},
    **{f"{n}AP": _PRIMARY_UPPER for n in (5, 6)},
    **{f"{n}APIC": _COLLEGE for n in (1, 2, 3)},
    "TCS": _SCIENCE,
    "TCT": _SCIENCE,
    "TCLSH": _LETTERS,
    "1BACSE": _SCIENCE,
    "1BACSM": _MATHS,
    "1BACL": _LETTERS,
    "2BACSVT": _SCIENCE,
    "2BACPC": {**_SCIENCE, "PC": 7, "MATH": 7},
    "2BACSM": _MATHS,
    "2BACL": _LETTERS,
}

# English is commonly weighted 60/40 between tests and activities.
ACTIVITIES_WEIGHT = {"ANG": 40}


def seed_reference_data(db: sqlite_utils.Database) -> None:
    """Insert the catalogue where it is missing; never overwrite published values."""
    db["academies"].insert_all(({"code": c, "name_ar": ar, "name_fr": fr} for c, ar, fr in ACADEMIES), ignore=True)
    db["levels"].insert_all(
        (
            {"code": c, "cycle": cy, "scale": sc, "ord": o, "name_ar": ar, "name_fr": fr}
            for c, cy, sc, o, ar, fr in LEVELS
        ),
        ignore=True,
    )
    db["subjects"].insert_all(
        ({"code": c, "name_ar": ar, "name_fr": fr, "massar_code": m} for c, ar, fr, m in SUBJECTS),
        ignore=True,
    )
    db["coefficients"].insert_all(
        (
            {
                "level": level,
                "subject": subject,
                "coefficient": coef,
                "activities_weight": ACTIVITIES_WEIGHT.get(subject, 25),
            }
            for level, subjects in COEFFICIENTS.items()
            for subject, coef in subjects.items()
        ),
        ignore=True,
    )
