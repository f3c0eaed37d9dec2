"""Opening the PostgreSQL centre: reach it, bring its schema up to date, hand out connections."""

from __future__ import annotations

from domain.clock import SYSTEM_CLOCK, Clock, utc_now
from domain.codes import school_year_of
from domain.errors import NotInitialised

from . import partitions
from .database import PgDatabase, redact
from .schema import is_initialised, migrate


def open_pg(dsn: str, *, create: bool = False, clock: Clock = SYSTEM_CLOCK) -> PgDatabase:
    """A connection of the centre at `dsn`; `create` makes the schema on an empty database."""
    db = PgDatabase(dsn, clock=clock)
    try:
        raw = db.conn.raw
        if not create and not is_initialised(raw):
            raise NotInitialised(
                f"no central server in {redact(dsn)}: run `massar server init --database {redact(dsn)}`"
            )
        migrate(raw)
        # This school year's partitions exist before its first mark arrives (server/pg/partitions.py).
        year = school_year_of(utc_now(clock).date())
        for table in partitions.PARTITIONED:
            partitions.ensure(raw, table, year)
    except BaseException:
        db.conn.close()
        raise
    return db
