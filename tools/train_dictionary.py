"""Train the zstd dictionary of the wire protocol and write protocol/dictionaries/N.zdict.

    python tools/train_dictionary.py --dict-id 2

The samples are msgpack bodies of realistic messages made by the seeded
generator below (one collège and a few primary schools: Massar codes,
Arabic and Latin names, grades, absences, national tables, empty polls).
A released dictionary id is immutable: retrain under a new id, register it
with the SHA-256 this tool prints in protocol/dictionary.py and SPEC.md
section 7, and announce it as the ``zstd-dictN`` capability.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import zstandard  # noqa: E402

from protocol import hlc  # noqa: E402
from protocol.capabilities import SUPPORTED  # noqa: E402
from protocol.framing import pack_body  # noqa: E402
from protocol.messages import ErrorResponse, Message, SyncRequest, SyncResponse  # noqa: E402
from protocol.records import Change, Value  # noqa: E402

Row = tuple[Value, ...]

YEAR = "2025/2026"
SEMESTER_START = date(2025, 9, 15)
SEMESTER_END = date(2026, 1, 31)

LAST_NAMES = [
    ("El Amrani", "العمراني"),
    ("Benali", "بنعلي"),
    ("Bennani", "بناني"),
    ("El Idrissi", "الإدريسي"),
    ("Alaoui", "العلوي"),
    ("Tazi", "التازي"),
    ("Berrada", "برادة"),
    ("El Fassi", "الفاسي"),
    ("Ouazzani", "الوزاني"),
    ("Chraibi", "الشرايبي"),
    ("Lahlou", "لحلو"),
    ("Benjelloun", "بنجلون"),
    ("Ait Lahcen", "آيت لحسن"),
    ("Ouchen", "أوشن"),
    ("Amazigh", "أمازيغ"),
    ("Boukhari", "البخاري"),
    ("Naciri", "الناصري"),
    ("Zerouali", "الزروالي"),
    ("Haddaoui", "الحداوي"),
    ("Mansouri", "المنصوري"),
    ("Kettani", "الكتاني"),
    ("Sqalli", "الصقلي"),
    ("Bouzidi", "البوزيدي"),
    ("Ait Baha", "آيت باها"),
]
FIRST_NAMES_M = [
    ("Mohamed", "محمد"),
    ("Youssef", "يوسف"),
    ("Amine", "أمين"),
    ("Hamza", "حمزة"),
    ("Omar", "عمر"),
    ("Ayoub", "أيوب"),
    ("Mehdi", "المهدي"),
    ("Anas", "أنس"),
    ("Ilyas", "إلياس"),
    ("Karim", "كريم"),
    ("Othmane", "عثمان"),
    ("Zakaria", "زكرياء"),
]
FIRST_NAMES_F = [
    ("Fatima Zahra", "فاطمة الزهراء"),
    ("Khadija", "خديجة"),
    ("Salma", "سلمى"),
    ("Imane", "إيمان"),
    ("Hiba", "هبة"),
    ("Meryem", "مريم"),
    ("Aya", "آية"),
    ("Nour", "نور"),
    ("Chaimae", "شيماء"),
    ("Oumaima", "أميمة"),
    ("Hajar", "هاجر"),
    ("Kawtar", "كوثر"),
]
PLACES = [
    "Casablanca",
    "Rabat",
    "Fès",
    "Marrakech",
    "Agadir",
    "Tanger",
    "Meknès",
    "Oujda",
    "Taroudant",
    "Tiznit",
    "Azilal",
]
# (code, Arabic, French, Massar numeric code, number of supervised tests)
SUBJECTS = [
    ("ARA", "اللغة العربية", "Langue arabe", "0010", 3),
    ("FRA", "اللغة الفرنسية", "Langue française", "0020", 3),
    ("ANG", "اللغة الإنجليزية", "Langue anglaise", "0030", 2),
    ("MATH", "الرياضيات", "Mathématiques", "0040", 3),
    ("PC", "الفيزياء والكيمياء", "Physique-chimie", "0050", 2),
    ("SVT", "علوم الحياة والأرض", "Sciences de la vie et de la terre", "0060", 2),
    ("HG", "الاجتماعيات", "Histoire-géographie", "0070", 2),
    ("EI", "التربية الإسلامية", "Éducation islamique", "0080", 2),
    ("INFO", "المعلوميات", "Informatique", "0090", 2),
    ("EPS", "التربية البدنية", "Éducation physique", "0100", 2),
]
REMARKS = [None] * 40 + [
    "Bien",
    "Passable",
    "Très bien",
    "Doit faire des efforts",
    "حسن",
    "مستحسن",
    "Absent au contrôle",
]
REASONS = ["maladie", "مرض", "raison familiale", "ظروف عائلية", "certificat médical", "retard transport"]


def massar_code(rng: random.Random) -> str:
    return rng.choice("ABCDEFGHJKMNPRSTU") + f"{rng.randrange(10**8, 10**9):09d}"


@dataclass
class Pupil:
    code: str
    row: Row
    klass: str


@dataclass
class School:
    code: str
    pupils: list[Pupil]
    classes: list[str]
    by_class: dict[str, list[Pupil]] = field(default_factory=dict)


class Outbox:
    """A node's change log: consecutive seq, a hybrid clock driven by a fake wall clock."""

    def __init__(self, origin: str, seq: int = 0, last_hlc: int = 0) -> None:
        self.origin = origin
        self.seq = seq
        self.last = last_hlc
        self.changes: list[Change] = []

    def add(self, table: str, key: Row, row: Row | None, now_ms: int, base: int = 0) -> None:
        self.seq += 1
        self.last = hlc.tick(self.last, now_ms)
        self.changes.append(Change(table, key, row, self.origin, self.seq, self.last, base))


