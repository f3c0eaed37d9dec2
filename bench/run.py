"""The scenarios of issue 6, run side by side for every system, on the same generated records.

Bytes are TCP payload bytes through a counting NetProxy in front of each
system's server (HTTP headers included); round trips are HTTP requests (each
waits for its response); `conns` are TCP connections (each costs one more round
trip on a real link). Wall time is the sync alone: finding local changes
(`prepare`) is untimed for every system.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from domain import sample
from domain.pupils import Term
from protocol.tables import BY_NAME
from syncclient.store import NodeStore

from .floor import floor
from .netproxy import NetProxy
from .systems import PEERS, OursSystem, ours_available

SCHOOL = "C01234"
YEAR = "2025/2026"  # a past year: every generated date is in the past
SEED = 2026

# Targets from issue 3 (ours only).
TARGET_BULK_BPR = 3.0
TARGET_DELTA_BPR = 12.0
TARGET_DELTA_FIXED = 600
TARGET_NOOP_BYTES = 600
TARGET_SLOW_RATIO = 1.3
TARGET_INGEST = 100_000

SLOW_RATE_BPS = 32_000
SLOW_LATENCY_S = 0.25  # each way: 500 ms round trips
CUT_EVERY = 50_000


@dataclasses.dataclass(frozen=True)
class Params:
    pupils: int
    classes: int
    absence_days: int
    slow_budget_s: float  # longest a peer's slow-link run may take before it is time-scaled
    cut_every: int  # bytes per connection before the link drops (scenario 4b)

    @staticmethod
    def for_mode(quick: bool) -> Params:
        if quick:
            # A smaller school sends less: cut more often so that every system does get cut.
            return Params(pupils=120, classes=6, absence_days=20, slow_budget_s=3.0, cut_every=4_000)
        return Params(pupils=600, classes=18, absence_days=83, slow_budget_s=25.0, cut_every=CUT_EVERY)


@dataclasses.dataclass
class Row:
    scenario: str
    system: str
    records: int
    bytes_up: int = 0
    bytes_down: int = 0
    round_trips: int = 0
    connections: int = 0
    wall_s: float = 0.0
    time_scale: float = 1.0  # > 1: run on a link k times faster, wall time multiplied back by k
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    status: str = "ok"  # ok | pending | error

    @property
    def total(self) -> int:
        return self.bytes_up + self.bytes_down

    @property
    def bytes_per_record(self) -> float | None:
        return self.total / self.records if self.records else None


# ---------------------------------------------------------------------------
# Nodes


def build_node(folder: Path, params: Params, *, stage: str) -> sample.SampleSchool:
    """A school node with the sample roster; `stage` "semester" adds grades, absences and incidents."""
    store = NodeStore.init(folder, SCHOOL, name="Collège rural (sample)", year=YEAR)
    try:
        term = Term(SCHOOL, YEAR)
        school = sample.make_school(store.db, term, seed=SEED, pupils=params.pupils, classes=params.classes)
        if stage == "semester":
            add_semester(store.db, term, school, params)
        return school
    finally:
        store.close()


def add_semester(db, term: Term, school: sample.SampleSchool, params: Params) -> int:
    n = sample.semester_grades(db, term, school, 1, seed=SEED)
    n += sample.absences(db, term, school, days=params.absence_days, seed=SEED)
    n += sample.incidents(db, term, school, seed=SEED)
    return n


def with_node(folder: Path, fn: Callable[[Any, Term], Any]) -> Any:
    store = NodeStore.open(folder)
    try:
        return fn(store.db, store.term)
    finally:
        store.close()


# ---------------------------------------------------------------------------
# Measuring


def measure(
    system: Any, proxy: NetProxy, scenario: str, records: int, *, time_scale: float = 1.0, cpu_s: float = 0.0
) -> Row:
    """One timed sync. With `time_scale` k > 1 the link ran k times faster: the link's share of
    the wall time (wall - cpu_s, where cpu_s is the same sync's unshaped wall time) is scaled
    back by k, the CPU share is not."""
    system.prepare()
    proxy.reset()
    t0 = time.perf_counter()
    info = system.sync(proxy.url)
    wall = time.perf_counter() - t0
    if time_scale > 1:
        wall = max(wall - cpu_s, 0.0) * time_scale + min(cpu_s, wall)
    proxy.wait_idle()
    stats = proxy.reset()
    return Row(
        scenario,
        system.name,
        records,
        stats.bytes_up,
        stats.bytes_down,
        stats.round_trips,
        stats.connections,
        wall,
        time_scale,
        {"client": info, "cuts": stats.cuts},
    )


class Contestant:
    """A system plus the counting proxy in front of its server."""

    def __init__(self, cls: type, workdir: Path, node: Path) -> None:
        self.system = cls(workdir / cls.name, node, SCHOOL)
        self.proxy = NetProxy(self.system.port).start()

    def close(self) -> None:
        self.proxy.stop()
        self.system.close()


def _systems(include_ours: bool) -> list[type]:
    return [OursSystem, *PEERS] if include_ours else list(PEERS)


# ---------------------------------------------------------------------------
# Scenarios


def run_all(params: Params, *, log: Callable[[str], None] = print) -> dict[str, Any]:
    why_not = ours_available()
    include_ours = why_not is None and os.environ.get("MASSAR_BENCH_OURS", "1") != "0"
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="massar-bench-") as tmp:
        work = Path(tmp)
        main_rows, floor_info = _main_scenarios(work / "main", params, include_ours, log)
        rows += main_rows
        hints = {r.system: (r.total, r.round_trips, r.wall_s) for r in main_rows if r.scenario == "1. semester bulk"}
        rows += _slow_link(work / "slow", params, include_ours, hints, log)
    if not include_ours:
        for scenario in ("1. semester bulk", "2. day delta", "3. no-op", "4a. slow link", "4b. slow link, cuts"):
            rows.append(Row(scenario, "ours", 0, status="pending", extra={"why": why_not or "disabled"}))
    rows.append(Row("5. central ingest", "ours", 0, status="pending", extra={"why": "not written yet"}))
    rows.append(Row("6. node pages", "ours", 0, status="pending", extra={"why": "not written yet"}))
    return {"rows": rows, "floor": floor_info, "ours": "included" if include_ours else (why_not or "disabled")}


def _main_scenarios(
    work: Path, params: Params, include_ours: bool, log: Callable[[str], None]
) -> tuple[list[Row], dict[str, Any]]:
    node = work / "node"
    work.mkdir(parents=True)
    school = build_node(node, params, stage="roster")
    contestants = []
    rows: list[Row] = []
    try:
        for cls in _systems(include_ours):
            contestants.append(Contestant(cls, work, node))
        roster = sum(
            with_node(
                node,
                lambda db, t: [db["pupils"].count, db["enrolments"].count, db["guardians"].count, db["classes"].count],
            )
        )
        for c in contestants:
            log(f"  roster sync: {c.system.name}")
            rows.append(measure(c.system, c.proxy, "0. roster", roster))

        records = with_node(node, lambda db, t: add_semester(db, t, school, params))
        floor_info = with_node(node, _floor)
        for c in contestants:
            log(f"  1. semester bulk: {c.system.name}")
            rows.append(measure(c.system, c.proxy, "1. semester bulk", records))

        day = sample.school_days(YEAR, 1)[params.absence_days + 3]
        counts = with_node(node, lambda db, t: sample.day_delta(db, t, school, day, seed=SEED))
        delta_records = sum(counts.values())
        for c in contestants:
            log(f"  2. day delta: {c.system.name}")
            rows.append(measure(c.system, c.proxy, "2. day delta", delta_records))

        for c in contestants:
            log(f"  3. no-op: {c.system.name}")
            rows.append(measure(c.system, c.proxy, "3. no-op", 0))
    finally:
        for c in contestants:
            c.close()
    return rows, floor_info


def _slow_link(
    work: Path, params: Params, include_ours: bool, hints: dict[str, tuple[int, int, float]], log: Callable[[str], None]
) -> list[Row]:
    """Scenario 1 again through a 32 kbps link with 500 ms round trips; then cut every 50 KB.

    Each run has its own fresh node (roster synced unshaped first) and server. A peer
    whose run would exceed the budget runs on a link k times faster with 1/k of the
    latency; the link's share of its wall time is multiplied back by k (see `measure`)."""
    rows: list[Row] = []
    for cut in (False, True):
        scenario = "4b. slow link, cuts" if cut else "4a. slow link"
        for cls in _systems(include_ours):
            run = work / f"{cls.name}-{'cut' if cut else 'plain'}"
            node = run / "node"
            run.mkdir(parents=True)
            school = build_node(node, params, stage="roster")
            c = Contestant(cls, run, node)
            try:
                c.system.prepare()
                c.system.sync(c.proxy.url)
                records = with_node(node, lambda db, t, s=school: add_semester(db, t, s, params))
                # Size the run from scenario 1's bytes and round trips (the same records).
                k = _time_scale(cls.name, params, hints)
                c.proxy.configure(
                    rate_bps=SLOW_RATE_BPS * k,
                    latency_s=SLOW_LATENCY_S / k,
                    cut_after=params.cut_every if cut else None,
                )
                log(f"  {scenario}: {cls.name}" + (f" (time-scaled x{k:g})" if k > 1 else ""))
                cpu_s = hints[cls.name][2] if cls.name in hints else 0.0
                row = measure(c.system, c.proxy, scenario, records, time_scale=k, cpu_s=cpu_s)
                ideal = row.total * 8 / SLOW_RATE_BPS
                row.extra["ideal_s"] = round(ideal, 2)
                row.extra["time_vs_ideal"] = round(row.wall_s / ideal, 2) if ideal else None
                rows.append(row)
            finally:
                c.close()
    plain = {r.system: r for r in rows if r.scenario == "4a. slow link"}
    for r in rows:
        if r.scenario == "4b. slow link, cuts" and r.system in plain:
            r.extra["resent_bytes"] = r.total - plain[r.system].total
    return rows


def _time_scale(system: str, params: Params, hints: dict[str, tuple[int, int, float]]) -> float:
    """Ours always runs on the real link; a peer is sped up when its run would exceed the budget."""
    if system == "ours" or system not in hints:
        return 1.0
    total, requests, _ = hints[system]
    expected = total * 8 / SLOW_RATE_BPS + requests * 2 * SLOW_LATENCY_S
    if expected <= params.slow_budget_s:
        return 1.0
    return float(max(2, round(expected / params.slow_budget_s)))


def _floor(db: Any, term: Term) -> dict[str, Any]:
    """The floor for scenario 1's records (the semester's grades, absences and incidents)."""
    rows = {
        t: db.execute(
            f"SELECT {', '.join(BY_NAME[t].column_names)} FROM {t} WHERE school = ?", [term.school]
        ).fetchall()
        for t in ("grades", "absences", "incidents")
    }
    roster = [r[0] for r in db.execute("SELECT code FROM pupils WHERE school = ?", [term.school]).fetchall()]
    return floor(rows, roster=roster)


# ---------------------------------------------------------------------------
# Report


def summarise(result: dict[str, Any], params: Params, quick: bool) -> dict[str, Any]:
    rows: list[Row] = result["rows"]
    ours = {r.scenario: r for r in rows if r.system == "ours" and r.status == "ok"}
    out_rows = []
    for r in rows:
        d = {
            "scenario": r.scenario,
            "system": r.system,
            "status": r.status,
            "records": r.records,
            "bytes_up": r.bytes_up,
            "bytes_down": r.bytes_down,
            "bytes_total": r.total,
            "round_trips": r.round_trips,
            "connections": r.connections,
            "wall_s": round(r.wall_s, 3),
            "time_scale": r.time_scale,
            "bytes_per_record": round(r.bytes_per_record, 2) if r.bytes_per_record is not None else None,
            **r.extra,
        }
        mine = ours.get(r.scenario)
        if r.system != "ours" and mine is not None and mine.total:
            d["ratio_bytes"] = round(r.total / mine.total, 2)
            d["ratio_round_trips"] = round(r.round_trips / mine.round_trips, 2) if mine.round_trips else None
            d["ratio_wall"] = round(r.wall_s / mine.wall_s, 2) if mine.wall_s else None
        out_rows.append(d)
    derived = _derived(rows)
    return {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
        },
        "params": dataclasses.asdict(params),
        "link": {"rate_bps": SLOW_RATE_BPS, "rtt_s": 2 * SLOW_LATENCY_S, "cut_every_bytes": params.cut_every},
        "ours": result["ours"],
        "rows": out_rows,
        "derived": derived,
        "floor": result["floor"],
    }


