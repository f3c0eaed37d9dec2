"""bench/fleet.py (scenario 5b's harness): the server in its own process, the schools' clients in
worker processes; every school's delta reaches the centre and every sync is counted. No timing
assertions: only that latencies and the server's request times are recorded."""

from __future__ import annotations

import os
import sqlite3

import pytest

import sample
from bench.fleet import CentreProcess, Fleet
from bench.run import YEAR, Params, _register, build_node, with_node
from tests.support.netproxy import NetProxy

SCHOOLS = [f"F{i:05d}" for i in range(3)]


@pytest.mark.parametrize("system", ["ours", "rest"], ids=["ours", "rest"])
def test_fleet_syncs_every_school_from_worker_processes(tmp_path, system):
    params = Params.for_mode(True)
    folders = [tmp_path / "nodes" / code for code in SCHOOLS]
    samples = [
        build_node(f, params, stage="roster", school=code, seed=i, pupils=40)
        for i, (f, code) in enumerate(zip(folders, SCHOOLS, strict=True))
    ]
    location = str(tmp_path / system)
    specs, creds = _register(system, location, folders, SCHOOLS)
    centre = CentreProcess(system, tmp_path / "centre", location=location, creds=creds)
    proxy = NetProxy(centre.port).start()
    fleet = Fleet(specs, concurrency=2, processes=2)
    try:
        assert centre.proc.pid != os.getpid()
        assert not [s.error for s in fleet.setup(proxy.url) if s.error]
        day = sample.school_days(YEAR, 1)[10]
        expected = 0
        for f, s in zip(folders, samples, strict=True):
            counts = with_node(f, lambda db, t, s=s: sample.day_delta(db, t, s, day, seed=1))
            expected += counts["absences"]
        assert expected > 0
        fleet.prepare()
        proxy.reset()
        syncs, wall = fleet.run(proxy.url)
        proxy.wait_idle()
        assert len(syncs) == len(SCHOOLS) and not [s.error for s in syncs if s.error]
        assert all(s.latency_s > 0 and s.client_cpu_s >= 0 for s in syncs) and wall > 0
        assert proxy.reset().round_trips >= len(SCHOOLS)
    finally:
        fleet.close()
        proxy.stop()
        served = centre.stop()
    assert centre.proc.returncode is not None
    # The set-up's requests and the run's: each timed by the server process.
    assert len(served) >= len(SCHOOLS) and all(seconds > 0 for _, seconds in served)
    central = tmp_path / system / "central.sqlite" if system == "ours" else tmp_path / "centre" / "rest" / "rest.sqlite"
    conn = sqlite3.connect(central)
    try:
        held = conn.execute("SELECT COUNT(*) FROM absences").fetchone()[0]
    finally:
        conn.close()
    assert held >= expected
