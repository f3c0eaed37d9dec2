"""bench/national.py grows a centre on both engines through the centre's own ingest, and measures what
it says: every replayed change applied, a fresh PC given its school's records, growth stopped at a
deadline with the size reached. No timing or size assertions: benchmarks are not tests."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bench.national import Renamer, Template, build_template, extrapolate, grow
from tests.support.postgres import CENTRAL_BACKENDS


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return build_template(tmp_path_factory.mktemp("template"), pupils=40)


@pytest.fixture(params=CENTRAL_BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "postgresql":
        monkeypatch.setenv("MASSAR_BENCH_POSTGRES", request.getfixturevalue("postgres_dsn"))
    return str(request.param)


def _records(template: Template) -> int:
    """The records one simulated school ends with: its pushes, each record counted once."""
    renamer = Renamer(template)
    changes = renamer.changes(0, [*template.roster, *template.semester, *template.day])
    return len({(c.table, c.key) for c in changes if c.row is not None})


def test_the_centre_grows_school_by_school_and_a_fresh_pc_gets_its_schools_records(
    template: Template, backend: str, tmp_path: Path
) -> None:
    per_school = template.per_school
    run = grow(backend, template, [2 * per_school, 4 * per_school], tmp_path / backend, log=lambda _: None)
    first, second = run["points"]
    assert run["stopped"] is None
    assert (first["schools"], second["schools"]) == (2, 4)
    # Every replayed change was applied (grow raises otherwise), plus the day deltas of the latency samples.
    assert second["changes"] == 4 * per_school + 4 * len(template.day)
    assert first["fresh_pull_records"] == second["fresh_pull_records"] == _records(template)
    assert second["db_bytes"] > first["db_bytes"] > 0
    assert second["sync_p50_ms"] is not None and second["ingest_changes_per_s"] > 0


def test_growth_stops_at_the_deadline_with_a_checkpoint_at_the_size_reached(template: Template, tmp_path: Path) -> None:
    run = grow("sqlite", template, [10**9], tmp_path / "sqlite", log=lambda _: None, stop_at=time.time() + 1)
    assert run["stopped"] == "deadline"
    (point,) = run["points"]
    assert 0 < point["changes"] < 10**9


def test_the_extrapolation_names_what_runs_out_first(template: Template) -> None:
    points = [
        {"changes": 1_000_000, "db_bytes": 300e6, "ingest_changes_per_s": 5000, "sync_p50_ms": 10.0},
        {"changes": 2_000_000, "db_bytes": 600e6, "ingest_changes_per_s": 2500, "sync_p50_ms": 20.0},
    ]
    machine = {"free_disk_bytes_at_start": 60e9, "ram_bytes": 16e9}
    out = extrapolate(points, template, machine)
    assert out["bytes_per_change"] == 300
    # 25,000 syncs a day fill 86,400 s at 3,456 ms each: p50 rises 10 ms a million, so at 345.6 million.
    assert out["this_machine_runs_out"] == {
        "disk_full_at_changes": 200_000_000,
        "database_exceeds_ram_at_changes": 53_333_333,
        "daily_syncs_fill_the_writer_at_changes": 345_600_000,
    }
    assert out["first_to_run_out"] == "database_exceeds_ram_at_changes"
    # The cost per change doubles from 1 to 2 million: 200 us more per million changes.
    assert out["ingest_us_per_change_growth_per_million"] == 200
