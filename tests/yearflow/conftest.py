"""Fixtures of the year-flow suite: a node with pupils at the levels the flow cares about, and the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from domain import pupils
from syncclient.store import NodeStore
from tests.sync.conftest import Central, central, clock, make_node  # noqa: F401  (fixtures shared with the sync suite)
from tests.web.conftest import app, client, make_client, node, node_template  # noqa: F401  (and with the web suite)

YEAR = "2024/2025"  # a past year: every date inside it is in the past, whatever the day
NEXT = "2025/2026"
SCHOOL = "S001"
# code, class, last, first, gender
PUPILS = (
    ("A100000001", "1APIC-2", "ALAOUI", "Sara", "F"),
    ("B100000002", "1APIC-2", "BENANI", "Omar", "M"),
    ("C100000003", "3APIC-1", "CHRAIBI", "Adam", "M"),
    ("D100000004", "3APIC-1", "DOUIRI", "Lina", "F"),
    ("E100000005", "6APG-1", "FASSI", "Youssef", "M"),
)

__all__ = ["Central", "central", "make_node"]


@pytest.fixture
def cli(run_massar, tmp_path: Path) -> Callable[..., object]:
    """cli(*args, check=True): `massar node ARGS --data NODE`; with --json in args, the parsed JSON."""
    data = tmp_path / "node"

    def call(*args: str, check: bool = True):
        proc = run_massar("node", *args, data=data, check=check)
        if "--json" in args and proc.returncode == 0:
            return json.loads(proc.stdout)
        return proc

    call.data = data  # type: ignore[attr-defined]
    return call


@pytest.fixture
def school(cli) -> Callable[..., object]:
    """A node for S001 in 2024/2025 with the PUPILS registered (set up in-process: the CLI is what is tested)."""
    store = NodeStore.init(cli.data, SCHOOL, name="Collège Al Amal", year=YEAR)
    try:
        for code, cls, last, first, gender in PUPILS:
            pupils.register_pupil(
                store.db, store.term, class_code=cls, last_name=last, first_name=first, gender=gender, code=code
            )
    finally:
        store.close()
    return cli
