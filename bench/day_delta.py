"""`python -m bench.day_delta [--backend postgresql|sqlite] [--changes 300000] [--pupils 600] [--samples 12]`:
one school's day delta synced against a grown centre, profiled statement by statement.

The centre is grown as `bench/national.py` grows it (one generated school's roster and
semester replayed under new codes through `apply_push`), to `--changes`. Then each of
`--samples` schools syncs its day's delta (46 changes for a 600-pupil school) once,
through the server's whole request (`server.exchange.handle_sync`: frame decoded,
signature checked, counter burnt, push applied, reply page pulled, sync recorded, reply
encoded and signed), and every statement the request sends to the store is counted and
timed where psycopg (or sqlite3) runs it. Statements sent together in one pipeline
(psycopg's pipeline mode, or `executemany`) are one round trip. Printed: the request's
p50, its statements and round trips, and the statements that cost most. Odd-numbered
schools time the day as `bench/national.py` does instead: `apply_push` in a write transaction,
then the reply pulled page by page in read snapshots (no HTTP frame, no signature).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.national import Centre, Renamer, Template, _pull_all, build_template


@dataclass
class Trace:
    """Statements sent to the store while `on`, by their text (numbers folded)."""

    on: bool = False
    statements: int = 0
    round_trips: int = 0
    ms: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    count: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    order: list[str] = field(default_factory=list)
    _pipeline: int = 0

    def record(self, sql: Any, seconds: float, *, many: bool = False) -> None:
        if not self.on:
            return
        text = re.sub(
            r"\s+", " ", str(getattr(sql, "as_string", lambda _c: sql)(None) if not isinstance(sql, str) else sql)
        )
        text = re.sub(r"\d+", "N", text)[:110]
        self.statements += 1
        if not self._pipeline:
            self.round_trips += 1
        self.ms[text] += seconds * 1000
        self.count[text] += 1
        self.order.append(("  | " if self._pipeline else "") + text)

    def reset(self) -> None:
        self.statements = self.round_trips = 0
        self.ms.clear()
        self.count.clear()
        self.order.clear()


TRACE = Trace()


def _trace_psycopg() -> None:
    """Count and time psycopg's statements (a pipeline's, up to its sync, as one round trip)."""
    import psycopg

    execute, executemany, copy, pipeline = (
        psycopg.Cursor.execute,
        psycopg.Cursor.executemany,
        psycopg.Cursor.copy,
        psycopg.Connection.pipeline,
    )

    def traced_execute(self: Any, query: Any, params: Any = None, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(self, query, params, **kw)
        finally:
            TRACE.record(query, time.perf_counter() - t0)

    def traced_executemany(self: Any, query: Any, params_seq: Any, **kw: Any) -> Any:
        if isinstance(params_seq, list) and not params_seq:
            return executemany(self, query, params_seq, **kw)  # nothing to send: not a statement
        t0 = time.perf_counter()
        try:
            return executemany(self, query, params_seq, **kw)
        finally:
            TRACE.record(query, time.perf_counter() - t0, many=True)

    @contextmanager
    def traced_copy(self: Any, statement: Any, *args: Any, **kw: Any) -> Iterator[Any]:
        t0 = time.perf_counter()
        with copy(self, statement, *args, **kw) as c:
            yield c
        TRACE.record(statement, time.perf_counter() - t0)

    @contextmanager
    def traced_pipeline(self: Any) -> Iterator[Any]:
        t0 = time.perf_counter()
        TRACE._pipeline += 1
        try:
            with pipeline(self) as p:
                yield p
        finally:
            TRACE._pipeline -= 1
            if TRACE.on and not TRACE._pipeline:
                TRACE.round_trips += 1
                TRACE.ms["(pipeline sync)"] += (time.perf_counter() - t0) * 1000
                TRACE.count["(pipeline sync)"] += 1

    psycopg.Cursor.execute = traced_execute  # type: ignore[method-assign]
    psycopg.Cursor.executemany = traced_executemany  # type: ignore[method-assign]
    psycopg.Cursor.copy = traced_copy  # type: ignore[method-assign]
    psycopg.Connection.pipeline = traced_pipeline  # type: ignore[method-assign]


def grow_to(centre: Centre, template: Template, renamer: Renamer, target: int) -> tuple[int, dict[int, int]]:
    """Schools added until the centre holds `target` changes; (schools, each school's pull cursor)."""
    from server.schools import add_school

    total = n = 0
    cursors: dict[int, int] = {}
    while total < target:
        code = renamer.school_code(n)
        add_school(centre.db, code, f"École {code}")
        for part in (template.roster, template.semester):
            changes = renamer.changes(n, part)
            result = centre.push(code, changes)
            if result.applied != len(changes):
                raise RuntimeError(f"{code}: applied {result.applied} of {len(changes)}")
            total += len(changes)
        cursors[n] = _pull_all(centre, code, 0)[0]
        n += 1
    return n, cursors


def sync_day(
    centre: Centre, template: Template, renamer: Renamer, n: int, cursor: int, counter: int
) -> tuple[float, int]:
    """School `n`'s day delta through the server's whole sync request; (seconds, pulled records)."""
    from protocol import capabilities
    from protocol.auth import Credentials, request_mac
    from protocol.messages import SyncRequest, SyncResponse, decode_message, encode_message
    from server.exchange import SYNC_PATH, authenticate, handle_sync, precheck
    from server.schools import find_device

    code = renamer.school_code(n)
    delta = renamer.changes(n, template.day)
    body = encode_message(SyncRequest(code, capabilities.SUPPORTED, cursor, delta, max(c.hlc for c in delta)))
    device = find_device(centre.db, code)
    assert device is not None
    creds = Credentials(code, counter, request_mac(device.node_key, "POST", SYNC_PATH, counter, body))
    gc.collect()
    TRACE.on = True
    t0 = time.perf_counter()
    precheck(centre.db, creds)
    device = authenticate(centre.db, creds, "POST", SYNC_PATH, body)
    reply = handle_sync(centre.db, creds, device, body)
    elapsed = time.perf_counter() - t0
    TRACE.on = False
    response = decode_message(reply.body)
    assert isinstance(response, SyncResponse) and response.acked_seq >= max(c.seq for c in delta)
    return elapsed, len(response.pull)


def push_and_pull(centre: Centre, template: Template, renamer: Renamer, n: int, cursor: int) -> tuple[float, int]:
    """School `n`'s day delta as `bench/national.py` times it: the push's write transaction, then the
    reply's pages in a read snapshot each; (seconds, pulled records)."""
    delta = renamer.changes(n, template.day)
    code = renamer.school_code(n)
    gc.collect()
    TRACE.on = True
    t0 = time.perf_counter()
    centre.push(code, delta)
    _, pulled, _ = _pull_all(centre, code, cursor)
    elapsed = time.perf_counter() - t0
    TRACE.on = False
    return elapsed, pulled


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.day_delta", description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--changes", type=float, default=3e5)
    parser.add_argument("--pupils", type=int, default=600)
    parser.add_argument("--samples", type=int, default=12)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--sequence", action="store_true", help="print the last request's statements in order")
    args = parser.parse_args(argv)
    if args.backend == "postgresql":
        _trace_psycopg()
    with tempfile.TemporaryDirectory(prefix="massar-daydelta-") as work:
        template = build_template(Path(work) / "template", args.pupils)
        renamer = Renamer(template)
        centre = Centre(args.backend, Path(work) / "centre")
        try:
            t0 = time.perf_counter()
            schools, cursors = grow_to(centre, template, renamer, int(args.changes))
            grown_s = time.perf_counter() - t0
            total = int(centre.db.execute("SELECT COUNT(*) FROM _versions").fetchone()[0])
            latencies: dict[str, list[float]] = {"request": [], "national": []}
            statements: dict[str, list[int]] = {"request": [], "national": []}
            trips: dict[str, list[int]] = {"request": [], "national": []}
            per_statement: dict[tuple[str, str], list[float]] = defaultdict(list)
            counts: dict[str, int] = {}
            # Even schools: the server's whole request; odd ones: push then pull, as the national bench times it.
            for i in range(min(args.samples, schools)):
                TRACE.reset()
                if i % 2 == 0:
                    kind, (seconds, _pulled) = "request", sync_day(centre, template, renamer, i, cursors[i], 10**6 + i)
                else:
                    kind, (seconds, _pulled) = "national", push_and_pull(centre, template, renamer, i, cursors[i])
                if args.sequence and kind == "request":
                    sequence = list(TRACE.order)
                latencies[kind].append(seconds * 1000)
                statements[kind].append(TRACE.statements)
                trips[kind].append(TRACE.round_trips)
                for text, ms in TRACE.ms.items():
                    per_statement[(kind, text)].append(ms)
                    counts[text] = TRACE.count[text]
            on_pg = args.backend == "postgresql"
            result = {
                "backend": args.backend,
                "versions": total,
                "schools": schools,
                "grown_s": round(grown_s, 1),
                "day_delta_changes": len(template.day),
                **{
                    f"{kind}_{name}": value
                    for kind, ms in latencies.items()
                    if ms
                    for name, value in (
                        ("samples", len(ms)),
                        ("p50_ms", round(statistics.median(ms), 1)),
                        ("min_ms", round(min(ms), 1)),
                        ("max_ms", round(max(ms), 1)),
                        ("statements", statistics.median(statements[kind]) if on_pg else None),
                        ("round_trips", statistics.median(trips[kind]) if on_pg else None),
                    )
                },
                "load_average_1m": round(os.getloadavg()[0], 2),
            }
            print(json.dumps(result))
            if args.sequence and on_pg:
                print("\n".join(f"{n:3} {text}" for n, text in enumerate(sequence, 1)))
            for kind in latencies if on_pg else ():  # each way's statements, by their median time
                mine = [(text, times) for (k, text), times in per_statement.items() if k == kind]
                print(f"{kind}:")
                for text, times in sorted(mine, key=lambda kv: -statistics.median(kv[1]))[: args.top]:
                    print(f"  {statistics.median(times):7.2f} ms  x{counts[text]:<3} {text}")
        finally:
            centre.close()


if __name__ == "__main__":
    main()