def _derived(rows: list[Row]) -> dict[str, Any]:
    """Per system: scenario 2 split into fixed bytes per sync (= the no-op) and bytes per record."""
    out: dict[str, Any] = {}
    by = {(r.scenario, r.system): r for r in rows if r.status == "ok"}
    for system in sorted({r.system for r in rows}):
        delta, noop, bulk = (
            by.get(("2. day delta", system)),
            by.get(("3. no-op", system)),
            by.get(("1. semester bulk", system)),
        )
        d: dict[str, Any] = {}
        if delta and noop and delta.records:
            d["delta_fixed_bytes"] = noop.total
            d["delta_bytes_per_record"] = round((delta.total - noop.total) / delta.records, 2)
        if bulk and bulk.wall_s:
            d["bulk_sync_records_per_s"] = round(bulk.records / bulk.wall_s)
        if d:
            out[system] = d
    return out


def write_results(summary: dict[str, Any], path: Path) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def format_table(summary: dict[str, Any]) -> str:
    head = ("scenario", "system", "bytes up", "bytes down", "rtts", "conns", "wall s", "B/rec", "peer/ours", "notes")
    lines = []
    for d in summary["rows"]:
        if d["status"] != "ok":
            lines.append(
                (d["scenario"], d["system"], "-", "-", "-", "-", "-", "-", "-", f"{d['status']}: {d.get('why', '')}")
            )
            continue
        notes = []
        if d["time_scale"] > 1:
            notes.append(f"time-scaled x{d['time_scale']:g}")
        if "time_vs_ideal" in d:
            notes.append(f"{d['time_vs_ideal']}x ideal ({d['ideal_s']} s)")
        if d.get("resent_bytes") is not None:
            # Runs differ by a few bytes (clocks, MACs): a small negative difference shows as 0.
            notes.append(f"re-sent {max(0, d['resent_bytes']):,} B, {d.get('cuts', 0)} cuts")
        notes += _target_notes(d, summary)
        lines.append(
            (
                d["scenario"],
                d["system"],
                f"{d['bytes_up']:,}",
                f"{d['bytes_down']:,}",
                str(d["round_trips"]),
                str(d["connections"]),
                f"{d['wall_s']:.2f}",
                f"{d['bytes_per_record']:.2f}" if d["bytes_per_record"] is not None else "",
                f"{d['ratio_bytes']}x" if "ratio_bytes" in d else "",
                "; ".join(notes),
            )
        )
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=True)]
    fmt = "  ".join(f"{{:{'<' if i in (0, 1, 9) else '>'}{w}}}" for i, w in enumerate(widths))
    out = [fmt.format(*head), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*line) for line in lines]
    f = summary["floor"]
    out.append("")
    out.append(
        f"floor (scenario 1 records, no shared dictionary): {f['self_contained']['bytes']:,} B = "
        f"{f['self_contained']['bytes_per_record']:.2f} B/record ({f['self_contained']['best']}); "
        f"with the roster known: {f['roster_known']['bytes_per_record']:.2f} B/record"
    )
    for system, d in summary["derived"].items():
        parts = [f"{k}={v}" for k, v in d.items()]
        out.append(f"{system}: " + ", ".join(parts))
    return "\n".join(out)


