"""Applying a node's push to PostgreSQL: the SQLite centre's decisions, written in bulk.

The checks and the decisions are server/ingest.py's own (`check_scope`,
`check_pupils_and_dates`, `resolve`, `check_grade_scales`), reading through
PostgreSQL lookups; only the writing differs. The planned rows go through
COPY into per-connection temporary staging tables, then one INSERT ... SELECT
... ON CONFLICT per table, each record written once in its final state. The
version numbers (the pull cursor) are handed out last, under the `_clock` row
lock, which is held only from there to COMMIT: pushes of different schools
run in parallel and queue only for that final step, so versions become
visible in the order of their numbers (a pull can never skip one that
commits later).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cache

import psycopg

from protocol import hlc
from protocol.records import Change
from protocol.tables import BY_NAME, TableSpec

from ..errors import InvalidRow
from ..ingest import (
    Lookups,
    Plan,
    PushResult,
    Version,
    VersionNumbers,
    check_grade_scales,
    check_pupils_and_dates,
    check_scope,
    resolve,
    unapplied,
)
from .schema import APPLYING, KEY_SLOTS
from .sql import SqlReader, key_slots, keys_in, scalar

_SLOT_COLS = ", ".join(f"k{i}" for i in range(1, KEY_SLOTS + 1))
_VERSION_COLS = ("tbl", "k1", "k2", "k3", "k4", "k5", "school", "sseq", "hlc", "origin", "seq", "deleted")
_YEAR = BY_NAME["grades"].column_names.index("year")


def grade_years(changes: Sequence[Change], today: dt.date) -> set[str]:
    """The school years of the pushed marks; one outside 1990..next year is refused (each year is a table)."""
    years = {str(c.row[_YEAR]) for c in changes if c.table == "grades" and c.row is not None}
    for year in years:
        first = year[:4]
        if not (first.isdigit() and year == f"{first}/{int(first) + 1}" and 1990 <= int(first) <= today.year + 1):
            raise InvalidRow(f"grades.year {year!r} is not a school year between 1990 and {today.year + 1}")
    return years


def existing_versions(conn: psycopg.Connection, spec: TableSpec, slots: Sequence[tuple]) -> dict[tuple, Version]:
    """Current versions of these records, keyed by their text key slots."""
    columns: list[Sequence[str]] = list(zip(*slots, strict=True)) if slots else [[] for _ in range(KEY_SLOTS)]
    rows = conn.execute(
        f"SELECT {_SLOT_COLS}, school, sseq, hlc, origin, seq, deleted FROM _versions "
        f"WHERE tbl = %s AND ({_SLOT_COLS}) IN (SELECT * FROM unnest({', '.join(['%s::text[]'] * KEY_SLOTS)}))",
        [spec.wire_id, *map(list, columns)],
        prepare=False,  # a generic plan cannot see the array's size and scans the table: plan each time
    ).fetchall()
    return {tuple(r[:KEY_SLOTS]): Version(r[5], r[6], r[7], r[8], r[9], bool(r[10])) for r in rows}


def current_row(conn: psycopg.Connection, table: str, key: tuple) -> list | None:
    spec = BY_NAME[table]
    where = " AND ".join(f"{k} = %s" for k in spec.key)
    row = conn.execute(f"SELECT {', '.join(spec.column_names)} FROM {table} WHERE {where}", list(key)).fetchone()
    return None if row is None else list(row)


def lookups(conn: psycopg.Connection) -> Lookups:
    return Lookups(
        versions=lambda spec, slots: existing_versions(conn, spec, slots),
        row=lambda table, key: current_row(conn, table, key),
        slots=key_slots,
    )


@cache
def _stage(table: str) -> str:
    return f"_stage_{table}"


def _ensure_stage(conn: psycopg.Connection, table: str, like: str) -> str:
    """A temporary table of this connection, emptied at each commit."""
    name = _stage(table)
    conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} (LIKE {like} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
    return name


def _copy(conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


@cache
def _upsert_from_stage(table: str) -> str:
    spec = BY_NAME[table]
    cols = ", ".join(spec.column_names)
    values = spec.value_columns
    sets = ", ".join(f"{c} = excluded.{c}" for c in values)
    changed = " OR ".join(f"{table}.{c} IS DISTINCT FROM excluded.{c}" for c in values) or "false"
    return (
        f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {_stage(table)} "
        f"ON CONFLICT ({', '.join(spec.key)}) DO UPDATE SET {sets} WHERE {changed}"
    )


def final_versions(plan: Plan) -> dict[tuple, tuple]:
    """One version per record, the last the push made (one INSERT cannot write a record twice)."""
    return {(v[0], *v[1 : 1 + KEY_SLOTS]): v for v in plan.versions}


def write_rows(conn: psycopg.Connection, plan: Plan, last: dict[tuple, tuple]) -> None:
    """Each record's final row (or its deletion), with capture triggers quiet: these are the node's edits."""
    # Transaction-local: it ends with the transaction (no other table of the push has capture triggers).
    conn.execute(f"SET LOCAL {APPLYING} = 'on'")
    deleted_at = 1 + KEY_SLOTS + 5
    try:
        for table in {*plan.upserts, *plan.deletes}:
            spec = BY_NAME[table]
            rows = {tuple(r[i] for i in spec.key_indexes): r for r in plan.upserts.get(table, ())}
            keys = dict.fromkeys(plan.deletes.get(table, ()))
            ups = [r for k, r in rows.items() if not last[(spec.wire_id, *key_slots(spec, k))][deleted_at]]
            downs = [k for k in keys if last[(spec.wire_id, *key_slots(spec, k))][deleted_at]]
            if ups:
                stage = _ensure_stage(conn, table, table)
                _copy(conn, stage, spec.column_names, ups)
                conn.execute(_upsert_from_stage(table))
            if downs:
                conn.execute(
                    f"DELETE FROM {table} WHERE {keys_in(spec)}",
                    [list(col) for col in zip(*downs, strict=True)],
                    prepare=False,
                )
    except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as exc:
        raise InvalidRow(f"a pushed row breaks the schema: {exc.diag.message_primary or exc}") from exc


def write_versions(
    conn: psycopg.Connection, plan: Plan, last: dict[tuple, tuple], numbers: VersionNumbers, server_hlc: int
) -> None:
    """Hand out the version numbers under the `_clock` row lock (held until COMMIT) and store them."""
    count = numbers.last
    head = scalar(
        conn.execute(
            "UPDATE _clock SET sseq = sseq + %s, hlc = GREATEST(hlc, %s, %s) WHERE id = 1 RETURNING sseq",
            [count, server_hlc, plan.newest_hlc],
        )
    )
    base = head - count  # the plan's numbers run 1..count
    if last:
        stage = _ensure_stage(conn, "versions", "_versions")
        _copy(conn, stage, _VERSION_COLS, [(*v[:7], base + v[7], *v[8:11], int(v[11])) for v in last.values()])
        conn.execute(
            f"INSERT INTO _versions ({', '.join(_VERSION_COLS)}) SELECT {', '.join(_VERSION_COLS)} FROM {stage} "
            "ON CONFLICT (tbl, k1, k2, k3, k4, k5) DO UPDATE SET school = excluded.school, sseq = excluded.sseq, "
            "hlc = excluded.hlc, origin = excluded.origin, seq = excluded.seq, deleted = excluded.deleted"
        )
    if plan.reissues:
        conn.cursor().executemany(
            "UPDATE _versions SET sseq = %s WHERE tbl = %s AND k1 = %s AND k2 = %s AND k3 = %s AND k4 = %s AND k5 = %s",
            [(base + r[0], *r[1:]) for r in plan.reissues],
        )


def apply_push(conn: psycopg.Connection, school: str, changes: Sequence[Change], server_hlc: int) -> PushResult:
    """Apply in the caller's transaction (the school's own pushes take turns on an advisory lock)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('massar_school'), hashtext(%s))", [school])
    acked = scalar(conn.execute("SELECT acked_seq FROM _schools WHERE code = %s", [school]))
    fresh = unapplied(changes, acked)
    if not fresh:
        return PushResult(acked, 0, 0)
    check_scope(school, fresh)
    reader = SqlReader(conn)
    today = dt.datetime.fromtimestamp(hlc.wall_ms(server_hlc) / 1000, dt.UTC).date()
    check_pupils_and_dates(reader, school, fresh, today)  # type: ignore[arg-type]
    numbers = VersionNumbers(0)  # relative: real numbers are taken last, in write_versions
    plan = resolve(lookups(conn), school, fresh, server_hlc, numbers)
    last = final_versions(plan)
    write_rows(conn, plan, last)
    if plan.upserts.get("grades"):
        check_grade_scales(reader, plan.upserts["grades"])  # type: ignore[arg-type]
    if plan.conflicts:
        conn.cursor().executemany(
            "INSERT INTO _conflicts (tbl, record, school, winner_origin, winner_hlc, loser_origin, loser_hlc, "
            "loser_seq, loser_row, at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            plan.conflicts,
        )
    new_acked = max(acked, max(c.seq for c in fresh))
    conn.execute("UPDATE _schools SET acked_seq = %s WHERE code = %s", [new_acked, school])
    write_versions(conn, plan, last, numbers, server_hlc)
    return PushResult(new_acked, len(plan.versions), len(plan.conflicts))
