"""The PostgreSQL store's own edges: values SQLite keeps but PostgreSQL cannot, refused whole."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from protocol.records import Change
from server.errors import InvalidRow
from server.pg.store import PgCentral
from server.schools import add_school

KEY = ("2024/2025", "P1", "ARA", 1, 1)
ROW = ("SA01", "2024/2025", "P1", "ARA", 1, 1, 1200, 0, 0, None)


@pytest.fixture
def store(postgres_dsn: str) -> Iterator[PgCentral]:
    s = PgCentral(postgres_dsn, create=True)
    add_school(s, "SA01", "A")
    try:
        yield s
    finally:
        s.close()


def _counts(store: PgCentral) -> tuple:
    with store.reader() as db:
        return tuple(
            db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("grades", "_versions", "_conflicts")
        ) + (db.execute("SELECT acked_seq FROM _schools").fetchone()[0],)


@pytest.mark.parametrize(
    "change",
    [
        Change("grades", KEY, (*ROW[:9], "a NUL\x00 in a remark"), "SA01", 2, 1 << 40),
        Change("grades", ("2024/2025", "P1\x00", "ARA", 1, 1), (*ROW[:2], "P1\x00", *ROW[3:]), "SA01", 2, 1 << 40),
        Change("grades", KEY, (*ROW[:6], 2**40, *ROW[7:]), "SA01", 2, 1 << 40),
    ],
    ids=["nul-in-value", "nul-in-key", "integer-out-of-range"],
)
def test_a_value_postgresql_cannot_hold_refuses_the_push_whole(store: PgCentral, change: Change) -> None:
    good = Change("grades", ("2024/2025", "P2", "ARA", 1, 1), (*ROW[:2], "P2", *ROW[3:]), "SA01", 1, 1 << 40)
    before = _counts(store)
    with pytest.raises(InvalidRow) as refused:
        store.push("SA01", [good, change])
    assert refused.value.status == 422
    assert _counts(store) == before
    # The store keeps working: the good change alone goes through.
    result, _ = store.push("SA01", [good])
    assert (result.applied, result.acked_seq) == (1, 1)
