"""`python -m bench --quick` works end to end: a smoke test of the harness, not a benchmark.

No timing or size assertions (benchmarks are not tests): the run exits 0, every scenario
row is in the printed table and in the JSON, with numeric bytes and round trips, and the
committed bench/results.json is left alone (--out). Deselect with `-m "not bench"`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SCENARIOS = (
    "0. roster",
    "1. semester bulk",
    "2. day delta",
    "3. no-op",
    "4a. slow link",
    "4b. slow link, cuts",
    "5a. central ingest, server only",
    "5a. central ingest, server only, PostgreSQL",
    "5a. one large push, end to end",
    "5b. 12 schools' deltas",
    "5b. 12 schools' deltas, PostgreSQL",
    "6a. save a grade sheet",
    "6b. parent's results page (gzip)",
    "6b. parent's results page (no gzip)",
    "7. fresh device restore",
    "8. a week offline, budgeted syncs",
)
PEERS = ("couchdb", "rest")
# Scenarios every system runs (the others are ours or the node's alone).
# Scenarios whose peer rows are still marked "pending" (the peers' harnesses have no restore yet):
# the row must say so, and must not pretend to be a measurement.
PEERS_PENDING = ("7. fresh device restore",)
SHARED = ("0. roster", "1. semester bulk", "2. day delta", "3. no-op", "4a. slow link", "4b. slow link, cuts")


@pytest.mark.bench
def test_quick_bench_runs_every_scenario(tmp_path):
    out = tmp_path / "results.json"
    committed = (REPO / "bench" / "results.json").read_bytes()
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "error"}
    env.pop("MASSAR_BENCH_OURS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (REPO / "bench" / "results.json").read_bytes() == committed

    lines = proc.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("---")) + 1
    table = lines[start : lines.index("", start)]
    assert {line.split("  ")[0].strip() for line in table} == set(SCENARIOS), proc.stdout

    summary = json.loads(out.read_text(encoding="utf-8"))
    assert summary["mode"] == "quick" and summary["ours"] == "included"
    rows = {(r["scenario"], r["system"]): r for r in summary["rows"]}
    assert {scenario for scenario, _ in rows} == set(SCENARIOS)
    for scenario in SHARED:
        assert {("ours", scenario), *((p, scenario) for p in PEERS)} <= {(s, sc) for sc, s in rows}
    for (scenario, system), r in rows.items():
        if system == "morango":
            # A published figure beside ours, labelled as such: no measured number in the row.
            assert (scenario, r["status"], r["published_bytes"], r["published_requests"]) == (
                "7. fresh device restore",
                "published",
                23_000_000,
                106,
            ), r
            assert "not measured here" in r["why"] and r["bytes_total"] == r["round_trips"] == 0, r
            continue
        if system in PEERS and scenario in PEERS_PENDING and r["status"] == "pending":
            assert r["why"] and r["bytes_total"] == 0, (scenario, system, r)
            continue
        assert r["status"] == "ok", (scenario, system, r.get("why"))
        for key in ("bytes_up", "bytes_down", "bytes_total", "round_trips", "connections"):
            assert type(r[key]) is int and r[key] >= 0, (scenario, system, key, r[key])
        assert isinstance(r["wall_s"], int | float)
    assert "floor" in summary and summary["derived"]["ours"]
