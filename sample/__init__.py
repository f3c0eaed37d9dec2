"""Seeded, realistic (invented) school data: shared by the tests, `massar demo` and the benchmarks.

It lives outside `domain/` because no school rule depends on it: it only writes
through the domain like any other caller.

Nothing here is real pupil data. Names are drawn from common Moroccan first and
family names (Latin and Arabic spellings of the same name, gender consistent),
codes from a seeded generator; any resemblance to a real pupil is chance.

    sample = make_school(db, term, seed=1)                       # 600 pupils, 18 collège classes
    semester_grades(db, term, sample, 1, seed=1)                 # ~24,000 grade rows
    absences(db, term, sample, days=83, seed=1)                  # ~3,000 absence rows
    incidents(db, term, sample, seed=1)                          # a handful
    day_delta(db, term, sample, dt.date(2025, 12, 1), seed=1)    # ~40 absences + a few fixes

Every function writes through `domain.rows.upsert_rows` inside one
`write_transaction`, so on a school node every row is captured for sync like
any other write. The same seed on the same database gives the same rows; each
function derives its own random stream from (seed, its name, its arguments) so
calls can be made in any order.

Choices and approximations (documented here, in one place):
- Massar codes: the school's letter for ~90% of pupils (others came from
  elsewhere), then nine random digits. No structure of real codes is assumed:
  random digits are also the worst case for compression.
- Tests per subject and semester: 3 supervised tests + the integrated
  activities in collège and lycée (`tests=` and `activities=` change it); 2 tests
  and no activities in primary, marked out of 10.
- Marks: per-pupil ability, per-subject difficulty and per-pupil subject
  strength, test noise; each (class, subject) teacher marks in steps of 0.25,
  0.5 or 1 point. Activities marks run higher and tighter than tests.
  About 1.5% of test cells are "absent", 40% of those justified.
- Calendar: Monday to Saturday (Saturday mornings only); semester 1 from the
  second Monday of September to late January, semester 2 from early February
  to mid-June; civil holidays and the usual one-week breaks are approximate and
  religious (lunar) holidays are ignored.
- Absences: each pupil has a propensity (a few chronic absentees), each day a
  factor (Fridays, Saturdays and days next to breaks are worse); the mean is
  `rate` of pupil-days. ~35% full days, the rest mornings, afternoons or a few
  hours; full days are justified more often than single hours.
- Dates are not checked against today: use a past school year when the data
  must be in the past (the benchmarks use 2025/2026).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from domain.database import write_transaction
from domain.evaluation import rules_for
from domain.pupils import Term
from domain.rows import upsert_rows
from domain.rules import ACTIVITIES, FULL_DAY

# --------------------------------------------------------------------------
# Names: (Latin, Arabic, weight). Weights roughly follow how common the name is.

# fmt: off

BOYS: tuple[tuple[str, str, int], ...] = (
    ("Mohamed", "محمد", 12), ("Ahmed", "أحمد", 4), ("Youssef", "يوسف", 6), ("Amine", "أمين", 3),
    ("Hamza", "حمزة", 5), ("Ilyas", "إلياس", 3), ("Adam", "آدم", 5), ("Omar", "عمر", 3),
    ("Ayoub", "أيوب", 5), ("Zakaria", "زكرياء", 4), ("Mehdi", "مهدي", 2), ("Anas", "أنس", 3),
    ("Yassine", "ياسين", 4), ("Abdellah", "عبد الله", 3), ("Abderrahim", "عبد الرحيم", 1),
    ("Abdelali", "عبد العالي", 1), ("Othmane", "عثمان", 2), ("Ismail", "إسماعيل", 2),
    ("Brahim", "إبراهيم", 2), ("Khalid", "خالد", 1), ("Said", "سعيد", 1), ("Hassan", "حسن", 2),
    ("Hicham", "هشام", 1), ("Soufiane", "سفيان", 2), ("Walid", "وليد", 1), ("Bilal", "بلال", 2),
    ("Achraf", "أشرف", 2), ("Marouane", "مروان", 2), ("Taha", "طه", 2), ("Badr", "بدر", 1),
    ("Ali", "علي", 2), ("Oussama", "أسامة", 3), ("Mustapha", "مصطفى", 1), ("Lahcen", "لحسن", 1),
    ("Abdessamad", "عبد الصمد", 1), ("Ayman", "أيمن", 2), ("Rayan", "ريان", 2), ("Wassim", "وسيم", 1),
    ("Saad", "سعد", 1), ("Reda", "رضى", 1), ("Jawad", "جواد", 1), ("Karim", "كريم", 1),
    ("Nabil", "نبيل", 1), ("Salaheddine", "صلاح الدين", 1), ("Abdelilah", "عبد الإله", 1),
)

GIRLS: tuple[tuple[str, str, int], ...] = (
    ("Fatima Zahra", "فاطمة الزهراء", 6), ("Fatima", "فاطمة", 3), ("Khadija", "خديجة", 3),
    ("Maryam", "مريم", 5), ("Salma", "سلمى", 3), ("Imane", "إيمان", 3), ("Hiba", "هبة", 3),
    ("Nour", "نور", 2), ("Aya", "آية", 5), ("Sara", "سارة", 3), ("Jannat", "جنات", 1),
    ("Malak", "ملاك", 3), ("Douaa", "دعاء", 2), ("Hajar", "هاجر", 3), ("Zineb", "زينب", 3),
    ("Asmae", "أسماء", 2), ("Chaimae", "شيماء", 3), ("Oumaima", "أميمة", 3), ("Kawtar", "كوثر", 2),
    ("Nisrine", "نسرين", 1), ("Soukaina", "سكينة", 2), ("Ikram", "إكرام", 2), ("Yasmine", "ياسمين", 2),
    ("Hanane", "حنان", 1), ("Amina", "أمينة", 2), ("Naima", "نعيمة", 1), ("Wiam", "وئام", 2),
    ("Ghizlane", "غزلان", 1), ("Siham", "سهام", 1), ("Loubna", "لبنى", 1), ("Rania", "رانية", 1),
    ("Ibtissam", "ابتسام", 1), ("Houda", "هدى", 2), ("Safae", "صفاء", 2), ("Nouhaila", "نهيلة", 2),
    ("Hafsa", "حفصة", 2), ("Aicha", "عائشة", 2), ("Rim", "ريم", 1), ("Manal", "منال", 1),
)

FAMILY: tuple[tuple[str, str, int], ...] = (
    ("El Alaoui", "العلوي", 4), ("Benali", "بنعلي", 2), ("El Idrissi", "الإدريسي", 4), ("Tazi", "التازي", 1),
    ("El Fassi", "الفاسي", 1), ("Bennani", "بناني", 2), ("Benjelloun", "بنجلون", 1), ("Soussi", "السوسي", 2),
    ("Rahmani", "الرحماني", 2), ("Ait Ali", "أيت علي", 3), ("El Hassani", "الحسني", 3), ("Bouzid", "بوزيد", 2),
    ("El Mrabet", "المرابط", 2), ("Cherkaoui", "الشرقاوي", 2), ("Zayani", "الزياني", 1), ("Amziane", "أمزيان", 2),
    ("El Amrani", "العمراني", 4), ("Berrada", "برادة", 1), ("Chraibi", "الشرايبي", 1), ("Lahlou", "لحلو", 1),
    ("Ouazzani", "الوزاني", 1), ("Bouazza", "بوعزة", 2), ("El Ouafi", "الوافي", 1), ("Naciri", "الناصري", 2),
    ("Ait Brahim", "أيت إبراهيم", 3), ("Ait Lahcen", "أيت لحسن", 2), ("Ait Hammou", "أيت حمو", 2),
    ("Ouchen", "أوشن", 1), ("Id Said", "إد سعيد", 1), ("Id Brahim", "إد إبراهيم", 1), ("Boutaleb", "بوطالب", 1),
    ("El Khattabi", "الخطابي", 1), ("Hamdaoui", "الحمداوي", 2), ("Bakkali", "البقالي", 2), ("Slaoui", "السلاوي", 1),
    ("Mansouri", "المنصوري", 3), ("El Kadiri", "القادري", 2), ("Jabri", "الجابري", 2), ("Saidi", "السعيدي", 3),
    ("Azzouzi", "العزوزي", 2), ("Touzani", "التوزاني", 1), ("Benmoussa", "بنموسى", 1), ("Daoudi", "الداودي", 2),
    ("Ghazi", "الغازي", 1), ("Haddad", "الحداد", 2), ("Karimi", "الكريمي", 2), ("Marzouki", "المرزوقي", 1),
    ("Nouri", "النوري", 2), ("Qasmi", "القاسمي", 2), ("Radi", "الراضي", 2), ("Sabri", "صبري", 1),
    ("Taibi", "الطيبي", 2), ("Yousfi", "اليوسفي", 3), ("Zerouali", "الزروالي", 2), ("Ghazouani", "الغزواني", 1),
    ("Chaoui", "الشاوي", 1), ("Doukkali", "الدكالي", 1), ("Rifi", "الريفي", 1), ("Jilali", "الجيلالي", 1),
    ("Outaleb", "أوطالب", 1), ("Agourram", "أكورام", 1), ("Belkadi", "بلقاضي", 1), ("Fikri", "فكري", 1),
)

FATHERS: tuple[tuple[str, int], ...] = (
    ("محمد", 10), ("أحمد", 4), ("عبد القادر", 2), ("لحسن", 3), ("حسن", 2), ("مصطفى", 2), ("عبد الله", 3),
    ("إدريس", 2), ("عمر", 2), ("امبارك", 2), ("إبراهيم", 3), ("سعيد", 3), ("عبد العزيز", 2), ("رشيد", 2),
    ("خالد", 2), ("عبد الرحمن", 2), ("جمال", 1), ("عزيز", 2), ("الحسين", 2), ("علي", 2), ("المصطفى", 1),
)

MOTHERS: tuple[tuple[str, int], ...] = (
    ("فاطمة", 8), ("خديجة", 4), ("عائشة", 4), ("الزهرة", 3), ("مليكة", 3), ("نعيمة", 3), ("رشيدة", 2),
    ("سعدية", 2), ("حليمة", 3), ("فاطنة", 2), ("حفيظة", 2), ("زينب", 2), ("أمينة", 2), ("لطيفة", 2),
    ("مينة", 2), ("إطو", 1), ("يامنة", 2), ("رقية", 1),
)

# Birth places: a rural home area per school (provincial town first, then its
# communes), plus towns pupils commonly come from.
REGIONS: dict[str, tuple[str, ...]] = {
    "SMA": ("تارودانت", "أولاد برحيل", "إغرم", "تالوين", "أولاد تايمة", "سيدي موسى الحمري", "أيت إعزة", "الكردان"),
    "MSA": ("الحوز", "أمزميز", "تحناوت", "أسني", "أيت أورير", "تمصلوحت", "شيشاوة", "إمينتانوت"),
    "FMK": ("تاونات", "قرية با محمد", "تيسة", "غفساي", "عين عائشة", "طهر السوق", "بوعادل", "رأس الواد"),
    "ORI": ("تاوريرت", "العيون سيدي ملوك", "دبدو", "جرادة", "عين بني مطهر", "تويسيت", "ملقى الويدان"),
    "DTF": ("زاكورة", "تازارين", "أكدز", "أرفود", "الريصاني", "تنغير", "قلعة مكونة", "ألنيف"),
    "BMK": ("أزيلال", "دمنات", "أفورار", "واويزغت", "بين الويدان", "تنانت", "أيت عتاب"),
    "TTA": ("شفشاون", "باب برد", "واد لاو", "باب تازة", "تلمبوط", "بني أحمد", "مقريصات"),
}
TOWNS: tuple[str, ...] = (
    "الدار البيضاء", "الرباط", "سلا", "فاس", "مراكش", "طنجة", "أكادير", "مكناس", "وجدة", "القنيطرة",
    "تطوان", "بني ملال", "الراشيدية", "آسفي", "الجديدة", "خريبكة", "إنزكان",
)

PHONE_PREFIXES = ("060", "061", "062", "063", "064", "065", "066", "067", "068", "069", "070", "071", "077", "078")

ABSENCE_REASONS: tuple[tuple[str, int], ...] = (
    ("شهادة طبية", 6), ("مرض", 4), ("ظروف عائلية", 3), ("سفر", 1), ("وفاة أحد الأقارب", 1),
    ("الأحوال الجوية", 1), ("بعد المسافة", 1),
)
# fmt: on
RECORDERS = ("surveillant1", "surveillant2", "surveillant3", "directeur")
REMARKS = ("عمل جيد", "مجتهد", "يحتاج إلى مزيد من الجهد", "تحسن ملحوظ", "نتائج متوسطة", "مشارك ونشيط")
INCIDENTS: tuple[tuple[str, str | None], ...] = (
    ("تأخر متكرر عن الحصص", "إنذار"),
    ("إحداث الفوضى داخل القسم", "توبيخ"),
    ("عدم إحضار الأدوات المدرسية بشكل متكرر", "استدعاء ولي الأمر"),
    ("شجار مع زميل في الساحة", "استدعاء ولي الأمر"),
    ("استعمال الهاتف المحمول داخل القسم", "حجز الهاتف وإنذار"),
    ("الغش في فرض محروس", "توبيخ"),
    ("سلوك غير لائق تجاه أستاذ", "المجلس الانضباطي"),
    ("إتلاف ممتلكات المؤسسة", "إصلاح الضرر واستدعاء ولي الأمر"),
    ("مغادرة المؤسسة دون إذن", "إنذار"),
    ("الكتابة على الطاولات", None),
)

# --------------------------------------------------------------------------
# Schools: level presets (weight = share of pupils; classes follow the weights).

# fmt: off
LEVEL_MIXES: dict[str, dict[str, float]] = {
    "college": {"1APIC": 0.36, "2APIC": 0.33, "3APIC": 0.31},
    "primary": {"1AP": 0.18, "2AP": 0.17, "3AP": 0.17, "4AP": 0.16, "5AP": 0.16, "6AP": 0.16},
    "lycee": {
        "TCS": 0.2, "TCLSH": 0.17, "1BACSE": 0.17, "1BACL": 0.12, "2BACSVT": 0.14, "2BACPC": 0.08, "2BACL": 0.12,
    },
}
# Age in the September of the school year (+ ord of the level) and the share of pupils 1 or 2 years late.
LATE = {"primary": (0.08, 0.02), "college": (0.22, 0.08), "lycee": (0.25, 0.1)}

# Subject difficulty on a /20 scale (negative = lower marks), rural collège flavour.
DIFFICULTY = {
    "MATH": -1.3, "PC": -0.8, "FRA": -1.2, "ANG": -0.4, "PHILO": -0.6, "SVT": -0.2, "ARA": 0.3, "HG": 0.2,
    "EIS": 1.5, "INFO": 1.6, "EPS": 3.2, "AMZ": 0.5, "SCI": 0.3, "ART": 2.0,
}
# fmt: on


@dataclass(frozen=True)
class SampleSchool:
    """What `make_school` created, for the other generators and for tests."""

    term: Term
    seed: int
    cycle: str
    region: str
    classes: dict[str, str]  # class code -> level
    class_of: dict[str, str]  # pupil code -> class code
    pupils: tuple[str, ...]  # pupil codes, in creation order (class by class)
    ability: dict[str, float] = field(repr=False)  # pupil code -> z-score used for marks
    scale: dict[str, int] = field(repr=False)  # level -> 10 or 20
    subjects: dict[str, tuple[str, ...]] = field(repr=False)  # level -> subject codes
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def start_year(self) -> int:
        return int(self.term.year[:4])

    def level_of(self, pupil: str) -> str:
        return self.classes[self.class_of[pupil]]


def _rng(seed: int, *parts: object) -> random.Random:
    # str seeds are hashed with SHA-512 by random.Random: stable across runs and PYTHONHASHSEED.
    return random.Random(":".join(str(p) for p in (seed, *parts)))


class _Picker:
    """Weighted choice with precomputed cumulative weights (random.choices recomputes them each call)."""

    def __init__(self, items: Sequence, weights: Sequence[float]) -> None:
        self.items = list(items)
        self.cum = list(itertools.accumulate(weights))

    def __call__(self, rng: random.Random) -> Any:
        return self.items[bisect.bisect(self.cum, rng.random() * self.cum[-1])]


_BOY = _Picker(BOYS, [w for *_, w in BOYS])
_GIRL = _Picker(GIRLS, [w for *_, w in GIRLS])
_FAMILY = _Picker(FAMILY, [w for *_, w in FAMILY])
_FATHER = _Picker([n for n, _ in FATHERS], [w for _, w in FATHERS])
_MOTHER = _Picker([n for n, _ in MOTHERS], [w for _, w in MOTHERS])
_REASON = _Picker([r for r, _ in ABSENCE_REASONS], [w for _, w in ABSENCE_REASONS])


def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split `total` in proportion to `weights` (largest remainder), every share at least 1 when possible."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    out = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: (out[i] - raw[i], i))[: total - sum(out)]:
        out[i] += 1
    if total >= len(out):
        for i, n in enumerate(out):
            if n == 0:
                donor = max(range(len(out)), key=lambda j: out[j])
                out[donor] -= 1
                out[i] = 1
    return out


def _massar_code(rng: random.Random, letter: str) -> str:
    if rng.random() > 0.9:
        letter = rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ")
    return letter + f"{rng.randrange(10**9):09d}"


def _phone(rng: random.Random) -> str:
    return rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**7):07d}"


def make_school(
    db: sqlite_utils.Database,
    term: Term,
    *,
    seed: int,
    pupils: int = 600,
    classes: int = 18,
    level_mix: str | Mapping[str, float] = "college",
    region: str | None = None,
) -> SampleSchool:
    """Create classes, pupils, enrolments and guardians of `term.school` for `term.year`.

    `level_mix`: "college" (1APIC/2APIC/3APIC, the default), "primary", "lycee", or a
    mapping level -> share of pupils. `region`: an academy code of `REGIONS` for birth
    places (default: drawn from the seed).
    """
    rng = _rng(seed, "school", term.school, term.year)
    mix = dict(LEVEL_MIXES[level_mix] if isinstance(level_mix, str) else level_mix)
    if not mix or pupils < 1 or classes < len(mix):
        raise ValueError(f"need at least one pupil and one class per level ({len(mix)} levels)")
    level_info = {
        code: (cycle, scale, ord_)
        for code, cycle, scale, ord_ in db.execute("SELECT code, cycle, scale, ord FROM levels").fetchall()
    }
    unknown = [lv for lv in mix if lv not in level_info]
    if unknown:
        raise ValueError(f"unknown levels {unknown}")
    cycles = {level_info[lv][0] for lv in mix}
    cycle = cycles.pop() if len(cycles) == 1 else "mixed"
    region = region or rng.choice(sorted(REGIONS))
    local = REGIONS[region]
    subjects: dict[str, tuple[str, ...]] = {}
    for lv in mix:
        subjects[lv] = tuple(sorted(rules_for(db, term.year, lv)))

    levels = list(mix)
    classes_per_level = _apportion(classes, [mix[lv] for lv in levels])
    pupils_per_level = _apportion(pupils, [mix[lv] for lv in levels])
    letter = rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ")
    taken = {r[0] for r in db.execute("SELECT code FROM pupils").fetchall()}

    class_rows, pupil_rows, enrol_rows, guardian_rows = [], [], [], []
    class_map: dict[str, str] = {}
    class_of: dict[str, str] = {}
    ability: dict[str, float] = {}
    order: list[str] = []
    for lv, n_classes, n_pupils in zip(levels, classes_per_level, pupils_per_level, strict=True):
        lv_cycle, _scale, lv_ord = level_info[lv]
        late1, late2 = LATE.get(lv_cycle, (0.2, 0.05))
        born_year = term_start(term) - (5 + lv_ord)
        for k, size in enumerate(_apportion(n_pupils, [1] * n_classes), start=1):
            class_code = f"{lv}-{k}"
            class_map[class_code] = lv
            class_rows.append((term.school, term.year, class_code, lv))
            for _ in range(size):
                code = _massar_code(rng, letter)
                while code in taken:
                    code = _massar_code(rng, letter)
                taken.add(code)
                gender = "F" if rng.random() < 0.48 else "M"
                first, first_ar, _ = (_GIRL if gender == "F" else _BOY)(rng)
                last, last_ar, _ = _FAMILY(rng)
                u = rng.random()
                late = 2 if u < late2 else 1 if u < late1 + late2 else 0
                birth = dt.date(born_year - late, 1, 1) + dt.timedelta(days=rng.randrange(365))
                place = (
                    rng.choice(local[:2])
                    if rng.random() < 0.35
                    else (rng.choice(local) if rng.random() < 0.8 else rng.choice(TOWNS))
                )
                pupil_rows.append(
                    (code, term.school, last, first, last_ar, first_ar, gender, birth.isoformat(), place, 0)
                )
                enrol_rows.append((term.school, term.year, code, class_code))
                guardian_rows.extend(_guardians(rng, term.school, code, last_ar))
                # Late pupils tend to have lower marks.
                ability[code] = rng.gauss(-0.35 * late, 1.0)
                class_of[code] = class_code
                order.append(code)
    with write_transaction(db):
        db.conn.execute(
            "INSERT INTO schools (code, name, rural) VALUES (?, ?, 1) ON CONFLICT (code) DO NOTHING",
            [term.school, f"Sample school {term.school}"],
        )
        upsert_rows(db, "classes", class_rows)
        upsert_rows(db, "pupils", pupil_rows)
        upsert_rows(db, "enrolments", enrol_rows)
        upsert_rows(db, "guardians", guardian_rows)
    return SampleSchool(
        term=term,
        seed=seed,
        cycle=cycle,
        region=region,
        classes=class_map,
        class_of=class_of,
        pupils=tuple(order),
        ability=ability,
        scale={lv: level_info[lv][1] for lv in levels},
        subjects=subjects,
        counts={
            "classes": len(class_rows),
            "pupils": len(pupil_rows),
            "enrolments": len(enrol_rows),
            "guardians": len(guardian_rows),
        },
    )


def _guardians(rng: random.Random, school: str, pupil: str, family_ar: str) -> list[tuple]:
    # Sample families chose Arabic and gave no SMS consent: the demo never fills the SMS outbox.
    rows = []
    n = 1
    if rng.random() < 0.96:
        phone = _phone(rng) if rng.random() < 0.93 else None
        rows.append((school, pupil, n, f"{_FATHER(rng)} {family_ar}", "father", phone, "ar", 0))
        n += 1
    else:  # father deceased or abroad: an uncle or grandparent is the guardian
        rows.append((school, pupil, n, f"{_FATHER(rng)} {family_ar}", "guardian", _phone(rng), "ar", 0))
        n += 1
    if rng.random() < 0.6:
        phone = _phone(rng) if rng.random() < 0.8 else None
        rows.append((school, pupil, n, f"{_MOTHER(rng)} {_FAMILY(rng)[1]}", "mother", phone, "ar", 0))
    return rows


def term_start(term: Term) -> int:
    return int(term.year[:4])


# --------------------------------------------------------------------------
# Calendar


def school_days(year: str, semester: int) -> list[dt.date]:
    """Teaching days of a semester (approximate calendar, see the module docstring)."""
    start = int(year[:4])
    if semester == 1:
        first = dt.date(start, 9, 8)
        first += dt.timedelta(days=(7 - first.weekday()) % 7)  # a Monday
        last = dt.date(start + 1, 1, 24)
    elif semester == 2:
        first, last = dt.date(start + 1, 2, 2), dt.date(start + 1, 6, 13)
    else:
        raise ValueError("semester must be 1 or 2")
    y1, y2 = start, start + 1
    holidays = {
        dt.date(y1, 11, 6),
        dt.date(y1, 11, 18),
        dt.date(y2, 1, 1),
        dt.date(y2, 1, 11),
        dt.date(y2, 1, 14),
        dt.date(y2, 5, 1),
    }
    breaks = [
        (dt.date(y1, 10, 26), dt.date(y1, 11, 2)),
        (dt.date(y1, 12, 7), dt.date(y1, 12, 14)),
        (dt.date(y2, 3, 15), dt.date(y2, 3, 22)),
        (dt.date(y2, 4, 26), dt.date(y2, 5, 3)),
    ]
    days = []
    day = first
    while day <= last:
        if day.weekday() != 6 and day not in holidays and not any(a <= day <= b for a, b in breaks):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


# --------------------------------------------------------------------------
# Grades


def _mark_step(rng: random.Random) -> float:
    u = rng.random()
    return 0.25 if u < 0.5 else 0.5 if u < 0.85 else 1.0


def _hundredths(mark: float, step: float, scale: int) -> int:
    mark = min(max(mark, 0.0), 20.0)
    mark = round(mark / step) * step
    return int(round(mark * 100 * scale / 20))


def semester_grades(
    db: sqlite_utils.Database,
    term: Term,
    sample: SampleSchool,
    semester: int,
    *,
    seed: int,
    tests: int | None = None,
    activities: bool | None = None,
    absent_rate: float = 0.015,
) -> int:
    """Every pupil's marks for every subject of their level: `tests` supervised tests
    (default 3; 2 in primary) plus the integrated activities (default: not in primary).
    Returns the number of grade rows written (~24,000 for the default 600-pupil collège)."""
    if semester not in (1, 2):
        raise ValueError("semester must be 1 or 2")
    rng = _rng(seed, "grades", term.school, term.year, semester)
    rows: list[tuple[object, ...]] = []
    for class_code, level in sample.classes.items():
        scale = sample.scale[level]
        primary = scale == 10
        n_tests = tests if tests is not None else (2 if primary else 3)
        with_activities = activities if activities is not None else not primary
        members = [p for p in sample.pupils if sample.class_of[p] == class_code]
        for subject in sample.subjects[level]:
            step = _mark_step(rng)  # this class's teacher of this subject
            test_mean = 11.0 + DIFFICULTY.get(subject, 0.0) + rng.gauss(0, 0.7)
            easy_activities = rng.uniform(1.5, 3.5)
            for pupil in members:
                level_mark = test_mean + 2.7 * sample.ability[pupil] + rng.gauss(0, 1.3)
                for a in range(1, n_tests + 1):
                    if rng.random() < absent_rate:
                        justified = int(rng.random() < 0.4)
                        rows.append((term.school, term.year, pupil, subject, semester, a, None, 1, justified, None))
                        continue
                    score = _hundredths(level_mark + rng.gauss(0, 1.8), step, scale)
                    rows.append((term.school, term.year, pupil, subject, semester, a, score, 0, 0, None))
                if with_activities:
                    mark = 0.6 * level_mark + 0.4 * 14.0 + easy_activities + rng.gauss(0, 0.9)
                    remark = rng.choice(REMARKS) if rng.random() < 0.02 else None
                    score = _hundredths(mark, step, scale)
                    rows.append((term.school, term.year, pupil, subject, semester, ACTIVITIES, score, 0, 0, remark))
    with write_transaction(db):
        upsert_rows(db, "grades", rows)
    return len(rows)


# --------------------------------------------------------------------------
# Absences


def _day_factor(day: dt.date, days: set[dt.date]) -> float:
    f = 1.0
    if day.weekday() == 4:
        f *= 1.25  # Friday
    elif day.weekday() == 5:
        f *= 1.4  # Saturday morning
    if (day + dt.timedelta(days=1)) not in days and (day + dt.timedelta(days=2)) not in days:
        f *= 1.3  # last day before a break
    return f


def _absence_hours(rng: random.Random, day: dt.date) -> int:
    morning_only = day.weekday() == 5
    u = rng.random()
    if u < 0.35:
        return 0x0F if morning_only else FULL_DAY
    if u < 0.55:
        return 0x0F
    if u < 0.7 and not morning_only:
        return 0xF0
    length = 1 if rng.random() < 0.5 else rng.choice((2, 2, 3))
    last_slot = 4 if morning_only else 8
    first = rng.randrange(0, last_slot - length + 1)
    return ((1 << length) - 1) << first


def _absence_row(rng: random.Random, term: Term, pupil: str, day: dt.date, old: tuple | None) -> tuple:
    hours = _absence_hours(rng, day)
    full = hours in (FULL_DAY, 0x0F) and rng.random() < 0.8
    justified = 0
    reason = justified_on = None
    if rng.random() < (0.55 if full else 0.25):
        justified = hours
        reason = _REASON(rng)
        # A justification is never dated after today, even for this year's data.
        justified_on = min(day + dt.timedelta(days=rng.choice((0, 1, 1, 2, 3, 5))), dt.date.today()).isoformat()
    if old is not None:  # a second roll-call the same day adds hours
        hours |= old[0]
        justified |= old[1]
        reason = reason or old[2]
        justified_on = justified_on or old[3]
    return (term.school, pupil, day.isoformat(), hours, justified & hours, reason, justified_on, rng.choice(RECORDERS))


def absences(
    db: sqlite_utils.Database,
    term: Term,
    sample: SampleSchool,
    *,
    days: int | Iterable[dt.date],
    rate: float = 0.06,
    seed: int,
    semester: int = 1,
) -> int:
    """Absences on about `rate` of pupil-days; `days` is a count of the semester's first
    school days (see `school_days`) or the days themselves. Returns rows written."""
    calendar = school_days(term.year, semester)
    chosen = calendar[:days] if isinstance(days, int) else sorted(set(days))
    rng = _rng(seed, "absences", term.school, term.year, semester, len(chosen), rate)
    # Propensity per pupil: gamma with mean 1 and a long tail (chronic absentees).
    propensity = {p: rng.gammavariate(0.8, 1 / 0.8) for p in sample.pupils}
    day_set = set(calendar)
    factors = [_day_factor(d, day_set) for d in chosen]
    norm = len(chosen) / sum(factors) if chosen else 1.0
    existing = _existing_absences(db, term, chosen)
    rows = []
    for day, f in zip(chosen, factors, strict=True):
        p_day = rate * f * norm
        for pupil in sample.pupils:
            if rng.random() < min(0.9, p_day * propensity[pupil]):
                rows.append(_absence_row(rng, term, pupil, day, existing.get((pupil, day.isoformat()))))
    with write_transaction(db):
        upsert_rows(db, "absences", rows)
    return len(rows)


def _existing_absences(db: sqlite_utils.Database, term: Term, days: Sequence[dt.date]) -> dict[tuple[str, str], tuple]:
    if not days:
        return {}
    rows = db.execute(
        "SELECT pupil, day, hours, justified, reason, justified_on FROM absences "
        "WHERE school = ? AND day BETWEEN ? AND ?",
        [term.school, min(days).isoformat(), max(days).isoformat()],
    ).fetchall()
    return {(r[0], r[1]): r[2:] for r in rows}


# --------------------------------------------------------------------------
# Incidents


def incidents(
    db: sqlite_utils.Database,
    term: Term,
    sample: SampleSchool,
    *,
    seed: int,
    semester: int = 1,
    count: int | None = None,
) -> int:
    """A few behaviour incidents over the semester (default: one per ~100 pupils)."""
    rng = _rng(seed, "incidents", term.school, term.year, semester)
    count = max(1, len(sample.pupils) // 100) if count is None else count
    calendar = school_days(term.year, semester)
    # Incidents cluster on a few pupils.
    troublemakers = rng.sample(sample.pupils, min(len(sample.pupils), max(1, count * 2 // 3)))
    used: dict[tuple[str, str], int] = {}
    for pupil, day, n in db.execute(
        "SELECT pupil, day, MAX(n) FROM incidents WHERE school = ? GROUP BY pupil, day", [term.school]
    ).fetchall():
        used[(pupil, day)] = n
    # Incidents happen on days already lived, even for the current year's data.
    past = [d for d in calendar if d <= dt.date.today()] or calendar[:1]
    rows = []
    for _ in range(count):
        pupil = rng.choice(troublemakers) if rng.random() < 0.6 else rng.choice(sample.pupils)
        day = rng.choice(past).isoformat()
        n = used.get((pupil, day), 0) + 1
        used[(pupil, day)] = n
        description, measure = rng.choice(INCIDENTS)
        rows.append((term.school, pupil, day, n, description, measure))
    with write_transaction(db):
        upsert_rows(db, "incidents", rows)
    return len(rows)


# --------------------------------------------------------------------------
# A day's changes


def day_delta(
    db: sqlite_utils.Database,
    term: Term,
    sample: SampleSchool,
    day: dt.date | str,
    *,
    seed: int,
    absent: int | None = None,
    grade_fixes: int = 3,
    justifications: int = 2,
) -> dict[str, int]:
    """One school day's writes: about `absent` absences (default: pupils / 15, ~40 for 600),
    `grade_fixes` corrections of existing marks, `justifications` of earlier unjustified
    absences. Returns the number of rows changed per kind."""
    day = dt.date.fromisoformat(day) if isinstance(day, str) else day
    rng = _rng(seed, "day", term.school, term.year, day.isoformat())
    target = round(len(sample.pupils) / 15) if absent is None else absent
    n_absent = max(0, min(len(sample.pupils), target + rng.randint(-3, 3) if absent is None else target))
    existing = _existing_absences(db, term, [day])
    absence_rows = [
        _absence_row(rng, term, pupil, day, existing.get((pupil, day.isoformat())))
        for pupil in sorted(rng.sample(sample.pupils, n_absent), key=sample.pupils.index)
    ]

    fix_rows = []
    n_grades = db.execute(
        "SELECT COUNT(*) FROM grades WHERE school = ? AND year = ?", [term.school, term.year]
    ).fetchone()[0]
    for offset in sorted({rng.randrange(n_grades) for _ in range(grade_fixes)} if n_grades else ()):
        row = list(
            db.execute(
                "SELECT school, year, pupil, subject, semester, assessment, score, absent, justified, remark "
                "FROM grades WHERE school = ? AND year = ? ORDER BY pupil, subject, semester, assessment "
                "LIMIT 1 OFFSET ?",
                [term.school, term.year, offset],
            ).fetchone()
        )
        scale = sample.scale[sample.level_of(row[2])]
        if row[7]:  # absent: the pupil sat a make-up test
            row[6], row[7], row[8] = _hundredths(11.0 + 3 * sample.ability[row[2]], 0.25, scale), 0, 0
        else:  # a typing or adding-up error
            delta = rng.choice((-1, 1)) * rng.choice((25, 50, 50, 100, 100, 200))
            new = min(max(row[6] + delta, 0), scale * 100)
            row[6] = new if new != row[6] else row[6] - delta
        fix_rows.append(tuple(row))

    justify_rows = []
    if justifications:
        candidates = db.execute(
            "SELECT school, pupil, day, hours, justified, reason, justified_on, recorded_by FROM absences "
            "WHERE school = ? AND day < ? AND justified < hours ORDER BY day DESC, pupil LIMIT 200",
            [term.school, day.isoformat()],
        ).fetchall()
        for r in rng.sample(candidates, min(justifications, len(candidates))):
            justify_rows.append((r[0], r[1], r[2], r[3], r[3], _REASON(rng), day.isoformat(), r[7]))
    with write_transaction(db):
        upsert_rows(db, "absences", absence_rows)
        upsert_rows(db, "grades", fix_rows)
        upsert_rows(db, "absences", justify_rows)
    return {"absences": len(absence_rows), "grade_fixes": len(fix_rows), "justifications": len(justify_rows)}
