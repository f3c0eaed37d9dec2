"""Applying a node's push to PostgreSQL: the same decisions as the SQLite centre, written in bulk.

Bulk path: the planned rows go through COPY into per-connection temporary
staging tables, then one INSERT ... SELECT ... ON CONFLICT per table. The
version numbers (the pull cursor) are handed out last, under the `_clock`
row lock, which is held only from there to COMMIT: pushes of different
schools run in parallel and queue only for that final step, so versions
become visible in the order of their numbers (a pull can never skip one
that commits later).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cache

import psycopg

from protocol import hlc as hlc_clock
from protocol.records import Change
from protocol.tables import BY_NAME, TABLES, ColumnType, TableSpec

from ..errors import InvalidRow
from ..ingest import PushResult, check_scope
from .plan import PushPlan, plan_push
from .schema import APPLYING, KEY_SLOTS
from .sql import key_slots, keys_in, scalar

_FIRST_DATE = "1900-01-01"
_DATE_COLUMNS = {
    t.name: [i for i, c in enumerate(t.columns) if c.type is ColumnType.DATE] for t in TABLES if not t.national
}
_ABOUT_A_PUPIL = {t.name for t in TABLES if "pupil" in t.key}
_SLOT_COLS = ", ".join(f"k{i}" for i in range(1, KEY_SLOTS + 1))


def check_dates(changes: Sequence[Change], today: dt.date) -> None:
    last = (today + dt.timedelta(days=1)).isoformat()
    for c in changes:
        row = c.row
        for i in _DATE_COLUMNS.get(c.table, ()) if row is not None else ():
            value = row[i]  # type: ignore[index]
            if value is not None and not _FIRST_DATE <= str(value) <= last:
                name = BY_NAME[c.table].columns[i].name
                raise InvalidRow(f"{c.table}.{name} {value} is outside {_FIRST_DATE}..{last}")


def check_pupils(conn: psycopg.Connection, school: str, changes: Sequence[Change]) -> None:
    from ..errors import ScopeViolation

    pupils = sorted({str(c.key[BY_NAME[c.table].key.index("pupil")]) for c in changes if c.table in _ABOUT_A_PUPIL})
    if not pupils:
        return
    foreign = conn.execute(
        "SELECT code, school FROM pupils WHERE code = ANY(%s) AND school != %s LIMIT 1", [pupils, school], prepare=False
    ).fetchone()
    if foreign:
        raise ScopeViolation(f"pupil {foreign[0]} belongs to school {foreign[1]}, not {school}")


def existing_versions(conn: psycopg.Connection, spec: TableSpec, slots: Sequence[tuple]) -> dict[tuple, tuple]:
    """Current versions of these records, keyed by their text key slots."""
    columns: list[Sequence[str]] = list(zip(*slots, strict=True)) if slots else [[] for _ in range(KEY_SLOTS)]
    rows = conn.execute(
        f"SELECT {_SLOT_COLS}, school, sseq, hlc, origin, seq, deleted FROM _versions "
        f"WHERE tbl = %s AND ({_SLOT_COLS}) IN (SELECT * FROM unnest({', '.join(['%s::text[]'] * KEY_SLOTS)}))",
        [spec.wire_id, *map(list, columns)],
        prepare=False,  # a generic plan cannot see the array's size and scans the table: plan each time
    ).fetchall()
    return {tuple(r[:KEY_SLOTS]): r[KEY_SLOTS:] for r in rows}


def current_row(conn: psycopg.Connection, table: str, key: tuple) -> list | None:
    spec = BY_NAME[table]
    where = " AND ".join(f"{k} = %s" for k in spec.key)
    row = conn.execute(f"SELECT {', '.join(spec.column_names)} FROM {table} WHERE {where}", list(key)).fetchone()
    return None if row is None else list(row)


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


def write_rows(conn: psycopg.Connection, plan: PushPlan) -> None:
    """The domain rows of the plan, with capture triggers quiet (these are the node's edits, not the centre's)."""
    # Transaction-local: it ends with the transaction (no other table of the push has capture triggers).
    conn.execute(f"SET LOCAL {APPLYING} = 'on'")
    try:
        for table, rows in plan.upserts.items():
            if rows:
                stage = _ensure_stage(conn, table, table)
                _copy(conn, stage, BY_NAME[table].column_names, rows)
                conn.execute(_upsert_from_stage(table))
        for table, keys in plan.deletes.items():
            if keys:
                spec = BY_NAME[table]
                conn.execute(
                    f"DELETE FROM {table} WHERE {keys_in(spec)}", [list(col) for col in zip(*keys, strict=True)]
                )
    except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as exc:
        raise InvalidRow(f"a pushed row breaks the schema: {exc.diag.message_primary or exc}") from exc


_YEAR = BY_NAME["grades"].column_names.index("year")


def grade_years(changes: Sequence[Change], today: dt.date) -> set[str]:
    """The school years of the pushed marks; one outside 1990..next year is refused (each year is a table)."""
    years = {str(c.row[_YEAR]) for c in changes if c.table == "grades" and c.row is not None}
    for year in years:
        first = year[:4]
        if not (first.isdigit() and year == f"{first}/{int(first) + 1}" and 1990 <= int(first) <= today.year + 1):
            raise InvalidRow(f"grades.year {year!r} is not a school year between 1990 and {today.year + 1}")
    return years


def check_grade_scales(conn: psycopg.Connection, rows: Sequence[tuple]) -> None:
    spec = BY_NAME["grades"]
    year_i, pupil_i, score_i, subject_i = (spec.column_names.index(c) for c in ("year", "pupil", "score", "subject"))
    suspects = {(r[year_i], r[pupil_i]): r for r in rows if r[score_i] is not None and r[score_i] > 1000}
    if not suspects:
        return
    years, pupils = zip(*suspects, strict=True)
    bad = conn.execute(
        "SELECT e.year, e.pupil, l.scale FROM enrolments e "
        "JOIN classes c ON c.school = e.school AND c.year = e.year AND c.code = e.class "
        "JOIN levels l ON l.code = c.level "
        "WHERE (e.year, e.pupil) IN (SELECT * FROM unnest(%s::text[], %s::text[])) AND l.scale * 100 < 2000 LIMIT 1",
        [list(years), list(pupils)],
        prepare=False,
    ).fetchone()
    if bad:
        row = suspects[(bad[0], bad[1])]
        raise InvalidRow(f"score {row[score_i] / 100} of {bad[1]} in {row[subject_i]} is out of the scale 0-{bad[2]}")


def write_versions(conn: psycopg.Connection, plan: PushPlan, server_hlc: int) -> None:
    """Hand out the version numbers under the `_clock` row lock (held until COMMIT) and store them."""
    count = plan.version_count
    head = scalar(
        conn.execute(
            "UPDATE _clock SET sseq = sseq + %s, hlc = GREATEST(hlc, %s, %s) WHERE id = 1 RETURNING sseq",
            [count, server_hlc, plan.newest],
        )
    )
    base = head - count  # plan offsets run 1..count
    if plan.versions:
        stage = _ensure_stage(conn, "versions", "_versions")
        cols = ("tbl", "k1", "k2", "k3", "k4", "k5", "school", "sseq", "hlc", "origin", "seq", "deleted")
        _copy(conn, stage, cols, [(*v[:7], base + v[7], *v[8:]) for v in plan.versions])
        conn.execute(
            f"INSERT INTO _versions ({', '.join(cols)}) SELECT {', '.join(cols)} FROM {stage} "
            "ON CONFLICT (tbl, k1, k2, k3, k4, k5) DO UPDATE SET school = excluded.school, sseq = excluded.sseq, "
            "hlc = excluded.hlc, origin = excluded.origin, seq = excluded.seq, deleted = excluded.deleted"
        )
    if plan.rebumps:
        conn.cursor().executemany(
            "UPDATE _versions SET sseq = %s WHERE tbl = %s AND k1 = %s AND k2 = %s AND k3 = %s AND k4 = %s AND k5 = %s",
            [(base + r[0], *r[1:]) for r in plan.rebumps],
        )


def apply_push(conn: psycopg.Connection, school: str, changes: Sequence[Change], server_hlc: int) -> PushResult:
    """Apply in the caller's transaction (the school's own pushes take turns on an advisory lock)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('massar_school'), hashtext(%s))", [school])
    acked = scalar(conn.execute("SELECT acked_seq FROM _schools WHERE code = %s", [school]))
    fresh = [c for c in changes if c.seq > acked]
    if not fresh:
        return PushResult(acked, 0, 0)
    check_scope(school, fresh)
    check_dates(fresh, dt.datetime.now(dt.UTC).date())
    check_pupils(conn, school, fresh)
    plan = plan_push(
        school,
        fresh,
        bound=server_hlc + hlc_clock.MAX_SKEW,
        existing=lambda spec, slots: existing_versions(conn, spec, slots),
        current_row=lambda table, key: current_row(conn, table, key),
        slots_of=key_slots,
        now=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    write_rows(conn, plan)
    if plan.upserts.get("grades"):
        check_grade_scales(conn, plan.upserts["grades"])
    if plan.conflicts:
        conn.cursor().executemany(
            "INSERT INTO _conflicts (tbl, record, school, winner_origin, winner_hlc, loser_origin, loser_hlc, "
            "loser_seq, loser_row, at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            plan.conflicts,
        )
    new_acked = max(acked, max(c.seq for c in fresh))
    conn.execute("UPDATE _schools SET acked_seq = %s WHERE code = %s", [new_acked, school])
    write_versions(conn, plan, server_hlc)
    return PushResult(new_acked, plan.applied, len(plan.conflicts))
