"""`python -m bench --national [--quick] [--backend sqlite|postgresql|both] [--sizes 1e6,3e6]`:
the centre grown towards Morocco's size, measured as it grows.

Method. One realistic school is generated once (a 600-pupil collège: roster, then
a semester of marks, absences and incidents, as `massar node sync` would push
them). The centre is then grown by replaying that school's pushes under new
school ids (each simulated school gets its own code and its own pupil codes,
so every record is new), straight into the centre's ingest (`server.ingest.apply_push` in one write
transaction, as a sync request runs it: restore check, scope, dates and values
checked row by row, conflicts, rows and versions; no HTTP, no frame decoding),
on SQLite and on PostgreSQL through the same code (`server.store.open_central`). At each checkpoint:
  * ingest rate over the last stretch (changes/s);
  * database size on disk, and this process's peak RSS (the server's side);
  * sync latency p50/p99: a day's delta (the same ~100-change day of work) pushed
    and the reply page pulled, for 20 schools already in the centre, one at a time;
  * a fresh device's full pull: a new PC registered for the first school
    (`server.schools.add_device`) pulls every page from cursor 0, i.e. all of
    its school's records (a semester: ~27,000 for 600 pupils) out of a centre of
    the checkpoint's size.
The figures are extrapolated linearly with the slopes measured between the
last checkpoints, to 300 million marks and 25,000 schools' daily syncs, and
the resource that runs out first is named. On a 2-core machine shared with
other work, growth stops at `stop_at` (a deadline) or when the disk's free
space falls under `MIN_FREE_BYTES`, with a last checkpoint at the size reached:
read the reached sizes in the results, not the targets. Each checkpoint also
records the machine's load average, and the partial results are handed to
`on_point` as they come (a long run killed halfway keeps its curve).
"""

from __future__ import annotations

import gc
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sample
from domain.pupils import Term
from protocol.records import Change
from protocol.tables import BY_NAME
from syncclient.outbox import pending_changes
from syncclient.store import NodeStore

YEAR = "2025/2026"
SEED = 2026
PULL_PAGE = 4000
LATENCY_SAMPLES = 20
NATIONAL_MARKS = 300_000_000
NATIONAL_SCHOOLS = 25_000
MIN_FREE_BYTES = 15 * 10**9


@dataclass
class Template:
    """One school's pushes: the roster, the semester, and one later day of work."""

    roster: list[Change]
    semester: list[Change]
    day: list[Change]

    @property
    def per_school(self) -> int:
        return len(self.roster) + len(self.semester)


