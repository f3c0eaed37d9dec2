"""Hostile or careless publications (issue 15, points 3 and 7): `massar server publish` refuses a file
whose rows could not travel, naming each bad entry, with nothing written; and a published row that
cannot travel or cannot be stored on a node never stops a node's sync (set aside, reported, the rest
applies)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from server.publish import publish_file
from syncclient.session import SyncSession
from syncclient.status import node_status
from syncclient.store import NodeStore
from tests.support.digests import central_digest

from .faultkit import REPORT, YEAR, CentralThread, central_thread, node_key, run_massar

pytestmark = pytest.mark.faults

SCHOOL = "SP01"


def note(code: str = "NOTE-1", **fields: object) -> dict[str, object]:
    row: dict[str, object] = {
        "code": code,
        "level": "3APIC",
        "published_on": "2025-03-01",
        "title_ar": "التوجيه",
        "title_fr": "Orientation",
        "body_ar": "نص",
        "body_fr": "Texte",
    }
    row.update(fields)
    return row


def coefficient(**fields: object) -> dict[str, object]:
    """An evaluation rule (the subject's coefficient, tests and activities share for a level)."""
    row: dict[str, object] = {
        "since": "2024/2025",
        "level": "1APIC",
        "subject": "FRA",
        "tests": 3,
        "activities_weight": "25%",
        "formula": "weighted",
        "coefficient": 4,
        "exam_coefficient": None,
    }
    row.update(fields)
    return row


def write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def nested(path: Path, depth: int = 100_000) -> None:
    path.write_text('{"guidance_notes": ' + "[" * depth + "]" * depth + "}", encoding="utf-8")


PUBLICATIONS: list = [
    pytest.param(lambda p: write_json(p, {"guidance_notes": [note(body_fr="x" * 2500)]}), ["body_fr"], id="note-of-2500-chars"),
    pytest.param(lambda p: write_json(p, {"evaluation_rules": [coefficient(coefficient=5.5)]}), ["coefficient"], id="coefficient-5.5"),
    pytest.param(lambda p: write_json(p, {"evaluation_rules": [coefficient(coefficient=True)]}), ["coefficient"], id="coefficient-true"),
    pytest.param(lambda p: write_json(p, {"evaluation_rules": [coefficient(coefficient=2**70)]}), ["coefficient"], id="coefficient-2-70"),
    pytest.param(lambda p: write_json(p, {"guidance_notes": [note(title_fr=["a", "list"])]}), ["title_fr"], id="list-value"),
    pytest.param(lambda p: write_json(p, {"guidance_notes": [note(title_fr={"a": 1})]}), ["title_fr"], id="object-value"),
    pytest.param(lambda p: write_json(p, {"guidance_notes": [note(code=["K"])]}), ["code"], id="list-as-key"),
    pytest.param(lambda p: write_json(p, {"guidance_notes": [note(published_on="2025-02-30")]}), ["published_on"], id="impossible-date"),
    pytest.param(
        lambda p: write_json(p, {"guidance_notes": [note("A", body_ar="ب" * 2001), note("B"), note("C", title_ar=7)]}),
        ["row 1", "row 3", "body_ar", "title_ar"],
        id="two-bad-entries-both-named",
    ),
    pytest.param(nested, ["nested too deeply"], id="json-nested-100000-deep"),
    pytest.param(lambda p: p.write_bytes(b'{"guidance_notes": [' + b" " * (17 << 20) + b"]}"), ["MiB"], id="file-over-16-MiB"),
    pytest.param(lambda p: p.write_bytes(b"\xff\xfe{}"), ["UTF-8 JSON"], id="not-utf8"),
]  # fmt: skip


@pytest.mark.parametrize(("make", "named"), PUBLICATIONS)
def test_a_publication_that_could_not_travel_is_refused_whole(tmp_path: Path, make: Callable, named: list[str]) -> None:
    folder = tmp_path / "central"
    assert run_massar("server", "init", "--data", folder).returncode == 0
    good = tmp_path / "good.json"
    write_json(good, {"guidance_notes": [note("GOOD-1")]})
    assert run_massar("server", "publish", good, "--data", folder).returncode == 0
    before = central_digest(folder / "central.sqlite")
    bad = tmp_path / "bad.json"
    make(bad)
    proc = run_massar("server", "publish", bad, "--data", folder)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and proc.stderr.strip(), proc.stderr[-2000:]
    for word in named:
        assert word in proc.stderr, proc.stderr[:2000]
    assert central_digest(folder / "central.sqlite") == before, "a refused publication changed the store"
    REPORT.hostile("hostile_publish")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[CentralThread, NodeStore]]:
    with central_thread(tmp_path / "central") as central:
        token = central.add_school(SCHOOL)
        store = NodeStore.init(
            tmp_path / "node", SCHOOL, year=YEAR, server=central.url, node_key=node_key(SCHOOL, token)
        )
        try:
            yield central, store
        finally:
            store.close()


