"""Shared fixtures: a fresh school node, its store, CSV writers and the real `massar` CLI."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import pytest

from syncclient.store import NodeStore
from tests.support.digests import database_digest

REPO = Path(__file__).resolve().parent.parent

# One school and a past school year, so that every date used in tests is both
# inside the year and not in the future, whatever day the suite runs.
SCHOOL = "S001"
OTHER_SCHOOL = "S999"
YEAR = "2024/2025"

ROSTER_HEADER = ("code", "last_name", "first_name", "gender", "birth_date", "birth_place", "level", "class")


def init_node(folder: Path, school: str = SCHOOL, year: str = YEAR) -> Path:
    NodeStore.init(folder, school, name=f"École {school}", year=year).close()
    return folder


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
    return path


@pytest.fixture
def node_dir(tmp_path: Path) -> Path:
    """A freshly initialised node folder (school S001, year 2024/2025)."""
    return init_node(tmp_path / "node")


@pytest.fixture
def store(node_dir: Path) -> Iterator[NodeStore]:
    s = NodeStore.open(node_dir)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def write_roster(tmp_path: Path) -> Callable[..., Path]:
    """write_roster(rows, name="roster.csv"): a roster CSV with the contract's header."""

    def write(rows: Iterable[Sequence[object]], name: str = "roster.csv") -> Path:
        return write_csv(tmp_path / name, ROSTER_HEADER, rows)

    return write


def _run_massar(*args: str, data: Path | str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "cli", *map(str, args)]
    if data is not None:
        # a test's centre may live in PostgreSQL (tests/support/postgres.py): its URL goes to --database
        argv += ["--database" if str(data).startswith("postgresql://") else "--data", str(data)]
    env = {k: v for k, v in os.environ.items() if k != "MASSAR_DATA"}
    env["PYTHONIOENCODING"] = "utf-8"
    proc = subprocess.run(argv, capture_output=True, text=True, encoding="utf-8", env=env, cwd=REPO, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc


@pytest.fixture
def digest() -> Callable[[Path], str]:
    """digest(node_dir): a hash of every row of the node's database."""
    return lambda folder: database_digest(Path(folder) / "node.sqlite")


@pytest.fixture
def run_massar() -> Callable[..., subprocess.CompletedProcess[str]]:
    """run_massar(*args, data=DIR, check=True): the real CLI in a subprocess, MASSAR_DATA unset."""
    return _run_massar


# PostgreSQL: one throwaway cluster per session, a fresh database per test (tests/support/postgres.py).
from tests.support.postgres import postgres_dsn, postgres_server  # noqa: E402, F401