def build_template(folder: Path, pupils: int) -> Template:
    school = "TPL001"
    store = NodeStore.init(folder, school, name="template", year=YEAR)
    try:
        term = Term(school, YEAR)
        made = sample.make_school(store.db, term, seed=SEED, pupils=pupils, classes=max(3, pupils // 34))
        roster = pending_changes(store.db, school, 10**8)
        store.db.conn.execute("DELETE FROM _outbox")
        sample.semester_grades(store.db, term, made, 1, seed=SEED)
        sample.absences(store.db, term, made, days=20, seed=SEED)
        sample.incidents(store.db, term, made, seed=SEED)
        semester = pending_changes(store.db, school, 10**8)
        store.db.conn.execute("DELETE FROM _outbox")
        sample.day_delta(store.db, term, made, sample.school_days(YEAR, 1)[60], seed=SEED)
        day = pending_changes(store.db, school, 10**8)
    finally:
        store.close()
    return Template(roster, semester, day)


def _pupil_columns() -> dict[str, tuple[list[int], list[int], int | None, int | None]]:
    """Per table: row and key indexes holding a pupil code, and the school column in the row and in the key."""
    out = {}
    for spec in BY_NAME.values():
        names = spec.column_names
        pupil_col = "code" if spec.name == "pupils" else "pupil"
        rows = [i for i, n in enumerate(names) if n == pupil_col]
        keys = [i for i, n in enumerate(spec.key) if n == pupil_col]
        school_row = names.index("school") if "school" in names else None
        school_key = spec.key.index("school") if "school" in spec.key else None
        out[spec.name] = (rows, keys, school_row, school_key)
    return out


_PUPIL_COLUMNS = _pupil_columns()


class Renamer:
    """The template's records as school number `n`'s: its own school code and pupil codes."""

    def __init__(self, template: Template) -> None:
        pupils = sorted({str(c.key[0]) for c in template.roster if c.table == "pupils"})
        self.index = {p: i for i, p in enumerate(pupils)}

    def school_code(self, n: int) -> str:
        return f"N{n:05d}"

    def changes(self, n: int, changes: Sequence[Change]) -> list[Change]:
        school = self.school_code(n)
        prefix = f"P{n:05d}"
        index = self.index

        def pupil(code: Any) -> Any:
            return f"{prefix}{index[code]:04d}" if code in index else code

        out = []
        for c in changes:
            rows_i, keys_i, school_i, school_k = _PUPIL_COLUMNS[c.table]
            key = tuple(school if i == school_k else pupil(v) if i in keys_i else v for i, v in enumerate(c.key))
            row = c.row
            if row is not None:
                row = tuple(school if i == school_i else pupil(v) if i in rows_i else v for i, v in enumerate(row))
            out.append(c._replace(key=key, row=row, origin=school))
        return out


class Centre:
    """A central store of one engine, through the centre's own code (`open_central`), with its size on disk."""

    def __init__(self, backend: str, work: Path) -> None:
        from server.store import open_central

        self.backend = backend
        self.cluster: Any = None
        if backend == "postgresql":
            from server.pg.cluster import start_cluster

            dsn = os.environ.get("MASSAR_BENCH_POSTGRES")
            if not dsn:
                # fsync on, synchronous_commit off: SQLite's WAL + synchronous=NORMAL promise (server/pg/cluster.py)
                self.cluster = start_cluster(durable=True)
                dsn = self.cluster.dsn()
            self.location: str | Path = dsn
        else:
            work.mkdir(parents=True, exist_ok=True)
            self.location = work / "central"
        self.db = open_central(self.location, create=True)

    def push(self, school: str, changes: Sequence[Change]) -> Any:
        """The server's side of a sync's push (scope, checks, conflicts, rows and versions): one write transaction."""
        from domain.database import write_transaction
        from server.ingest import apply_push
        from server.schools import find_device
        from server.versions import next_server_hlc

        with write_transaction(self.db):
            device = find_device(self.db, school)
            if device is None:
                raise RuntimeError(f"unknown school {school}")
            return apply_push(self.db, device, changes, next_server_hlc(self.db), pull_cursor=device.seen_cursor)

    def pull(self, device_id: str, cursor: int) -> Any:
        from domain.database import read_snapshot
        from server.pull import pull_changes
        from server.schools import find_device

        with read_snapshot(self.db):
            device = find_device(self.db, device_id)
            if device is None:
                raise RuntimeError(f"unknown device {device_id}")
            return pull_changes(self.db, device, cursor, PULL_PAGE)

    def free_bytes(self) -> int:
        """Free space where the data lives (PostgreSQL's cluster folder, or the SQLite folder)."""
        if self.cluster is not None:
            where = self.cluster.folder
        elif self.backend == "postgresql":
            where = Path(tempfile.gettempdir())  # a server of its own (MASSAR_BENCH_POSTGRES): this machine's temp
        else:
            where = Path(self.location)
        return shutil.disk_usage(where).free

    def size_bytes(self) -> int:
        if self.backend == "postgresql":
            return int(self.db.execute("SELECT pg_database_size(current_database())").fetchone()[0])
        folder = Path(self.location)
        return sum(f.stat().st_size for f in folder.iterdir() if f.name.startswith("central.sqlite"))

    def close(self) -> None:
        self.db.conn.close()
        if self.cluster is not None:
            self.cluster.stop()


def _pull_all(centre: Centre, device: str, cursor: int) -> tuple[int, int, int]:
    """Pull pages until the end; the new cursor, records and pages."""
    pulled = pages = 0
    while True:
        page = centre.pull(device, cursor)
        pulled += len(page.changes)
        pages += 1
        cursor = page.cursor
        if not page.more:
            return cursor, pulled, pages


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def grow(
    backend: str,
    template: Template,
    sizes: Sequence[int],
    work: Path,
    log: Callable[[str], None],
    *,
    stop_at: float | None = None,
    on_point: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Grow one engine's centre through `sizes`; stop early at `stop_at` (time.time()) or on a full disk."""
    from server.schools import add_device, add_school

    centre = Centre(backend, work)
    renamer = Renamer(template)
    points: list[dict[str, Any]] = []
    n_schools = total = 0
    synced_delta: set[int] = set()
    cursors: dict[int, int] = {}
    stopped: str | None = None
    run: dict[str, Any] = {"backend": backend, "targets": list(sizes), "points": points}
    try:
        for target in sizes:
            stretch_changes, stretch_s = 0, 0.0
            while total < target:
                if stop_at is not None and time.time() >= stop_at and n_schools > 0:  # one school: a point to report
                    stopped = "deadline"
                elif centre.free_bytes() < MIN_FREE_BYTES:
                    stopped = "disk"
                if stopped:
                    log(f"  {backend}: stopped ({stopped}) at {total:,} changes, before {target:,}")
                    break
                code = renamer.school_code(n_schools)
                add_school(centre.db, code, f"École {code}")
                for part in (template.roster, template.semester):
                    changes = renamer.changes(n_schools, part)
                    gc.collect()
                    t0 = time.perf_counter()
                    result = centre.push(code, changes)
                    stretch_s += time.perf_counter() - t0
                    if result.applied != len(changes):
                        raise RuntimeError(f"{code}: applied {result.applied} of {len(changes)}")
                    stretch_changes += len(changes)
                    total += len(changes)
                cursors[n_schools] = _pull_all(centre, code, 0)[0]  # the first sync ends with its pull (untimed)
                n_schools += 1
                if n_schools % 10 == 0:
                    log(f"  {backend}: {total:,} changes, {n_schools} schools")
            if n_schools == 0:
                break  # stopped before the first school: nothing to measure
            # A day's delta for schools that have not had one, one at a time.
            latencies: list[float] = []
            picks = [i for i in range(n_schools) if i not in synced_delta][:LATENCY_SAMPLES]
            for i in picks:
                code = renamer.school_code(i)
                delta = renamer.changes(i, template.day)
                t0 = time.perf_counter()
                centre.push(code, delta)
                cursors[i] = _pull_all(centre, code, cursors[i])[0]  # the reply's pages, from the school's cursor
                latencies.append(time.perf_counter() - t0)
                synced_delta.add(i)
                total += len(delta)
            # A new PC of school 0 pulls everything: the school's records, out of a centre this size.
            fresh, _ = add_device(centre.db, renamer.school_code(0), f"fresh PC {len(points) + 1}")
            t0 = time.perf_counter()
            _, pulled, pages = _pull_all(centre, fresh, 0)
            fresh_s = time.perf_counter() - t0
            point = {
                "changes": total,
                "schools": n_schools,
                "ingest_changes_per_s": round(stretch_changes / stretch_s) if stretch_s else None,
                "db_bytes": centre.size_bytes(),
                "rss_mb": _rss_mb(),
                "sync_p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
                "sync_p99_ms": round(_pct(latencies, 0.99) * 1000, 1) if latencies else None,
                "day_delta_changes": len(template.day),
                "fresh_pull_records": pulled,
                "fresh_pull_pages": pages,
                "fresh_pull_s": round(fresh_s, 2),
                "free_disk_gb": round(centre.free_bytes() / 1e9, 1),
                "load_average_1m": round(os.getloadavg()[0], 1),
                "at": time.strftime("%H:%M:%S", time.gmtime()),
            }
            points.append(point)
            log(f"  {backend}: {json.dumps(point)}")
            if on_point is not None:
                on_point(run)
            if stopped:
                break
    finally:
        centre.close()
    run["stopped"] = stopped
    return run


def _fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares line through the points: (slope, intercept)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0
    return slope, my - slope * mx


def _measured(points: list[dict[str, Any]], field: str) -> tuple[list[float], list[float]]:
    """(changes, value) of the checkpoints that measured `field`."""
    kept = [p for p in points if p.get(field) is not None]
    return [float(p["changes"]) for p in kept], [float(p[field]) for p in kept]


def extrapolate(points: list[dict[str, Any]], template: Template, machine: dict[str, Any]) -> dict[str, Any]:
    """Least-squares lines through the checkpoints, extended to national size, and what runs out first.

    Size is linear in the changes stored. The cost of ingesting one change (1/rate) is fitted as
    a line in the store's size (constant for lookups by index, rising for anything that scans);
    sync latency too, when it rises at every checkpoint (otherwise it is noise, and the last
    value is kept). Then, for this machine: the size at which the disk is full, at which the
    database outgrows the RAM (key lookups leave the cache), and at which 25,000 schools' daily
    syncs, whose writes queue one at a time, would keep the writer busy all day."""
    if not points:
        return {}
    marks_share = sum(1 for c in template.semester if c.table == "grades") / template.per_school
    national = NATIONAL_MARKS / marks_share
    xs, sizes = _measured(points, "db_bytes")
    size_slope, size_0 = _fit(xs, sizes)
    rx, rates = _measured(points, "ingest_changes_per_s")
    cost_slope, cost_0 = _fit(rx, [1 / r for r in rates]) if len(rates) > 1 else (0.0, 1 / rates[0])
    px, p50s = _measured(points, "sync_p50_ms")
    rising = len(p50s) > 1 and all(b > a for a, b in zip(p50s, p50s[1:], strict=False))
    p50_slope, p50_0 = _fit(px, p50s) if rising else (0.0, p50s[-1])

    def p50_at(n: float) -> float:
        return p50_0 + p50_slope * n

    cost_national = max(cost_0 + cost_slope * national, 1 / max(rates))
    out: dict[str, Any] = {
        "bytes_per_change": round(size_slope, 1),
        "changes_for_300M_marks": round(national),
        "db_size_at_300M_marks_gb": round((size_0 + size_slope * national) / 1e9, 1),
        "ingest_us_per_change_growth_per_million": round(cost_slope * 1e12, 2),
        "ingest_changes_per_s_at_300M_marks": round(1 / cost_national),
        "ingest_hours_for_a_semesters_300M_marks_at_that_rate": round(national / 3600 * cost_national, 1),
        "sync_p50_ms_trend": "rising" if rising else "no steady trend (noise between checkpoints)",
        "sync_p50_ms_at_300M_marks": round(p50_at(national), 1),
        # The writes of a sync queue one at a time (one writer lock): the share of a day they fill.
        "share_of_a_day_for_25000_daily_syncs": round(NATIONAL_SCHOOLS * p50_at(national) / 1000 / 86400, 3),
    }
    limits = {
        "disk_full_at_changes": machine["free_disk_bytes_at_start"] / size_slope if size_slope > 0 else None,
        "database_exceeds_ram_at_changes": machine["ram_bytes"] / size_slope if size_slope > 0 else None,
        "daily_syncs_fill_the_writer_at_changes": (86400_000 / NATIONAL_SCHOOLS - p50_0) / p50_slope
        if p50_slope > 0
        else None,
    }
    out["this_machine_runs_out"] = {k: round(v) if v is not None else None for k, v in limits.items()}
    known = {k: v for k, v in limits.items() if v is not None}
    out["first_to_run_out"] = min(known, key=lambda k: known[k]) if known else None
    return out


def _machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "ram_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        "free_disk_bytes_at_start": shutil.disk_usage(tempfile.gettempdir()).free,
        "load_average_at_start": [round(x, 1) for x in os.getloadavg()],
    }


def _grow_logged(
    backend: str, template: Template, sizes: Sequence[int], work: Path, stop_at: float | None, partial: Path | None
) -> dict[str, Any]:
    """`grow` in a process of its own (--parallel): logs to stderr, partial results to `partial`."""
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"{time.perf_counter() - started:7.1f}s {message}", file=sys.stderr, flush=True)

    def on_point(run: dict[str, Any]) -> None:
        if partial is not None:
            partial.write_text(json.dumps(run, indent=1))

    return grow(backend, template, sizes, work, log, stop_at=stop_at, on_point=on_point)


def run_national(
    quick: bool,
    backends: Sequence[str],
    sizes: Sequence[int] | None,
    log: Callable[[str], None],
    *,
    stop_at: float | None = None,
    parallel: bool = False,
    partial_dir: Path | None = None,
) -> dict[str, Any]:
    """Grow a centre on each engine, one after the other or (`parallel`) at once in two processes."""
    sizes = list(sizes or ([100_000, 250_000] if quick else [1_000_000, 10_000_000, 30_000_000]))
    pupils = 120 if quick else 600
    machine = _machine()
    with tempfile.TemporaryDirectory(prefix="massar-national-") as tmp:
        work = Path(tmp)
        log(f"national: template school of {pupils} pupils")
        template = build_template(work / "template", pupils)
        log(
            f"national: {template.per_school:,} changes a school "
            f"(roster {len(template.roster):,}, semester {len(template.semester):,}), day {len(template.day)}"
        )
        log(f"national: {', '.join(backends)}{' at once' if parallel else ''}, checkpoints {sizes}")

        def partial(backend: str) -> Path | None:
            return partial_dir / f"national-{backend}.partial.json" if partial_dir else None

        if parallel and len(backends) > 1:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(len(backends)) as pool:
                futures = [
                    pool.submit(_grow_logged, b, template, sizes, work / b, stop_at, partial(b)) for b in backends
                ]
                runs = [f.result() for f in futures]
        else:
            runs = [_grow_logged(b, template, sizes, work / b, stop_at, partial(b)) for b in backends]
    for run in runs:
        run["extrapolation"] = extrapolate(run["points"], template, machine)
    machine["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    return {
        "mode": "quick" if quick else "national",
        "engines_grown": "at once, in two processes" if parallel and len(backends) > 1 else "one after the other",
        "machine": machine,
        "template": {"pupils": pupils, "changes_per_school": template.per_school, "day_delta": len(template.day)},
        "runs": runs,
    }


def format_national(result: dict[str, Any]) -> str:
    lines = []
    head = ("backend", "changes", "schools", "ingest/s", "db MB", "RSS MB", "p50 ms", "p99 ms", "fresh pull", "load")
    lines.append(" | ".join(head))

    def num(value: Any) -> str:
        return "-" if value is None else f"{value:,}"

    for run in result["runs"]:
        for p in run["points"]:
            cells = (
                run["backend"],
                num(p["changes"]),
                p["schools"],
                num(p["ingest_changes_per_s"]),
                round(p["db_bytes"] / 1e6),
                p["rss_mb"],
                num(p["sync_p50_ms"]),
                num(p["sync_p99_ms"]),
                f"{p['fresh_pull_records']:,} in {p['fresh_pull_s']} s",
                p.get("load_average_1m", "-"),
            )
            lines.append(" | ".join(str(x) for x in cells))
        if run.get("stopped"):
            lines.append(f"  {run['backend']} stopped early ({run['stopped']}): targets were {run.get('targets')}")
        lines.append(f"  {run['backend']} extrapolated: {json.dumps(run['extrapolation'])}")
    return "\n".join(lines)