def make_school(rng: random.Random, code: str, n_pupils: int = 600) -> School:
    levels = ["1APIC", "2APIC", "3APIC"]
    n_classes = max(1, round(n_pupils / 35))
    classes = [f"{levels[i % 3]}-{i // 3 + 1}" for i in range(n_classes)]
    pupils = []
    for i in range(n_pupils):
        gender = rng.choice("MF")
        last, last_ar = rng.choice(LAST_NAMES)
        first, first_ar = rng.choice(FIRST_NAMES_M if gender == "M" else FIRST_NAMES_F)
        pcode = massar_code(rng)
        birth = date(2010 + rng.randrange(4), rng.randrange(1, 13), rng.randrange(1, 29)).isoformat()
        row = (pcode, code, last, first, last_ar, first_ar, gender, birth, rng.choice(PLACES), 0)
        pupils.append(Pupil(pcode, row, classes[i % n_classes]))
    school = School(code, pupils, classes)
    for p in pupils:
        school.by_class.setdefault(p.klass, []).append(p)
    return school


def _ms(day: date, hour: float) -> int:
    return int((day - date(1970, 1, 1)).days * 86_400_000 + hour * 3_600_000)


def _score(rng: random.Random) -> int:
    mark = min(20.0, max(0.0, rng.gauss(11.5, 3.5)))
    if rng.random() < 0.9:
        return round(mark * 4) * 25
    return round(mark * 100)


def grade_rows(
    rng: random.Random, school: School, klass: str, subject: str, semester: int, assessment: int
) -> list[Row]:
    rows: list[Row] = []
    for p in school.by_class[klass]:
        row: Row
        if rng.random() < 0.02:
            row = (school.code, YEAR, p.code, subject, semester, assessment, None, 1, int(rng.random() < 0.5), None)
        else:
            row = (school.code, YEAR, p.code, subject, semester, assessment, _score(rng), 0, 0, rng.choice(REMARKS))
        rows.append(row)
    return rows