def _target_notes(d: dict[str, Any], summary: dict[str, Any]) -> list[str]:
    if d["system"] != "ours":
        return []
    s, notes = d["scenario"], []

    def check(ok: bool, text: str) -> None:
        notes.append(("target met: " if ok else "TARGET MISSED: ") + text)

    if s == "1. semester bulk":
        check(d["bytes_per_record"] <= TARGET_BULK_BPR, f"<= {TARGET_BULK_BPR} B/record")
    elif s == "2. day delta":
        der = summary["derived"].get("ours", {})
        if "delta_bytes_per_record" in der:
            check(
                der["delta_bytes_per_record"] <= TARGET_DELTA_BPR and der["delta_fixed_bytes"] <= TARGET_DELTA_FIXED,
                f"<= {TARGET_DELTA_BPR} B/record + {TARGET_DELTA_FIXED} B/sync",
            )
    elif s == "3. no-op":
        check(
            d["round_trips"] == 1 and d["bytes_total"] <= TARGET_NOOP_BYTES, f"1 round trip, <= {TARGET_NOOP_BYTES} B"
        )
    elif s == "4b. slow link, cuts" and d.get("time_vs_ideal") is not None:
        check(d["time_vs_ideal"] <= TARGET_SLOW_RATIO, f"<= {TARGET_SLOW_RATIO}x ideal")
    return notes
