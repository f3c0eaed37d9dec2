"""Crashes: SIGKILL the school node's `massar node sync`, or the central `massar server serve`, at random
instants of a large multi-chunk sync; then restart, finish the sync and compare both replicas row by row.
Also SIGKILL `massar node import-grades` in the middle of a big local write.

Every trial is seeded; a failure names the seed (rerun with MASSAR_FAULT_SEED=<seed>).
Process timing is the operating system's, so a seed reproduces the choices, not the exact instants.
"""

from __future__ import annotations

import contextlib
import csv
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import sample
from domain.grades import GradeEntry, record_grades
from domain.pupils import Term
from protocol.tables import BY_NAME
from server.schools import add_school
from server.store import open_central
from syncclient.store import DB_NAME as NODE_DB
from syncclient.store import NodeStore
from tests.support.postgres import CENTRAL_BACKENDS, central_location

from .faultkit import (
    REPO,
    REPORT,
    SCALE,
    SCHOOL_TABLES,
    YEAR,
    ServerProcess,
    central_file,
    child_env,
    free_port,
    massar_argv,
    node_key,
    query,
    table_hashes,
)

pytestmark = pytest.mark.faults

SCHOOL = "SK01"
PUPILS = int(os.environ.get("MASSAR_FAULT_PUPILS", "300"))
CHUNK_BUDGET = 4096  # bytes: forces a many-chunk push (the session doubles it after each good chunk)
KILLS = 50 * SCALE
KILLS_POSTGRES = 16 * SCALE
KILLS_PER_ROUND = 8


class SyncClock:
    """How long `massar node sync` runs for n pending changes, learned from the attempts that finished,
    so that kill instants spread over the whole sync (startup, every chunk, the pull) whatever the machine."""

    def __init__(self) -> None:
        self.startup, self.per_change = 0.4, 1.6e-4

    def expected(self, pending: int) -> float:
        return self.startup + pending * self.per_change

    def learn(self, pending: int, seconds: float) -> None:
        if pending > 1000:
            self.per_change = 0.5 * self.per_change + 0.5 * max(1e-5, (seconds - self.startup) / pending)
        else:
            self.startup = 0.5 * self.startup + 0.5 * seconds