def absence_row(rng: random.Random, school: School, pupil: Pupil, day: date) -> Row:
    hours = rng.choice([1, 2, 4, 8, 16, 32, 64, 128, 3, 12, 15, 240, 255, 255])
    justified = hours if rng.random() < 0.3 else 0
    reason = rng.choice(REASONS) if justified else None
    justified_on = (day + timedelta(days=rng.randrange(0, 4))).isoformat() if justified else None
    return (
        school.code,
        pupil.code,
        day.isoformat(),
        hours,
        justified,
        reason,
        justified_on,
        rng.choice(["surveillant1", "surveillant2", "prof.math", "prof.fra"]),
    )


def school_days(start: date, end: date) -> list[date]:
    return [
        start + timedelta(days=i) for i in range((end - start).days + 1) if (start + timedelta(days=i)).weekday() != 6
    ]


def semester_upload(seed: int = 1, n_pupils: int = 600, n_absences: int = 3000, semester: int = 1) -> list[Change]:
    """A semester's outbox of one collège: ~20k grades and ~3k absences, in time order.

    Grade sheets (one class, subject and assessment) are imported whole,
    so their rows carry nearly consecutive clocks; absences are recorded
    day by day in between.
    """
    rng = random.Random(seed)
    school = make_school(rng, "04512K", n_pupils)
    out = Outbox(school.code)
    days = school_days(SEMESTER_START, SEMESTER_END)
    events: list[tuple[int, str, tuple[str, str, int] | date]] = []
    for klass in school.classes:
        for subject, *_, tests in SUBJECTS:
            for assessment in [*range(1, tests + 1), 5]:
                day = days[
                    min(
                        len(days) - 1,
                        int(len(days) * (assessment if assessment < 5 else 4.5) / 5.5) + rng.randrange(-5, 5),
                    )
                ]
                events.append((_ms(day, rng.uniform(8, 20)), "grades", (klass, subject, assessment)))
    per_day = max(1, n_absences // len(days))
    left = n_absences
    for day in days:
        count = min(left, per_day if day != days[-1] else left)
        left -= count
        for k in range(count):
            events.append((_ms(day, 9 + k * 0.01), "absences", day))
    events.sort(key=lambda e: e[0])
    seen: set[tuple[str, str]] = set()
    for t, _, what in events:
        if isinstance(what, tuple):
            klass, subject, assessment = what
            for i, row in enumerate(grade_rows(rng, school, klass, subject, semester, assessment)):
                out.add("grades", (row[1], row[2], row[3], row[4], row[5]), row, t + i // 8)
        else:
            pupil = rng.choice(school.pupils)
            while (pupil.code, what.isoformat()) in seen:
                pupil = rng.choice(school.pupils)
            seen.add((pupil.code, what.isoformat()))
            row = absence_row(rng, school, pupil, what)
            out.add("absences", (row[1], row[2]), row, t)
    return out.changes


def day_delta(seed: int = 2, n_absences: int = 40, day: date = date(2025, 11, 12), n_pupils: int = 600) -> list[Change]:
    """One school day's outbox of absences, seq already far along.

    Absences are taken class by class at the start of a lesson: a burst
    of a few rows seconds apart, then nothing until the next lesson.
    """
    rng = random.Random(seed)
    school = make_school(rng, "04512K", n_pupils)
    out = Outbox(school.code, seq=18_000 + rng.randrange(1000), last_hlc=hlc.pack(_ms(day, 0), 0))
    left = n_absences
    while left:
        slot = rng.randrange(8)
        klass = rng.choice(school.classes)
        burst = rng.sample(school.by_class[klass], min(left, rng.randrange(1, 7)))
        now = _ms(day, 8 + slot + (slot >= 4) * 1.5) + rng.randrange(600_000)
        for p in burst:
            now += rng.randrange(4_000, 40_000)
            row = absence_row(rng, school, p, day)
            hours = 1 << slot if rng.random() < 0.8 else row[3]
            row = (*row[:3], hours, hours if row[4] else 0, *row[5:])
            out.add("absences", (row[1], row[2]), row, now)
        left -= len(burst)
    return out.changes


def day_delta_spread(
    seed: int = 2, n_absences: int = 40, day: date = date(2025, 11, 12), n_pupils: int = 600
) -> list[Change]:
    """The pessimistic variant: absences one by one, minutes apart, over the day."""
    rng = random.Random(seed)
    school = make_school(rng, "04512K", n_pupils)
    out = Outbox(school.code, seq=18_000 + rng.randrange(1000), last_hlc=hlc.pack(_ms(day, 0), 0))
    pupils = rng.sample(school.pupils, n_absences)
    pupils.sort(key=lambda p: school.classes.index(p.klass))
    for i, p in enumerate(pupils):
        row = absence_row(rng, school, p, day)
        out.add("absences", (row[1], row[2]), row, _ms(day, 8 + 8 * i / n_absences) + rng.randrange(60_000))
    return out.changes


def national_changes(rng: random.Random, seq0: int, now_ms: int) -> list[Change]:
    out = Outbox("central", seq=seq0)
    for code, ar, fr, massar, _ in SUBJECTS:
        out.add("subjects", (code,), (code, ar, fr, massar), now_ms)
    for level in ["1APIC", "2APIC", "3APIC"]:
        for code, *_ in SUBJECTS:
            key = ("2025/2026", level, code)
            out.add("evaluation_rules", key, (*key, 3, "1/4", "weighted", rng.choice([1, 2, 3, 4]), None), now_ms)
    out.add(
        "exam_calendar",
        ("EXR-3APIC-2026",),
        (
            "EXR-3APIC-2026",
            "regional",
            "3APIC",
            YEAR,
            "2026-06-09",
            "2026-06-11",
            "الامتحان الجهوي الموحد",
            "Examen régional unifié",
        ),
        now_ms,
    )
    out.add(
        "guidance_notes",
        ("NOTE-2025-17",),
        (
            "NOTE-2025-17",
            None,
            "2025-10-02",
            "مذكرة حول تنظيم المراقبة المستمرة",
            "Note relative à l'organisation du contrôle continu",
            "تقرر تنظيم فروض المراقبة المستمرة وفق الجدولة الزمنية المعتمدة",
            "Les devoirs surveillés sont organisés selon le calendrier arrêté par l'établissement.",
        ),
        now_ms,
    )
    return out.changes


def pull_page(rng: random.Random, changes: list[Change], sseq0: int) -> list[Change]:
    return [Change(c.table, c.key, c.row, c.origin, c.seq, c.hlc, 0, sseq0 + i + 1) for i, c in enumerate(changes)]


def sample_messages(seed: int = 7, count: int = 1500) -> list[Message]:
    """A mix of realistic requests and responses of every size, for training."""
    rng = random.Random(seed)
    schools = [
        make_school(rng, f"{rng.randrange(1000, 9999):05d}{rng.choice('ABCDEFGHJKLMNPRS')}", rng.choice([90, 240, 600]))
        for _ in range(3)
    ]
    caps = frozenset(SUPPORTED)
    msgs: list[Message] = []
    for _ in range(count):
        school = rng.choice(schools)
        day = rng.choice(school_days(SEMESTER_START, SEMESTER_END))
        now = _ms(day, rng.uniform(7, 22))
        seq0 = rng.randrange(1, 50_000)
        last = hlc.pack(now - rng.randrange(10**7), rng.randrange(3))
        kind = rng.random()
        out = Outbox(school.code, seq=seq0, last_hlc=last)
        if kind < 0.25:
            pass  # a poll with nothing to push
        elif kind < 0.55:
            for k, p in enumerate(rng.sample(school.pupils, rng.randrange(1, 60))):
                row = absence_row(rng, school, p, day)
                out.add(
                    "absences",
                    (row[1], row[2]),
                    row,
                    now + k * rng.randrange(1, 90_000),
                    base=rng.choice([0, 0, rng.randrange(10**6)]),
                )
        elif kind < 0.8:
            klass = rng.choice(school.classes)
            subject = rng.choice(SUBJECTS)[0]
            for k, row in enumerate(grade_rows(rng, school, klass, subject, 1, rng.randrange(1, 6))):
                out.add("grades", (row[1], row[2], row[3], row[4], row[5]), row, now + k)
        elif kind < 0.9:
            for p in rng.sample(school.pupils, rng.randrange(1, 5)):
                out.add("pupils", (p.code,), p.row, now)
                out.add("enrolments", (school.code, YEAR, p.code), (school.code, YEAR, p.code, p.klass), now)
                out.add(
                    "guardians",
                    (p.code, 1),
                    (school.code, p.code, 1, f"{p.row[3]} {p.row[2]}", "father", f"06{rng.randrange(10**8):08d}"),
                    now,
                )
        else:
            p = rng.choice(school.pupils)
            out.add("absences", (p.code, day.isoformat()), None, now)
        if rng.random() < 0.6:
            msgs.append(SyncRequest(school.code, caps, rng.randrange(10**6), out.changes, out.last, rng.random() < 0.9))
            continue
        sseq0 = rng.randrange(10**6)
        if kind < 0.1:
            pull = pull_page(rng, national_changes(rng, rng.randrange(1, 500), now), sseq0)
        elif kind < 0.4:
            pull = []
        else:
            pull = pull_page(rng, out.changes, sseq0)
            if rng.random() < 0.3:
                pull = [Change(c.table, c.key, c.row, "central", c.seq, c.hlc, 0, c.sseq) for c in pull]
        if rng.random() < 0.05:
            msgs.append(
                ErrorResponse(
                    rng.choice(["checksum_mismatch", "too_many_records", "malformed_message"]), "frame refused", None
                )
            )
            continue
        server_hlc = hlc.pack(now, 0)
        msgs.append(
            SyncResponse(
                caps,
                seq0,
                server_hlc,
                pull,
                sseq0 + len(pull),
                rng.random() < 0.1,
                server_hlc + hlc.MAX_SKEW,
                rng.choice([0, 0, 0, 1]),
            )
        )
    return msgs


def train(seed: int, size: int, dict_id: int) -> bytes:
    samples: list[bytes | bytearray | memoryview] = [pack_body(m.to_wire()) for m in sample_messages(seed)]
    # Whole bulk uploads too, cut in pieces as zstd's trainer prefers.
    for body in (pack_body(SyncRequest("04512K", frozenset(SUPPORTED), 0, semester_upload(seed + 1), 0).to_wire()),):
        samples.extend(body[i : i + 4096] for i in range(0, len(body), 4096))
    # COVER parameter search, single-threaded so the result is reproducible.
    d = zstandard.train_dictionary(size, samples, dict_id=0x4D5A0000 + dict_id, level=19, steps=8, threads=1)
    return d.as_bytes()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dict-id", type=int, default=1)
    parser.add_argument("--size", type=int, default=16 * 1024)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--force", action="store_true", help="overwrite an existing file (only for unreleased ids)")
    args = parser.parse_args(argv)
    target = ROOT / "protocol" / "dictionaries" / f"{args.dict_id}.zdict"
    if target.exists() and not args.force:
        print(f"{target} exists: dictionary ids are immutable once released; pick a new --dict-id", file=sys.stderr)
        return 1
    data = train(args.seed, args.size, args.dict_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    print(f"wrote {target} ({len(data)} bytes, seed {args.seed})")
    print(f'SHA-256 {hashlib.sha256(data).hexdigest()}: add `{args.dict_id}: "<it>"` to DICTIONARIES in')
    print("protocol/dictionary.py and a row to the table of SPEC.md section 7")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
