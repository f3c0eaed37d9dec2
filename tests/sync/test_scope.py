"""A node writes only its own school's rows: one row outside its scope refuses the whole request."""

from __future__ import annotations

import pytest

from protocol import capabilities
from protocol.messages import SyncRequest, encode_message
from protocol.records import Change
from protocol.tables import BY_NAME

from .conftest import both_backends
from .helpers import (
    SCHOOL_TABLES,
    fill_school,
    next_counter,
    node_key,
    post_signed,
    rows,
    sync,
)

pytestmark = both_backends


def _row(db, table: str, where: str, params: list) -> tuple:
    spec = BY_NAME[table]
    return tuple(
        db.execute(f"SELECT {', '.join(spec.column_names)} FROM {table} WHERE {where} LIMIT 1", params).fetchone()
    )


def _change(node, table: str, row: tuple | None, key: tuple | None = None, k: int = 0) -> Change:
    spec = BY_NAME[table]
    seq = node.db.execute("SELECT seq FROM _clock").fetchone()[0] + 1 + k
    hlc = node.db.execute("SELECT hlc FROM _clock").fetchone()[0] + 1 + k
    key = key if key is not None else tuple(row[i] for i in spec.key_indexes)
    return Change(table, key, row, node.school, seq, hlc)


@pytest.fixture
def two_schools(central, make_node):
    a, b = make_node("SA01"), make_node("SB02")
    fill_school(a, seed=1, pupils=20, absence_days=3)
    fill_school(b, seed=2, pupils=20, absence_days=3)
    sync(a)
    sync(b)
    return a, b


def _cases(a, b) -> dict[str, list[Change]]:
    b_grade = _row(b.db, "grades", "score IS NOT NULL", [])
    a_grade = _row(a.db, "grades", "score IS NOT NULL", [])
    b_pupil = _row(b.db, "pupils", "1", [])
    a_new_absence = (a_grade[0], a_grade[2], "2024-10-07", 2, 0, None, None, "surveillant1")
    subject = _row(a.db, "subjects", "1", [])
    return {
        # An edit of SB02's grade (its row says SB02).
        "foreign_row": [_change(a, "grades", (*b_grade[:6], (b_grade[6] + 25) % 2000, *b_grade[7:]))],
        # One legitimate own change plus one foreign row: neither may be applied.
        "mixed": [
            _change(a, "absences", a_new_absence),
            _change(a, "grades", (*b_grade[:6], 0, *b_grade[7:]), k=1),
        ],
        # SB02's pupil claimed for SA01: the row says SA01, the record belongs to SB02.
        "stolen_record": [_change(a, "pupils", (b_pupil[0], "SA01", *b_pupil[2:]))],
        # A tombstone for SB02's grade.
        "foreign_delete": [_change(a, "grades", None, key=tuple(b_grade[i] for i in BY_NAME["grades"].key_indexes))],
        # A national table is published by the centre only.
        "national_table": [_change(a, "subjects", (subject[0], "مادة مزورة", "Matière falsifiée", subject[3]))],
        "new_national_row": [_change(a, "exam_calendar", ("FAKE-1", "local", "3APIC", "2024/2025", "2025-01-06", "2025-01-07", "امتحان", "Examen"))],
    }  # fmt: skip


@pytest.mark.parametrize(
    "case", ["foreign_row", "mixed", "stolen_record", "foreign_delete", "national_table", "new_national_row"]
)
def test_a_push_outside_the_school_scope_is_refused_whole(central, two_schools, case: str) -> None:
    a, b = two_schools
    changes = _cases(a, b)[case]
    body = encode_message(SyncRequest("SA01", capabilities.SUPPORTED, 0, changes, changes[0].hlc))
    before = central.digest()
    schools_before = [central.school_row(s) for s in ("SA01", "SB02")]

    reply = post_signed(central.url, body, school="SA01", key=node_key(a), counter=next_counter(a))

    assert reply.status_code == 403, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.json()["error"] == "scope_violation"
    assert reply.json()["message"]
    assert central.digest() == before, "a refused push changed the central database"
    assert [central.school_row(s) for s in ("SA01", "SB02")] == schools_before

    # The server keeps serving both schools, and each still sees only its own rows.
    for store in (a, b):
        assert sync(store).requests == 1
    with central.db() as db:
        for table in SCHOOL_TABLES:
            assert rows(db, table, "SA01") == rows(a.db, table), table
            assert rows(db, table, "SB02") == rows(b.db, table), table
