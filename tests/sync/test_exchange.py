"""Two schools work offline, then sync: the central holds exactly their rows, reports agree,
national publications reach both, nothing crosses between schools, an idle sync is one request."""

from __future__ import annotations

import json
from pathlib import Path

from domain.results import pupil_report
from protocol.tables import BY_NAME
from server.publish import publish_file

from .conftest import both_backends
from .helpers import NATIONAL_TABLES, SCHOOL_TABLES, YEAR, fill_school, rows, sync

pytestmark = both_backends

PUBLICATION = {
    "exam_calendar": [
        {
            "code": "NAT-2BAC-2025",
            "exam": "national",
            "level": "2BACSVT",
            "year": YEAR,
            "starts_on": "2025-06-02",
            "ends_on": "2025-06-05",
            "name_ar": "الامتحان الوطني الموحد للبكالوريا",
            "name_fr": "Examen national du baccalauréat",
        },
        {
            "code": "REG-3APIC-2025",
            "exam": "regional",
            "level": "3APIC",
            "year": YEAR,
            "starts_on": "2025-06-16",
            "ends_on": "2025-06-18",
            "name_ar": "الامتحان الجهوي الموحد للسنة الثالثة إعدادي",
            "name_fr": "Examen régional de 3e année collégiale",
        },
    ],
    "guidance_notes": [
        {
            "code": "NOTE-2025-07",
            "level": "3APIC",
            "published_on": "2025-03-01",
            "title_ar": "التوجيه المدرسي",
            "title_fr": "Orientation scolaire",
            "body_ar": "مذكرة حول مسطرة التوجيه",
            "body_fr": "Note sur la procédure d'orientation",
        }
    ],
}


def test_two_schools_converge_with_the_central(central, make_node, tmp_path: Path) -> None:
    a, b = make_node("SA01"), make_node("SB02")
    sample_a = fill_school(a, seed=11)
    sample_b = fill_school(b, seed=22)
    assert not set(sample_a.pupils) & set(sample_b.pupils)
    before = {t: (rows(a.db, t), rows(b.db, t)) for t in SCHOOL_TABLES}
    assert before["grades"][0] and before["absences"][0] and before["grades"][1] and before["absences"][1]

    publication = tmp_path / "publication.json"
    publication.write_text(json.dumps(PUBLICATION, ensure_ascii=False), encoding="utf-8")
    assert publish_file(central.store, publication) == {"exam_calendar": 2, "guidance_notes": 1}

    ra, rb = sync(a), sync(b)
    assert ra.pending == 0 and rb.pending == 0
    assert ra.pushed == sum(len(before[t][0]) for t in SCHOOL_TABLES)
    assert rb.pushed == sum(len(before[t][1]) for t in SCHOOL_TABLES)

    with central.db() as db:
        for table in SCHOOL_TABLES:
            rows_a, rows_b = before[table]
            # Nothing lost, nothing invented, nothing of one school in the other's rows.
            assert rows(db, table, "SA01") == rows_a == rows(a.db, table), table
            assert rows(db, table, "SB02") == rows_b == rows(b.db, table), table
            assert rows(db, table) == rows_a | rows_b, table
            # Exactly once: one version per record on the central.
            versions = db.execute(
                "SELECT COUNT(*) FROM _versions WHERE tbl = ? AND school IN ('SA01', 'SB02') AND deleted = 0",
                [BY_NAME[table].wire_id],
            ).fetchone()[0]
            assert versions == len(rows_a) + len(rows_b), table

        # The same report from both replicas, for several pupils of each school.
        for store, sample in ((a, sample_a), (b, sample_b)):
            for pupil in sample.pupils[::13]:
                node_report = pupil_report(store.db, YEAR, pupil)
                assert node_report["semesters"]["1"]["subjects"], pupil
                assert pupil_report(db, YEAR, pupil) == node_report, pupil

        national = {t: rows(db, t) for t in NATIONAL_TABLES}

    # The publication reached both schools; nothing of the other school did.
    for store in (a, b):
        for table in ("exam_calendar", "guidance_notes"):
            assert rows(store.db, table) == national[table] != set(), table
    for table in SCHOOL_TABLES:
        assert rows(a.db, table) == before[table][0], table
        assert rows(b.db, table) == before[table][1], table
    assert not a.db.execute("SELECT 1 FROM pupils WHERE school = 'SB02'").fetchall()
    assert not b.db.execute("SELECT 1 FROM pupils WHERE school = 'SA01'").fetchall()

    # Nothing to do: one request, nothing pushed or pulled.
    for store in (a, b):
        idle = sync(store)
        assert (idle.requests, idle.pushed, idle.pulled, idle.failures) == (1, 0, 0, 0)


def test_a_day_of_changes_after_the_first_sync_travels_alone(central, make_node) -> None:
    """After the bulk sync, the next one carries only the day's net changes, edited twice or not."""
    import sample

    a = make_node("SA01")
    school = fill_school(a, seed=5)
    sync(a)
    changed = sample.day_delta(a.db, a.term, school, sample.school_days(YEAR, 1)[20], seed=5)
    pending = a.db.execute("SELECT COUNT(*) FROM _outbox").fetchone()[0]
    assert pending and sum(changed.values()) >= pending
    result = sync(a)
    assert (result.pushed, result.pending, result.requests) == (pending, 0, 1)
    with central.db() as db:
        for table in SCHOOL_TABLES:
            assert rows(db, table, "SA01") == rows(a.db, table), table
