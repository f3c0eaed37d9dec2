"""sample/: deterministic, realistic, and in the expected ranges."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

import sample
from domain.codes import MASSAR_CODE, level_of_class
from domain.database import migrate, open_database
from domain.migrations import DOMAIN_ONLY as DOMAIN_MIGRATIONS
from domain.pupils import Term
from syncclient.store import NodeStore

TERM = Term("C01234", "2025/2026")
ARABIC = re.compile(r"[\u0600-\u06ff]")


def _db(path: Path):
    db = open_database(path)
    migrate(db, DOMAIN_MIGRATIONS)
    return db


def _dump(db) -> dict[str, list[tuple]]:
    out = {}
    for table in ("classes", "pupils", "enrolments", "guardians", "grades", "absences", "incidents"):
        out[table] = db.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3, 4").fetchall()
    return out


def _fill(db, seed: int) -> sample.SampleSchool:
    s = sample.make_school(db, TERM, seed=seed, pupils=120, classes=6)
    sample.semester_grades(db, TERM, s, 1, seed=seed)
    sample.absences(db, TERM, s, days=20, seed=seed)
    sample.incidents(db, TERM, s, seed=seed, count=3)
    sample.day_delta(db, TERM, s, dt.date(2025, 12, 1), seed=seed)
    return s


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    """One default-sized collège with a semester of data, shared by the range checks."""
    db = _db(tmp_path_factory.mktemp("school") / "s.sqlite")
    s = sample.make_school(db, TERM, seed=7)
    n_grades = sample.semester_grades(db, TERM, s, 1, seed=7)
    n_absences = sample.absences(db, TERM, s, days=83, seed=7)
    yield db, s, n_grades, n_absences
    db.conn.close()


def test_same_seed_same_rows_other_seed_other_rows(tmp_path):
    a, b, c = (_db(tmp_path / f"{n}.sqlite") for n in "abc")
    try:
        _fill(a, 3)
        _fill(b, 3)
        _fill(c, 4)
        assert _dump(a) == _dump(b)
        assert _dump(a)["pupils"] != _dump(c)["pupils"]
        assert _dump(a)["grades"] != _dump(c)["grades"]
    finally:
        for db in (a, b, c):
            db.conn.close()


def test_default_college_shape(school):
    db, s, _, _ = school
    assert s.counts["pupils"] == 600 and len(s.pupils) == 600
    assert sorted(s.classes) == sorted(f"{n}APIC-{k}" for n in (1, 2, 3) for k in range(1, 7))
    sizes = dict(db.execute("SELECT class, COUNT(*) FROM enrolments GROUP BY class").fetchall())
    assert sum(sizes.values()) == 600
    assert all(25 <= n <= 45 for n in sizes.values()), sizes
    assert db.execute("SELECT COUNT(*) FROM pupils WHERE school = ?", [TERM.school]).fetchone()[0] == 600


def test_codes_names_birth_dates_and_guardians(school):
    db, s, _, _ = school
    rows = db.execute(
        "SELECT p.code, p.last_name, p.first_name, p.last_name_ar, p.first_name_ar, p.gender, p.birth_date, "
        "p.birth_place, c.level FROM pupils p JOIN enrolments e ON e.pupil = p.code "
        "JOIN classes c ON c.code = e.class AND c.year = e.year"
    ).fetchall()
    codes = [r[0] for r in rows]
    assert len(set(codes)) == len(codes) == 600
    assert all(MASSAR_CODE.match(c) for c in codes)
    boys = {lat: ar for lat, ar, _ in sample.BOYS}
    girls = {lat: ar for lat, ar, _ in sample.GIRLS}
    genders = {"M": 0, "F": 0}
    for _code, last, first, last_ar, first_ar, gender, birth, place, level in rows:
        genders[gender] += 1
        assert (boys if gender == "M" else girls)[first] == first_ar
        assert ARABIC.search(last_ar) and ARABIC.search(first_ar) and not ARABIC.search(last + first)
        born = dt.date.fromisoformat(birth)
        # 1APIC pupils are 12 in the year they start (born 2013 for 2025/2026); some are 1-2 years late.
        expected = 2025 - {"1APIC": 12, "2APIC": 13, "3APIC": 14}[level]
        assert expected - 2 <= born.year <= expected
        assert ARABIC.search(place)
    assert 0.35 < genders["F"] / 600 < 0.6
    guardians = db.execute("SELECT pupil, n, name, relation, phone FROM guardians").fetchall()
    assert {g[0] for g in guardians} == set(codes)
    phones = [g[4] for g in guardians if g[4]]
    assert len(phones) > 0.8 * len(guardians)
    assert all(re.fullmatch(r"0[67][0-9]{8}", p) for p in phones)
    assert {g[3] for g in guardians} <= {"father", "mother", "guardian"}


def test_grades_in_range_and_scale(school):
    db, s, n_grades, _ = school
    # 600 pupils x 10 subjects x (3 tests + activities)
    assert n_grades == 24_000
    assert db.execute("SELECT COUNT(*) FROM grades").fetchone()[0] == n_grades
    scores = [r[0] for r in db.execute("SELECT score FROM grades WHERE absent = 0").fetchall()]
    assert all(0 <= x <= 2000 and x % 25 == 0 for x in scores)
    mean = sum(scores) / len(scores) / 100
    assert 9.5 < mean < 14.5
    absent, justified = db.execute("SELECT SUM(absent), SUM(justified) FROM grades WHERE assessment < 5").fetchone()
    tests = db.execute("SELECT COUNT(*) FROM grades WHERE assessment < 5").fetchone()[0]
    assert 0.005 < absent / tests < 0.03
    assert 0 < justified < absent
    assert db.execute("SELECT COUNT(*) FROM grades WHERE assessment = 5 AND absent = 1").fetchone()[0] == 0
    # Marks spread: some failing and some very good marks, not one flat value.
    assert sum(x < 1000 for x in scores) > 0.15 * len(scores)
    assert sum(x >= 1600 for x in scores) > 0.03 * len(scores)


def test_absences_rate_and_mix(school):
    db, s, _, n_absences = school
    pupil_days = 600 * 83
    assert 0.045 < n_absences / pupil_days < 0.075
    rows = db.execute("SELECT hours, justified, reason, justified_on, day FROM absences").fetchall()
    full = sum(1 for h, *_ in rows if h == sample.FULL_DAY)
    partial = sum(1 for h, *_ in rows if h != sample.FULL_DAY)
    assert full > 0.15 * len(rows) and partial > 0.4 * len(rows)
    justified = [r for r in rows if r[1]]
    assert 0.2 * len(rows) < len(justified) < 0.7 * len(rows)
    for hours, just, reason, justified_on, day in rows:
        assert 1 <= hours <= 255 and just & ~hours == 0
        assert (just == 0) == (reason is None) == (justified_on is None)
        if justified_on:
            assert justified_on >= day
    days = {r[4] for r in rows}
    assert days <= {d.isoformat() for d in sample.school_days(TERM.year, 1)}
    assert all(dt.date.fromisoformat(d).weekday() != 6 for d in days)


def test_day_delta_and_incidents_on_a_node(tmp_path):
    """Through a node store: every generated row is captured by change capture."""
    store = NodeStore.init(tmp_path / "node", TERM.school, year=TERM.year)
    try:
        db, term = store.db, store.term
        s = sample.make_school(db, term, seed=1, pupils=300, classes=9)
        sample.semester_grades(db, term, s, 1, seed=1)
        sample.absences(db, term, s, days=10, seed=1)
        db.conn.execute("DELETE FROM _outbox")
        day = sample.school_days(term.year, 1)[40]
        counts = sample.day_delta(db, term, s, day, seed=1)
        assert 15 <= counts["absences"] <= 25  # 300 pupils / 15, give or take 3
        assert counts["grade_fixes"] == 3 and counts["justifications"] == 2
        outbox = db.execute("SELECT COUNT(*) FROM _outbox").fetchone()[0]
        assert outbox == sum(counts.values())
        assert (
            db.execute("SELECT COUNT(*) FROM absences WHERE day = ?", [day.isoformat()]).fetchone()[0]
            == (counts["absences"])
        )
        n = sample.incidents(db, term, s, seed=1)
        assert n == 3
        rows = db.execute("SELECT description FROM incidents").fetchall()
        assert len(rows) == 3 and all(ARABIC.search(r[0]) for r in rows)
        # The same day again with the same seed changes nothing more.
        db.conn.execute("DELETE FROM _outbox")
        again = sample.day_delta(db, term, s, day, seed=1, grade_fixes=0, justifications=0)
        assert again["absences"] == counts["absences"]
        assert db.execute("SELECT COUNT(*) FROM _outbox").fetchone()[0] == 0
    finally:
        store.close()


@pytest.mark.parametrize(
    ("mix", "levels", "scale"),
    [("primary", {f"{n}AP" for n in range(1, 7)}, 10), ("lycee", None, 20)],
)
def test_primary_and_lycee_schools(tmp_path, mix, levels, scale):
    db = _db(tmp_path / "s.sqlite")
    try:
        s = sample.make_school(db, TERM, seed=2, pupils=200, classes=len(sample.LEVEL_MIXES[mix]), level_mix=mix)
        assert set(s.classes.values()) == set(sample.LEVEL_MIXES[mix])
        if levels:
            assert set(s.classes.values()) == levels
        assert all(level_of_class(c) == lv for c, lv in s.classes.items())
        n = sample.semester_grades(db, TERM, s, 2, seed=2)
        expected = sum(len(s.subjects[s.level_of(p)]) * (2 if scale == 10 else 4) for p in s.pupils)
        assert n == expected
        top = db.execute("SELECT MAX(score) FROM grades").fetchone()[0]
        assert top <= scale * 100
    finally:
        db.conn.close()


def test_school_days_calendar():
    s1 = sample.school_days("2025/2026", 1)
    s2 = sample.school_days("2025/2026", 2)
    assert 90 <= len(s1) <= 115 and 90 <= len(s2) <= 115
    assert s1[0] == dt.date(2025, 9, 8) and s1[-1] < s2[0]
    assert dt.date(2025, 11, 6) not in s1 and dt.date(2025, 11, 18) not in s1