def _seed() -> int:
    raw = os.environ.get("MASSAR_FAULT_SEED")
    return int(raw) if raw else random.SystemRandom().randrange(1 << 32)


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Any assertion failure in the block names the seed."""
    try:
        yield
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n[fault seed {seed}: rerun with MASSAR_FAULT_SEED={seed}]") from exc


@contextlib.contextmanager
def node_store(folder: Path) -> Iterator[NodeStore]:
    store = NodeStore.open(folder)
    try:
        yield store
    finally:
        store.close()


def outbox_count(node: Path) -> int:
    return query(node / NODE_DB, "SELECT COUNT(*) FROM _outbox")[0][0]


def central_school(central: Path | str) -> tuple[int, int]:
    """(acked_seq, last_counter) of the school on the central server."""
    return tuple(query(central_file(central), "SELECT acked_seq, last_counter FROM _devices WHERE id = ?", [SCHOOL])[0])


def central_sseq(central: Path | str) -> int:
    return query(central_file(central), "SELECT sseq FROM _clock")[0][0]


def check_replicas_equal(node: Path, central: Path | str, expected_sseq: int, what: str) -> None:
    """Node and central hold the same rows of the school, once each, every change applied once."""
    node_db, central_db = node / NODE_DB, central_file(central)
    mine, theirs = table_hashes(node_db, SCHOOL), table_hashes(central_db, SCHOOL)
    for table in SCHOOL_TABLES:
        assert mine[table] == theirs[table], f"{what}: {table} differs (node {mine[table]}, central {theirs[table]})"
    assert mine["grades"][0] > 0, what
    # Nothing doubled: one live version per record on the central, a tombstone for every deleted one.
    for table in SCHOOL_TABLES:
        spec = BY_NAME[table]
        live = query(
            central_db,
            "SELECT COUNT(*) FROM _versions WHERE tbl = ? AND school = ? AND deleted = 0",
            [spec.wire_id, SCHOOL],
        )[0][0]
        assert live == theirs[table][0], f"{what}: {table} has {live} live versions for {theirs[table][0]} rows"
    seqs = query(central_db, "SELECT COUNT(*), COUNT(DISTINCT seq) FROM _versions WHERE origin = ?", [SCHOOL])[0]
    assert seqs[0] == seqs[1], f"{what}: one node change recorded for two records"
    # All acknowledged: the server acknowledged the last change the node ever issued, the outbox is empty.
    node_seq = query(node_db, "SELECT seq FROM _clock")[0][0]
    acked, _ = central_school(central)
    assert outbox_count(node) == 0, f"{what}: {outbox_count(node)} change(s) still pending"
    assert acked == node_seq, f"{what}: central acked_seq {acked} != node's last seq {node_seq}"
    # Every change applied exactly once: each accepted change takes one version number, each central
    # correction one; a chunk applied twice would take more.
    assert central_sseq(central) == expected_sseq, (
        f"{what}: central issued {central_sseq(central)} versions, expected {expected_sseq}"
    )


def sync_to_completion(node: Path, log: Path) -> None:
    for _ in range(3):
        proc = subprocess.run(
            massar_argv("node", "sync", "--data", node, "--json", "--timeout", "30"),
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=child_env(),
            cwd=REPO,
            timeout=300,
        )
        with log.open("a", encoding="utf-8") as f:
            f.write(f"final sync rc={proc.returncode}\n{proc.stdout}{proc.stderr}\n")
        if proc.returncode == 0:
            return
    raise AssertionError(f"the node could not finish its sync: {proc.stdout} {proc.stderr}")


def round_work(node: Path, central: Path | str, rnd: int, rng: random.Random, school: list) -> int:
    """Local work of one round on the node, and central corrections; returns the central corrections made."""
    with node_store(node) as store:
        term = store.term
        if rnd == 0:
            school.append(
                sample.make_school(
                    store.db, term, seed=rng.randrange(1 << 30), pupils=PUPILS, classes=max(3, PUPILS // 34)
                )
            )
            sample.semester_grades(store.db, term, school[0], 1, seed=rng.randrange(1 << 30))
        elif rnd == 1:
            sample.semester_grades(store.db, term, school[0], 2, seed=rng.randrange(1 << 30))
            sample.absences(store.db, term, school[0], days=40, seed=rng.randrange(1 << 30))
        else:
            # A bulk re-marking of the tests (not the activities, which the centre corrects), tombstones,
            # a day of absences and justifications, a behaviour incident.
            semester, step = rng.choice((1, 2)), rng.choice((25, 50, 100))
            with store.db.conn:
                store.db.conn.execute("BEGIN IMMEDIATE")
                store.db.conn.execute(
                    "UPDATE grades SET score = (score + ?) % 2001 WHERE school = ? AND semester = ? "
                    "AND assessment < 4 AND score IS NOT NULL",
                    [step, SCHOOL, semester],
                )
                store.db.conn.execute(
                    "DELETE FROM grades WHERE rowid IN (SELECT rowid FROM grades WHERE school = ? AND assessment < 4 "
                    "ORDER BY random() LIMIT 25)",
                    [SCHOOL],
                )
            day = sample.school_days(YEAR, 1)[rng.randrange(40, 80)]
            sample.day_delta(store.db, term, school[0], day, seed=rng.randrange(1 << 30), grade_fixes=0)
            sample.incidents(store.db, term, school[0], seed=rng.randrange(1 << 30) + rnd, count=2)
    if rnd == 0:
        return 0
    # Directorate corrections of activities marks already on the central server.
    db = open_central(central)
    try:
        term = Term(SCHOOL, YEAR)
        targets = db.execute(
            "SELECT pupil, subject, score FROM grades WHERE school = ? AND semester = 1 AND assessment = 5 "
            "AND score IS NOT NULL ORDER BY random() LIMIT 5",
            [SCHOOL],
        ).fetchall()
        entries = [GradeEntry(pupil, subject, 1, 5, sample_score(score, rng)) for pupil, subject, score in targets]
        record_grades(db, term, entries)
        return len(entries)
    finally:
        db.conn.close()


def sample_score(old: int, rng: random.Random):
    from decimal import Decimal

    new = old
    while new == old:
        new = rng.randrange(0, 81) * 25
    return Decimal(new) / 100


@pytest.fixture(params=CENTRAL_BACKENDS)
def central_store(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    return central_location(request, tmp_path / "central")


def test_sigkill_node_or_server_at_random_instants_of_a_large_sync(tmp_path: Path, central_store: Path | str) -> None:
    """On SQLite and on PostgreSQL: the server killed mid-push loses nothing, doubles nothing."""
    seed = _seed()
    rng = random.Random(seed)
    central, node, logs = central_store, tmp_path / "node", tmp_path / "logs"
    # PostgreSQL's half kills the server more often (what it proves) in fewer trials (suite time).
    kills_wanted = KILLS if isinstance(central, Path) else KILLS_POSTGRES
    server_share = 0.4 if isinstance(central, Path) else 0.7
    logs.mkdir()
    db = open_central(central, create=True)
    token = add_school(db, SCHOOL, "Collège des pannes")
    db.conn.close()
    server = ServerProcess(central, free_port(), logs / "server.log")
    NodeStore.init(
        node, SCHOOL, name="Collège des pannes", year=YEAR, server=server.url, node_key=node_key(SCHOOL, token)
    ).close()
    server.start()
    kills = {"node": 0, "server": 0, "mid": 0, "attempts": 0}
    expected_sseq = 0
    clock = SyncClock()
    school: list = []
    rnd = 0
    try:
        with seeded(seed):
            while kills["node"] + kills["server"] < kills_wanted:
                corrections = round_work(node, central, rnd, rng, school)
                pending = outbox_count(node)
                assert pending > 0
                expected_sseq += pending + corrections
                killed_this_round = 0
                while killed_this_round < KILLS_PER_ROUND:
                    with node_store(node) as store:
                        store.set_setting("chunk_budget", CHUNK_BUDGET)
                    _, counter_before = central_school(central)
                    victim = "server" if rng.random() < server_share else "node"
                    pending_now = outbox_count(node)
                    delay = rng.uniform(0.0, 1.1 * clock.expected(pending_now))
                    kills["attempts"] += 1
                    out = (logs / f"sync-{kills['attempts']}.log").open("wb")
                    proc = subprocess.Popen(
                        massar_argv("node", "sync", "--data", node, "--json", "--timeout", "20"),
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        env=child_env(),
                        cwd=REPO,
                    )
                    started = time.monotonic()
                    try:
                        proc.wait(timeout=delay)
                        finished = True
                        clock.learn(pending_now, time.monotonic() - started)
                    except subprocess.TimeoutExpired:
                        finished = False
                    if not finished:
                        if victim == "node":
                            os.kill(proc.pid, signal.SIGKILL)
                            proc.wait()
                        else:
                            server.kill()
                            server.start()
                            proc.wait(timeout=120)  # the node retries, then finishes or gives up
                        kills[victim] += 1
                        killed_this_round += 1
                        if central_school(central)[1] != counter_before:
                            kills["mid"] += 1
                    out.close()
                    text = (logs / f"sync-{kills['attempts']}.log").read_text(encoding="utf-8", errors="replace")
                    assert "Traceback" not in text, (
                        f"attempt {kills['attempts']} ({victim} kill after {delay:.2f}s):\n{text}"
                    )
                    if finished or victim == "server":
                        assert proc.returncode in (0, 1), f"massar node sync exited {proc.returncode}:\n{text}"
                    if finished and proc.returncode == 0:
                        break  # this round's changes are through: new work
                sync_to_completion(node, logs / "final.log")
                check_replicas_equal(
                    node, central, expected_sseq, f"round {rnd} ({pending} changes, {corrections} corrections)"
                )
                rnd += 1
            # The node's own view agrees: nothing pending, no error left from the crashes.
            status = subprocess.run(
                massar_argv("node", "status", "--data", node, "--json"),
                capture_output=True,
                text=True,
                env=child_env(),
                cwd=REPO,
                timeout=60,
            )
            assert '"pending_changes": 0' in status.stdout and '"last_error": null' in status.stdout, status.stdout
    finally:
        server.stop()
        total = kills["node"] + kills["server"]
        REPORT.add("kills", total)
        REPORT.add("kills_node", kills["node"])
        REPORT.add("kills_server", kills["server"])
        REPORT.add("kills_mid_sync", kills["mid"])
        REPORT.add("kill_attempts", kills["attempts"])
        print(f"seed {seed}: {total} kills ({kills}) over {rnd} rounds")
    assert kills["node"] + kills["server"] >= kills_wanted


# --------------------------------------------------------------------------
# A kill in the middle of a local write


GRADE_KEY = BY_NAME["grades"].key


def _grades_and_outbox(path: Path) -> tuple[set, set, int, str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        grades = set(conn.execute("SELECT * FROM grades").fetchall())
        keys = {tuple(r[i] for i in (1, 2, 3, 4, 5)) for r in grades}
        wire = BY_NAME["grades"].wire_id
        outbox = {
            tuple(__import__("json").loads(pk))
            for (pk,) in conn.execute("SELECT pk FROM _outbox WHERE tbl = ?", [wire])
        }
        assert keys == outbox, (
            f"{len(keys - outbox)} grade row(s) without an outbox entry, {len(outbox - keys)} entries without a row"
        )
        seq = conn.execute("SELECT seq FROM _clock").fetchone()[0]
        max_out = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM _outbox").fetchone()[0]
        assert max_out == seq, "the clock and the outbox disagree"
        return grades, keys, seq, ""
    finally:
        conn.close()


def test_sigkill_during_a_local_grade_import_is_all_or_nothing(tmp_path: Path) -> None:
    seed = _seed()
    rng = random.Random(seed)
    base = tmp_path / "base"
    with contextlib.closing(NodeStore.init(base, SCHOOL, year=YEAR)) as store:
        sch = sample.make_school(store.db, store.term, seed=seed % 1000, pupils=PUPILS, classes=max(3, PUPILS // 34))
        sample.semester_grades(store.db, store.term, sch, 1, seed=1)
        # Semester 2 goes to a CSV, generated on a scratch copy.
        scratch = tmp_path / "scratch"
        shutil.copytree(base, scratch)
    with contextlib.closing(NodeStore.open(scratch)) as other:
        sample.semester_grades(other.db, other.term, sch, 2, seed=2)
        rows = other.db.execute(
            "SELECT pupil, subject, semester, assessment, score, absent, justified, remark FROM grades "
            "WHERE semester = 2 ORDER BY pupil, subject, assessment"
        ).fetchall()
    shutil.rmtree(scratch)
    csv_path = tmp_path / "s2.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(("code", "subject", "semester", "assessment", "score", "absent", "justified", "remark"))
        for pupil, subject, sem, a, score, absent, justified, remark in rows:
            w.writerow(
                (
                    pupil,
                    subject,
                    sem,
                    "activities" if a == 5 else a,
                    "" if score is None else f"{score / 100:.2f}",
                    absent,
                    justified,
                    remark or "",
                )
            )

    before = _grades_and_outbox(base / NODE_DB)
    # The full import once: what "all" means, and how long it takes.
    full = tmp_path / "full"
    shutil.copytree(base, full)
    started = time.monotonic()
    proc = subprocess.run(
        massar_argv("node", "import-grades", csv_path, "--data", full),
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=REPO,
        timeout=300,
    )
    duration = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    after = _grades_and_outbox(full / NODE_DB)
    assert len(after[0]) == len(before[0]) + len(rows)

    trials = 6 * SCALE
    outcomes = {"unchanged": 0, "imported": 0}
    with seeded(seed):
        for trial in range(trials):
            folder = tmp_path / f"t{trial}"
            shutil.copytree(base, folder)
            # Half of the kills aimed at the last stretch, where the write transaction runs.
            delay = duration * (rng.uniform(0.0, 1.0) if trial % 2 else rng.uniform(0.75, 1.02))
            p = subprocess.Popen(
                massar_argv("node", "import-grades", csv_path, "--data", folder),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=child_env(),
                cwd=REPO,
            )
            try:
                p.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
                REPORT.add("kills_import")
            state = _grades_and_outbox(folder / NODE_DB)
            if state[0] == before[0]:
                assert state[2] == before[2], f"trial {trial}: data unchanged but the clock moved"
                outcomes["unchanged"] += 1
            else:
                assert state[0] == after[0], f"trial {trial}: a partial import ({len(state[0])} rows)"
                outcomes["imported"] += 1
            shutil.rmtree(folder)
    print(f"seed {seed}: import kills {outcomes}, import takes {duration:.2f}s")


# --------------------------------------------------------------------------
# The school PC dies for good: a new node is installed from scratch


def test_a_node_reinstalled_from_scratch_loses_nothing(tmp_path: Path) -> None:
    from decimal import Decimal

    from server.schools import revoke_school

    from .faultkit import central_thread

    with central_thread(tmp_path / "central") as central:
        token = central.add_school(SCHOOL)
        with contextlib.closing(
            NodeStore.init(tmp_path / "old", SCHOOL, year=YEAR, server=central.url, node_key=node_key(SCHOOL, token))
        ) as old:
            sch = sample.make_school(old.db, old.term, seed=3, pupils=30, classes=3)
            sample.semester_grades(old.db, old.term, sch, 1, seed=3)
            from syncclient.session import sync_once

            sync_once(old.path.parent)
        # The PC is replaced: the operator issues a new token and the school starts a fresh node.
        with central.db() as db:
            revoke_school(db, SCHOOL)
        token = central.add_school(SCHOOL)
        with contextlib.closing(
            NodeStore.init(tmp_path / "new", SCHOOL, year=YEAR, server=central.url, node_key=node_key(SCHOOL, token))
        ) as new:
            sample.make_school(new.db, new.term, seed=3, pupils=30, classes=3)
            pupil = sch.pupils[0]
            subject = sch.subjects[sch.level_of(pupil)][0]
            record_grades(new.db, new.term, [GradeEntry(pupil, subject, 2, 1, Decimal("17.5"))])
            sync_once(new.path.parent)
        got = query(
            central.path,
            "SELECT score FROM grades WHERE pupil = ? AND subject = ? AND semester = 2 AND assessment = 1",
            [pupil, subject],
        )
        assert got == [(1750,)], "the new node's mark was acknowledged but never reached the centre"
