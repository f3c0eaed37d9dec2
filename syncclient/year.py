"""The node's side of the year flow: opening the next year switches the node's current year
and locks the closed one (its digest kept in `_closed_years`)."""

from __future__ import annotations

from typing import Any

from domain import year_end
from domain.database import write_transaction

from .store import NodeStore


def open_next_year(store: NodeStore, year: str) -> dict[str, Any]:
    term = store.term
    with write_transaction(store.db):
        info = year_end.open_year(store.db, term, year)
        digest = year_end.year_digest(store.db, term.school, term.year)
        start, end = term.year.split("/")
        store.db.conn.execute(
            "INSERT INTO _closed_years (year, first_day, last_day, digest) VALUES (?, ?, ?, ?)",
            [term.year, f"{start}-09-01", f"{end}-08-31", digest],
        )
        store.set_setting("year", info["opened"])
    return {**info, "closed": term.year, "digest": digest}


def closed_years(store: NodeStore) -> list[dict[str, Any]]:
    rows = store.db.execute("SELECT year, digest, closed_at FROM _closed_years ORDER BY year").fetchall()
    return [
        {
            "year": y,
            "digest": d,
            "closed_at": at,
            "intact": year_end.year_digest(store.db, store.school, y) == d,
        }
        for y, d, at in rows
    ]