def sync(store: NodeStore) -> None:
    session = SyncSession(store)
    try:
        result = session.run()
    finally:
        session.close()
    assert result.failures == 0


def notes_on(store: NodeStore) -> set[str]:
    return {r[0] for r in store.db.execute("SELECT code FROM guidance_notes").fetchall()}


def test_a_stored_row_that_cannot_travel_is_set_aside_and_the_rest_reaches_the_node(site, tmp_path: Path) -> None:
    """Rows published before publish checked the wire (written here straight into the central file)."""
    central, store = site
    with central.db() as db:
        publish_file(db, _file(tmp_path, {"guidance_notes": [note("OK-1")]}))
        with db.conn:
            db.conn.execute(
                "INSERT INTO guidance_notes (code, level, published_on, title_ar, title_fr, body_ar, body_fr) "
                "VALUES ('LONG-1', '3APIC', '2025-03-01', 't', 't', 'b', ?)",
                ["x" * 2500],
            )
            db.conn.execute(
                "UPDATE evaluation_rules SET coefficient = 5.5 WHERE rowid = (SELECT MIN(rowid) FROM evaluation_rules)"
            )
        publish_file(db, _file(tmp_path, {"guidance_notes": [note("OK-2")]}))
    sync(store)  # would fail with string_too_long / malformed_message if one row could stop the page
    assert {"OK-1", "OK-2"} <= notes_on(store) and "LONG-1" not in notes_on(store)
    # Corrected and republished, the row arrives.
    with central.db() as db:
        publish_file(db, _file(tmp_path, {"guidance_notes": [note("LONG-1", body_fr="corrigé")]}))
    sync(store)
    assert "LONG-1" in notes_on(store)
    REPORT.hostile("hostile_publish")


def test_a_published_row_the_node_cannot_store_is_set_aside_and_reported(site, tmp_path: Path) -> None:
    """A node whose schema refuses one published row (an older or stricter node) still applies the rest."""
    central, store = site
    store.db.conn.execute(
        "CREATE TRIGGER refuse_bad_note BEFORE INSERT ON guidance_notes WHEN NEW.body_fr = 'refusé ici' "
        "BEGIN SELECT RAISE(ABORT, 'this node refuses the note'); END"
    )
    with central.db() as db:
        publish_file(
            db,
            _file(tmp_path, {"guidance_notes": [note("N-1"), note("N-BAD", body_fr="refusé ici"), note("N-3")]}),
        )
    sync(store)
    assert {"N-1", "N-3"} <= notes_on(store) and "N-BAD" not in notes_on(store)
    status = node_status(store)
    assert [(e["table"], e["key"]) for e in status["set_aside"]] == [("guidance_notes", ["N-BAD"])]
    assert "refuses the note" in status["set_aside"][0]["reason"]
    proc = run_massar("node", "status", "--data", store.path.parent)
    assert "set aside" in proc.stdout and "N-BAD" in proc.stdout, proc.stdout + proc.stderr
    # The next sync is not stuck either, and a corrected version clears the report.
    sync(store)
    with central.db() as db:
        publish_file(db, _file(tmp_path, {"guidance_notes": [note("N-BAD", body_fr="corrigée")]}))
    sync(store)
    assert "N-BAD" in notes_on(store)
    assert node_status(store)["set_aside"] == []
    REPORT.hostile("hostile_publish")


_counter = iter(range(10**6))


def _file(tmp_path: Path, data: object) -> Path:
    path = tmp_path / f"publication-{next(_counter)}.json"
    write_json(path, data)
    return path
