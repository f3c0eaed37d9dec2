"""Hostile input against the central HTTP API: malformed frames and messages, bombs, bad auth, replays,
scope violations, out-of-range values. Every case is built from a valid request (protocol.messages and
protocol.auth) and then corrupted. Each must get a 4xx with its machine-readable code, leave the central
store unchanged (hash of every table), and the server must go on serving other schools."""

from __future__ import annotations

import itertools
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import zstandard

import sample
from protocol import capabilities
from protocol.auth import authorization_header
from protocol.framing import encode_frame, pack_body
from protocol.messages import SyncRequest, SyncResponse, decode_message, encode_message
from protocol.records import Change
from protocol.tables import BY_NAME
from protocol.version import MAGIC, PROTOCOL_VERSION
from syncclient.session import SyncSession
from syncclient.store import NodeStore
from tests.support.digests import central_digest, node_digest
from tests.support.postgres import CENTRAL_BACKENDS, create_database, drop_database

from .faultkit import (
    NATIONAL_TABLES,
    REPORT,
    SCHOOL_TABLES,
    YEAR,
    CentralThread,
    central_thread,
    node_key,
    query,
    table_hashes,
)

ALL_SYNCED = SCHOOL_TABLES + NATIONAL_TABLES

pytestmark = pytest.mark.faults

ME, OTHER, REVOKED = "SH01", "SH02", "SH03"
PATH = "/s"


@dataclass
class World:
    central: CentralThread
    client: httpx.Client
    keys: dict[str, bytes]
    other_node: NodeStore
    mine: dict[str, object] = field(default_factory=dict)  # facts about the central data, for building rows
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(int(time.time() * 1000) * 1000))

    def acked(self, school: str = ME) -> int:
        return query(self.central.path, "SELECT acked_seq FROM _devices WHERE id = ?", [school])[0][0]

    def headers(
        self, body: bytes, school: str = ME, key: bytes | None = None, counter: int | None = None, path: str = PATH
    ) -> dict[str, str]:
        counter = next(self.counter) if counter is None else counter
        return {"authorization": authorization_header(school, counter, key or self.keys[school], "POST", path, body)}

    def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return self.client.post(PATH, content=body, headers=headers)


@pytest.fixture(scope="module", params=CENTRAL_BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One centre per engine (SQLite, PostgreSQL) for the whole module: every hostile case runs on both."""
    root = tmp_path_factory.mktemp("hostile")
    store: Path | str = root / "central"
    if request.param == "postgresql":
        admin = request.getfixturevalue("postgres_server")
        store = create_database(admin)
        request.addfinalizer(lambda: drop_database(admin, str(store)))
    with central_thread(store) as central:
        keys, nodes = {}, {}
        for code in (ME, OTHER, REVOKED):
            token = central.add_school(code)
            keys[code] = bytes.fromhex(node_key(code, token))
        mix = {"1APIC": 0.5, "3AP": 0.5}  # a collège level (/20) and a primary level (/10)
        for code, seed in ((ME, 1), (OTHER, 2)):
            store = NodeStore.init(root / code, code, year=YEAR, server=central.url, node_key=keys[code].hex())
            sch = sample.make_school(store.db, store.term, seed=seed, pupils=12, classes=2, level_mix=mix)
            sample.semester_grades(store.db, store.term, sch, 1, seed=seed)
            sample.absences(store.db, store.term, sch, days=10, seed=seed)
            session = SyncSession(store)
            try:
                session.run()
            finally:
                session.close()
            nodes[code] = (store, sch)
        nodes[ME][0].close()
        with central.db() as db:
            from server.schools import revoke_school

            revoke_school(db, REVOKED)
        me_sample, other_sample = nodes[ME][1], nodes[OTHER][1]
        with httpx.Client(base_url=central.url, timeout=30) as client:
            w = World(central, client, keys, nodes[OTHER][0])
            w.mine = {
                "college_pupil": next(p for p in me_sample.pupils if me_sample.level_of(p) == "1APIC"),
                "primary_pupil": next(p for p in me_sample.pupils if me_sample.level_of(p) == "3AP"),
                "other_pupil": other_sample.pupils[0],
                "other_grade": query(central.path, "SELECT * FROM grades WHERE school = ? LIMIT 1", [OTHER])[0],
            }
            try:
                yield w
            finally:
                nodes[OTHER][0].close()


# --------------------------------------------------------------------------
# Building requests


def grade_row(pupil: str, score: int | None = 1250, subject: str = "FRA", school: str = ME, **kw) -> tuple:
    row = dict(
        school=school,
        year=YEAR,
        pupil=pupil,
        subject=subject,
        semester=2,
        assessment=1,
        score=score,
        absent=0 if score is not None else 1,
        justified=0,
        remark=None,
    )
    row.update(kw)
    return tuple(row[c] for c in BY_NAME["grades"].column_names)


def change(w: World, table: str, row: tuple | None, key: tuple | None = None, i: int = 0) -> Change:
    spec = BY_NAME[table]
    key = key if key is not None else tuple(row[j] for j in spec.key_indexes)
    return Change(table, key, row, ME, w.acked() + 1 + i, int(time.time() * 1000) << 16)


def request(w: World, changes: list[Change], *, node: str = ME, **fields) -> SyncRequest:
    args = dict(
        node=node,
        capabilities=capabilities.SUPPORTED,
        pull_cursor=0,
        push=changes,
        node_hlc=int(time.time() * 1000) << 16,
    )
    args.update(fields)
    return SyncRequest(**args)


def good_changes(w: World) -> list[Change]:
    """A valid change of my school, sent along with each bad one: the whole push must be refused."""
    return [change(w, "grades", grade_row(w.mine["college_pupil"], 1475, subject="ARA"), i=0)]


def frame_of(
    obj: object,
    *,
    version: int = PROTOCOL_VERSION,
    dict_id: int = 0,
    declared: int | None = None,
    payload: bytes | None = None,
    compressed: bytes | None = None,
) -> bytes:
    """A frame by hand (plain zstd), any field overridable, CRC recomputed."""
    body = pack_body(obj) if payload is None else payload
    n = len(body) if declared is None else declared
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            break
    if compressed is None:
        compressed = zstandard.ZstdCompressor(
            level=3, write_checksum=False, write_content_size=False, write_dict_id=False
        ).compress(body)
    frame = MAGIC + bytes((version, dict_id)) + bytes(out) + compressed
    return frame + zlib.crc32(frame).to_bytes(4, "big")


def wire(w: World, changes: list[Change] | None = None, **fields) -> list:
    return request(w, good_changes(w) if changes is None else changes, **fields).to_wire()


def loose(w: World, changes: list[Change]) -> bytes:
    """A request whose batch is packed without the sender's own limits (as a hostile node would)."""
    from protocol.batch import encode_batch
    from protocol.limits import Limits

    obj = wire(w, [])
    obj[6] = encode_batch(changes, with_origin=False, limits=Limits(max_string_chars=10**6))
    return encode_frame(obj)


def with_field(w: World, index: int, value: object) -> bytes:
    obj = wire(w)
    obj[index] = value
    return frame_of(obj)


# Each case: (build(world) -> (body, headers)), expected status, expected error code.
Case = Callable[[World], tuple[bytes, dict[str, str]]]


def signed(build: Callable[[World], bytes]) -> Case:
    def case(w: World) -> tuple[bytes, dict[str, str]]:
        body = build(w)
        return body, w.headers(body)

    return case


def valid(w: World, changes: list[Change] | None = None, **fields) -> bytes:
    return encode_message(request(w, good_changes(w) if changes is None else changes, **fields))


def flipped(data: bytes, at: int) -> bytes:
    b = bytearray(data)
    b[at] ^= 0x10
    return bytes(b)


def bomb(w: World) -> bytes:
    # 16 MiB of zeros compress to a few hundred bytes; the header says 100.
    zeros = b"\0" * (16 << 20)
    return frame_of(None, declared=100, payload=zeros)


def honest_bomb(w: World) -> bytes:
    # Declares exactly its 16 MiB (the limit): decompressed within bounds, then refused as not a message.
    return frame_of(None, payload=b"\x90" * (16 << 20))


def corrupt_zstd(w: World) -> bytes:
    body = pack_body(wire(w))
    good = zstandard.ZstdCompressor(
        level=3, write_checksum=False, write_content_size=False, write_dict_id=False
    ).compress(body)
    return frame_of(None, payload=body, compressed=good[:6] + bytes(x ^ 0x55 for x in good[6:]))


def replay(w: World) -> tuple[bytes, dict[str, str]]:
    body = valid(w, [])
    headers = w.headers(body)
    first = w.post(body, headers)
    assert first.status_code == 200, first.text
    return body, headers


def replay_older(w: World) -> tuple[bytes, dict[str, str]]:
    body = valid(w, [])
    last = query(w.central.path, "SELECT last_counter FROM _devices WHERE id = ?", [ME])[0][0]
    return body, w.headers(body, counter=last - 1)


def tampered(w: World) -> tuple[bytes, dict[str, str]]:
    body = valid(w)
    headers = w.headers(body)
    other = valid(w, [change(w, "grades", grade_row(w.mine["college_pupil"], 0, subject="ARA"))])
    return other, headers


def other_school_row(w: World) -> list[Change]:
    g = w.mine["other_grade"]
    return [*good_changes(w), change(w, "grades", tuple(g[:6]) + (1000, 0, 0, "pwned"), i=1)]


def squat_other_pupil(w: World) -> list[Change]:
    """A grade of the other school's pupil, filed under my school's code."""
    row = grade_row(w.mine["other_pupil"], 50, subject="FRA", semester=2, assessment=4)
    return [*good_changes(w), change(w, "grades", row, i=1)]


def steal_pupil(w: World) -> list[Change]:
    row = query(w.central.path, "SELECT * FROM pupils WHERE code = ?", [w.mine["other_pupil"]])[0]
    return [*good_changes(w), change(w, "pupils", (row[0], ME, *row[2:]), i=1)]


def delete_other(w: World) -> list[Change]:
    g = w.mine["other_grade"]
    key = tuple(g[i] for i in BY_NAME["grades"].key_indexes)
    return [*good_changes(w), change(w, "grades", None, key=key, i=1)]


def national_row(w: World) -> list[Change]:
    return [*good_changes(w), change(w, "subjects", ("FR", "الفرنسية", "Piraté", "9999"), i=1)]


def absence_row(w: World, day: str, hours: int = 3, **kw) -> list[Change]:
    row = dict(
        school=ME,
        pupil=w.mine["college_pupil"],
        day=day,
        hours=hours,
        justified=0,
        reason=None,
        justified_on=None,
        recorded_by="test",
    )
    row.update(kw)
    return [*good_changes(w), change(w, "absences", tuple(row[c] for c in BY_NAME["absences"].column_names), i=1)]


def pupil_row(w: World, **kw) -> list[Change]:
    row = dict(
        code="Z999999999",
        school=ME,
        last_name="NOUVEAU",
        first_name="ELEVE",
        last_name_ar=None,
        first_name_ar=None,
        gender="M",
        birth_date="2012-05-01",
        birth_place="Fès",
        provisional=0,
    )
    row.update(kw)
    return [*good_changes(w), change(w, "pupils", tuple(row[c] for c in BY_NAME["pupils"].column_names), i=1)]


def bad_grade(w: World, **kw) -> list[Change]:
    pupil = kw.pop("pupil", w.mine["college_pupil"])
    return [*good_changes(w), change(w, "grades", grade_row(pupil, **kw), i=1)]


def class_row(w: World, code: str, level: str) -> list[Change]:
    return [*good_changes(w), change(w, "classes", (ME, YEAR, code, level), i=1)]


def body_frame(build_changes: Callable[[World], list[Change]]) -> Case:
    return signed(lambda w: valid(w, build_changes(w)))


CASES = [
    # Frames
    pytest.param(signed(lambda w: b""), 400, "truncated_frame", id="empty-body"),
    pytest.param(signed(lambda w: b"hello, server"), 400, "bad_frame", id="not-a-frame"),
    pytest.param(signed(lambda w: b"MZ"), 400, "truncated_frame", id="magic-only"),
    pytest.param(signed(lambda w: b"PK" + valid(w)[2:]), 400, "bad_frame", id="bad-magic"),
    pytest.param(
        signed(lambda w: frame_of(wire(w), version=PROTOCOL_VERSION + 1)),
        426,
        "unsupported_version",
        id="newer-protocol-version",
    ),
    pytest.param(
        signed(lambda w: frame_of(wire(w), version=0)), 426, "unsupported_version", id="older-protocol-version"
    ),
    pytest.param(signed(lambda w: flipped(valid(w), 12)), 400, "checksum_mismatch", id="flipped-bit-valid-signature"),
    pytest.param(signed(lambda w: valid(w)[:-9]), 400, "checksum_mismatch", id="truncated-frame-valid-signature"),
    pytest.param(signed(lambda w: valid(w) + b"\0\0\0\0"), 400, "checksum_mismatch", id="trailing-garbage"),
    pytest.param(
        signed(lambda w: frame_of(wire(w), dict_id=200)), 400, "unknown_dictionary", id="unknown-dictionary-id"
    ),
    pytest.param(
        signed(lambda w: frame_of(wire(w), declared=(1 << 32) - 1)), 413, "payload_too_large", id="huge-declared-length"
    ),
    pytest.param(
        signed(lambda w: frame_of(wire(w), declared=3)), 413, "payload_too_large", id="declared-length-too-small"
    ),
    pytest.param(
        signed(lambda w: frame_of(wire(w), declared=1 << 20)), 400, "truncated_frame", id="declared-length-too-large"
    ),
    pytest.param(
        signed(lambda w: frame_of(wire(w))[:4] + b"\xff\xff\xff\xff\xff\x0f" + frame_of(wire(w))[5:]),
        400,
        "checksum_mismatch",
        id="overlong-varint-length",
    ),
    pytest.param(
        signed(
            lambda w: (lambda f: f + zlib.crc32(f).to_bytes(4, "big"))(
                MAGIC + bytes((PROTOCOL_VERSION, 0)) + b"\x80\x80\x80\x80\x80\x01" + b"x"
            )
        ),
        400,
        "bad_frame",
        id="six-byte-varint-length",
    ),
    pytest.param(signed(bomb), 413, "payload_too_large", id="zstd-bomb-lying-length"),
    pytest.param(signed(honest_bomb), 400, "malformed_message", id="zstd-bomb-at-the-limit"),
    pytest.param(signed(corrupt_zstd), 400, "bad_frame", id="corrupt-zstd-stream"),
    pytest.param(
        lambda w: (lambda b: (b, w.headers(b)))(b"MZ" + b"\0" * (4 * 1024 * 1024 + 1)),
        413,
        "body_too_large",
        id="body-over-4-MiB",
    ),
    # Messages
    pytest.param(
        signed(lambda w: frame_of(None, payload=b"\xc1")), 400, "malformed_message", id="msgpack-reserved-byte"
    ),
    pytest.param(
        signed(lambda w: frame_of(None, payload=b"\x97\x01")), 400, "malformed_message", id="msgpack-truncated-array"
    ),
    pytest.param(signed(lambda w: frame_of({"type": 1})), 400, "malformed_message", id="a-map-not-an-array"),
    pytest.param(signed(lambda w: frame_of([])), 400, "malformed_message", id="empty-array"),
    pytest.param(signed(lambda w: frame_of([9, ME])), 400, "malformed_message", id="unknown-message-type"),
    pytest.param(
        signed(lambda w: encode_message(SyncResponse(frozenset(), 0, 1, [], 0, False, 1, 0))),
        400,
        "malformed_message",
        id="a-response-sent-to-the-server",
    ),
    pytest.param(signed(lambda w: frame_of(wire(w)[:6])), 400, "malformed_message", id="missing-field"),
    pytest.param(signed(lambda w: frame_of([*wire(w), 0])), 400, "malformed_message", id="extra-field"),
    pytest.param(signed(lambda w: with_field(w, 1, 1234)), 400, "malformed_message", id="node-not-a-string"),
    pytest.param(signed(lambda w: with_field(w, 1, "S" * 65)), 413, "string_too_long", id="node-name-too-long"),
    pytest.param(signed(lambda w: valid(w, [], node=OTHER)), 403, "scope_violation", id="speaks-for-another-school"),
    pytest.param(signed(lambda w: with_field(w, 2, "zstd")), 400, "malformed_message", id="capabilities-not-a-list"),
    pytest.param(
        signed(lambda w: with_field(w, 2, [f"c{i}" for i in range(200)])),
        400,
        "malformed_message",
        id="too-many-capabilities",
    ),
    pytest.param(signed(lambda w: with_field(w, 3, -1)), 400, "malformed_message", id="negative-pull-cursor"),
    pytest.param(signed(lambda w: with_field(w, 3, 1 << 63)), 400, "malformed_message", id="pull-cursor-over-63-bits"),
    pytest.param(signed(lambda w: with_field(w, 3, "0")), 400, "malformed_message", id="pull-cursor-a-string"),
    pytest.param(signed(lambda w: with_field(w, 4, -5)), 400, "bad_clock", id="negative-clock"),
    pytest.param(signed(lambda w: with_field(w, 5, 1)), 400, "malformed_message", id="want-pull-not-a-boolean"),
    pytest.param(
        signed(lambda w: with_field(w, 6, [[[99, 1, [], [], [], [], [], [], []]], None])),
        400,
        "malformed_message",
        id="unknown-table-id",
    ),
    pytest.param(
        signed(lambda w: with_field(w, 6, [[[14, -3, [], [], [], [], [], [], []]], None])),
        400,
        "malformed_message",
        id="negative-record-count",
    ),
    pytest.param(
        signed(lambda w: with_field(w, 6, [[[14, 1 << 40, [], [], [], [], [], [], []]], None])),
        413,
        "too_many_records",
        id="huge-record-count",
    ),
    pytest.param(signed(lambda w: with_field(w, 6, "batch")), 400, "malformed_message", id="batch-not-a-list"),
    pytest.param(
        signed(lambda w: frame_of(None, payload=b"\xdd\x00\x02\x00\x00" + b"\xc0" * 10)),
        413,
        "too_many_records",
        id="msgpack-array-over-the-limit",
    ),
    pytest.param(
        signed(lambda w: frame_of(None, payload=b"\xdb\x7f\xff\xff\xff" + b"a" * 10)),
        400,
        "malformed_message",
        id="msgpack-string-length-2-GiB",
    ),
    # Authentication and replays
    pytest.param(lambda w: (valid(w), {}), 401, "bad_auth_header", id="no-authorization"),
    pytest.param(
        lambda w: (valid(w), {"authorization": "Bearer 0123456789"}), 401, "bad_auth_header", id="wrong-auth-scheme"
    ),
    pytest.param(
        lambda w: (valid(w), {"authorization": f"M {ME}:-1:" + "A" * 22}), 401, "bad_auth_header", id="negative-counter"
    ),
    pytest.param(
        lambda w: (valid(w), {"authorization": f"M {ME}:99999999999999999999:" + "A" * 22}),
        401,
        "bad_auth_header",
        id="counter-over-19-digits",
    ),
    pytest.param(
        lambda w: (valid(w), {"authorization": f"M {ME}:{2**63}:" + "A" * 22}),
        401,
        "bad_auth_header",
        id="counter-over-2-63",
    ),
    pytest.param(
        lambda w: (lambda b: (b, w.headers(b, school="ZZ99", key=w.keys[ME])))(valid(w, node="ZZ99", changes=[])),
        401,
        "unauthorized",
        id="unknown-school",
    ),
    pytest.param(
        lambda w: (lambda b: (b, w.headers(b, key=b"\0" * 32)))(valid(w)), 401, "unauthorized", id="wrong-key"
    ),
    pytest.param(
        lambda w: (lambda b: (b, w.headers(b, school=OTHER, key=w.keys[ME])))(valid(w, node=OTHER, changes=[])),
        401,
        "unauthorized",
        id="signed-with-another-schools-key",
    ),
    pytest.param(
        lambda w: (lambda b: (b, w.headers(b, path="/x")))(valid(w)), 401, "unauthorized", id="signed-for-another-path"
    ),
    pytest.param(tampered, 401, "unauthorized", id="tampered-body"),
    pytest.param(replay, 401, "unauthorized", id="replayed-request"),
    pytest.param(replay_older, 401, "unauthorized", id="older-counter"),
    pytest.param(
        lambda w: (lambda b: (b, w.headers(b, school=REVOKED)))(valid(w, node=REVOKED, changes=[])),
        401,
        "unauthorized",
        id="revoked-token",
    ),
    pytest.param(
        signed(lambda w: loose(w, bad_grade(w, remark="x" * 2001))), 413, "string_too_long", id="remark-over-2000-chars"
    ),
    pytest.param(
        signed(lambda w: loose(w, pupil_row(w, first_name="ب" * 2001))),
        413,
        "string_too_long",
        id="arabic-name-over-2000-chars",
    ),
    pytest.param(
        signed(lambda w: loose(w, pupil_row(w, first_name="ب" * 500_000))),
        413,
        "string_too_long",
        id="string-of-a-megabyte",
    ),
]


# Rows a school may not write are refused one by one (SPEC 10.4): the answer is 200 and names the
# refused change with its code; nothing of it reaches the centre's data.
ROW_CASES = [
    # Scope
    pytest.param(body_frame(other_school_row), id="another-schools-row"),
    pytest.param(body_frame(delete_other), id="delete-another-schools-row"),
    pytest.param(body_frame(steal_pupil), id="steal-another-schools-pupil"),
    pytest.param(body_frame(squat_other_pupil), id="grade-for-another-schools-pupil"),
    pytest.param(body_frame(national_row), id="national-table-row"),
    # Values
    pytest.param(body_frame(lambda w: bad_grade(w, score=2500)), id="score-25-of-20-college"),
    pytest.param(
        body_frame(lambda w: bad_grade(w, pupil=w.mine["primary_pupil"], score=1500)),
        id="score-15-of-10-primary",
    ),
    pytest.param(body_frame(lambda w: bad_grade(w, score=-100)), id="negative-score"),
    pytest.param(body_frame(lambda w: bad_grade(w, score=1000, absent=1)), id="score-and-absent"),
    pytest.param(body_frame(lambda w: bad_grade(w, assessment=9)), id="assessment-9"),
    pytest.param(body_frame(lambda w: bad_grade(w, semester=3)), id="semester-3"),
    pytest.param(body_frame(lambda w: absence_row(w, "2024-11-04", hours=0)), id="absence-of-no-hour"),
    pytest.param(
        body_frame(lambda w: absence_row(w, "2024-11-04", hours=512)),
        id="absence-hours-out-of-range",
    ),
    pytest.param(body_frame(lambda w: absence_row(w, "9999-12-31")), id="absence-in-year-9999"),
    pytest.param(body_frame(lambda w: absence_row(w, "0001-01-01")), id="absence-in-year-1"),
    pytest.param(body_frame(lambda w: pupil_row(w, birth_date="2999-01-01")), id="birth-date-in-the-future"),
    pytest.param(body_frame(lambda w: pupil_row(w, gender="X")), id="gender-X"),
    pytest.param(body_frame(lambda w: pupil_row(w, last_name=None)), id="missing-name"),
    # Values the node itself would refuse (issue 15, point 10)
    pytest.param(body_frame(lambda w: bad_grade(w, subject="XYZ9")), id="unknown-subject"),
    pytest.param(body_frame(lambda w: bad_grade(w, year="1999/3000")), id="year-1999-3000"),
    pytest.param(body_frame(lambda w: bad_grade(w, year="2024-2025")), id="year-malformed"),
    pytest.param(body_frame(lambda w: pupil_row(w, code="Z" * 2000)), id="pupil-code-of-2000-chars"),
    pytest.param(body_frame(lambda w: pupil_row(w, code="z999999999")), id="pupil-code-lowercase"),
    pytest.param(body_frame(lambda w: class_row(w, "9ZZ-1", "9ZZ")), id="unknown-level"),
    pytest.param(body_frame(lambda w: class_row(w, "1APIC-7", "3AP")), id="class-code-of-another-level"),
]
ROW_CODES = {
    "unknown-subject": "invalid_value",
    "year-1999-3000": "invalid_value",
    "year-malformed": "invalid_value",
    "pupil-code-of-2000-chars": "invalid_value",
    "pupil-code-lowercase": "invalid_value",
    "unknown-level": "invalid_value",
    "class-code-of-another-level": "invalid_value",
    "another-schools-row": "other_school",
    "delete-another-schools-row": "foreign_pupil",
    "steal-another-schools-pupil": "foreign_pupil",
    "grade-for-another-schools-pupil": "foreign_pupil",
    "national-table-row": "national_table",
    "score-25-of-20-college": "invalid_row",
    "score-15-of-10-primary": "out_of_scale",
    "absence-in-year-9999": "bad_date",
    "absence-in-year-1": "bad_date",
    "birth-date-in-the-future": "bad_date",
}


def _record(path, change: Change) -> object:
    spec = BY_NAME[change.table]
    where = " AND ".join(f"{k} = ?" for k in spec.key)
    return query(path, f"SELECT * FROM {change.table} WHERE {where}", list(change.key))


@pytest.mark.parametrize("build", ROW_CASES)
def test_a_hostile_row_is_refused_alone_with_its_code_and_the_rest_applies(world: World, build: Case, request) -> None:
    body, headers = build(world)
    pushed = decode_message(body)
    assert isinstance(pushed, SyncRequest)
    *good, bad = pushed.push
    before = _record(world.central.path, bad)
    reply = world.post(body, headers)
    assert reply.status_code == 200, f"{reply.status_code} {reply.text[:300]}"
    answer = decode_message(reply.content)
    assert isinstance(answer, SyncResponse)
    case = request.node.callspec.id.removeprefix(f"{request.node.callspec.params['world']}-")  # the engine's id
    expected = ROW_CODES.get(case, "invalid_row")
    assert [(r.seq, r.code) for r in answer.refused] == [(bad.seq, expected)], answer.refused
    assert all(r.reason for r in answer.refused)
    assert answer.acked_seq == max(c.seq for c in pushed.push)
    assert _record(world.central.path, bad) == before, "a refused row changed the centre"
    for c in good:  # the rest of the push applied
        assert _record(world.central.path, c), f"{c.table} {c.key} did not apply"
    session = SyncSession(world.other_node)
    try:
        result = session.run()
    finally:
        session.close()
    assert result.requests >= 1 and result.failures == 0
    REPORT.add("hostile")
    REPORT.add("hostile_api")


@pytest.mark.parametrize(("build", "status", "code"), CASES)
def test_hostile_request_is_refused_with_its_code_and_changes_nothing(
    world: World, build: Case, status: int, code: str
) -> None:
    body, headers = build(world)
    before = central_digest(world.central.path)
    reply = world.post(body, headers)
    assert reply.status_code == status, f"{reply.status_code} {reply.text[:300]}"
    assert 400 <= reply.status_code < 500
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.json()["error"] == code, reply.text[:300]
    assert central_digest(world.central.path) == before, "a refused request changed the central store"
    # The server goes on serving: a good sync of another school succeeds right after.
    session = SyncSession(world.other_node)
    try:
        result = session.run()
    finally:
        session.close()
    assert result.requests >= 1 and result.failures == 0
    REPORT.add("hostile")
    REPORT.add("hostile_api")


def test_there_are_at_least_forty_distinct_cases() -> None:
    ids = [p.id for p in CASES]
    assert len(ids) == len(set(ids)) >= 40


# --------------------------------------------------------------------------
# Odd but legitimate text: stored verbatim, nothing executed


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("\u200fمحمد\u200f \u202bالعلوي\u202c", id="arabic-with-rtl-marks"),
        pytest.param("Sara\0Alaoui\0", id="nul-bytes"),
        pytest.param("Robert'); DROP TABLE grades;--", id="sql-drop-table"),
        pytest.param("' OR 1=1; DELETE FROM _versions WHERE '1'='1", id="sql-delete"),
        pytest.param("𝕄𝕒𝕤𝕤𝕒𝕣 🇲🇦 \u0301\ufeff", id="astral-and-combining"),
    ],
)
def test_odd_text_is_stored_verbatim_and_nothing_is_executed(world: World, text: str) -> None:
    """NUL bytes inside a string are accepted and stored intact: the central server is a replica of the
    school's records, not their judge, and refusing them would block the school's sync for good."""
    counts = {
        t: query(world.central.path, f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("grades", "_versions", "pupils")
    }
    w = world
    c = change(w, "incidents", (ME, w.mine["college_pupil"], "2024-11-05", 77, text, text[::-1]))
    body = valid(w, [c])
    reply = w.post(body, w.headers(body))
    assert reply.status_code == 200, reply.text
    stored = query(
        w.central.path,
        "SELECT description, measure FROM incidents WHERE pupil = ? AND day = ? AND n = 77",
        [w.mine["college_pupil"], "2024-11-05"],
    )
    if "\0" in text and isinstance(w.central.folder, str):
        # PostgreSQL's text cannot hold a NUL: that row alone is refused, with its reason, and the node keeps
        # it in its list of refused changes (nothing typed is lost); the rest of a push applies.
        [(seq, code, reason)] = refusals_of(reply)
        assert (seq, code) == (c.seq, "invalid_row") and "0x00" in reason, reason
        assert (text, text[::-1]) not in stored  # the record keeps what an earlier case stored, if any
        return
    assert stored == [(text, text[::-1])]
    after = {t: query(world.central.path, f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("grades", "_versions", "pupils")}
    assert after["grades"] == counts["grades"] and after["pupils"] == counts["pupils"]
    assert after["_versions"] in (counts["_versions"], counts["_versions"] + 1)


def refusals_of(reply: httpx.Response) -> list[tuple[int, str, str]]:
    answer = decode_message(reply.content)
    assert isinstance(answer, SyncResponse)
    return [(r.seq, r.code, r.reason) for r in answer.refused]


def _push(w: World, changes: list[Change]) -> httpx.Response:
    body = valid(w, changes)
    return w.post(body, w.headers(body))


def test_a_mark_over_the_scale_is_refused_when_the_enrolment_comes_later(world: World) -> None:
    """15/20 for a pupil the centre does not know yet, then the pupil's enrolment in a primary (/10) class."""
    w = world
    pupil = "Z999999901"
    person = pupil_row(w, code=pupil)[1:]
    first = _push(w, [*person, change(w, "grades", grade_row(pupil, 1500, subject="ARA"), i=2)])
    assert first.status_code == 200 and refusals_of(first) == [], first.text
    primary_class = query(
        w.central.path, "SELECT class FROM enrolments WHERE pupil = ? AND year = ?", [w.mine["primary_pupil"], YEAR]
    )[0][0]
    before = table_hashes(w.central.path, None, ALL_SYNCED)
    enrol = change(w, "enrolments", (ME, YEAR, pupil, primary_class))
    later = _push(w, [enrol])
    assert later.status_code == 200, later.text
    [(seq, code, reason)] = refusals_of(later)
    assert (seq, code) == (enrol.seq, "out_of_scale") and "scale" in reason, reason
    assert table_hashes(w.central.path, None, ALL_SYNCED) == before
    REPORT.hostile("hostile_values")


@pytest.mark.parametrize("last", ["upsert", "delete"])
def test_delete_and_upsert_of_one_record_in_one_push_end_as_the_last_says(world: World, last: str) -> None:
    w = world
    pupil, subject = w.mine["college_pupil"], "MATH"
    row = grade_row(pupil, 1725, subject=subject, semester=2, assessment=3)
    key = tuple(row[i] for i in BY_NAME["grades"].key_indexes)
    delete, upsert = change(w, "grades", None, key=key), change(w, "grades", row)
    ordered = [delete, upsert] if last == "upsert" else [upsert, delete]
    ordered = [c._replace(seq=w.acked() + 1 + i) for i, c in enumerate(ordered)]
    reply = _push(w, ordered)
    assert reply.status_code == 200, reply.text
    assert refusals_of(reply) == [], refusals_of(reply)
    stored = query(
        w.central.path,
        "SELECT score FROM grades WHERE pupil = ? AND subject = ? AND semester = 2 AND assessment = 3",
        [pupil, subject],
    )
    version = query(
        w.central.path,
        "SELECT deleted FROM _versions WHERE tbl = ? AND k2 = ? AND k3 = ? AND k4 = ? AND k5 = ?",
        [BY_NAME["grades"].wire_id, pupil, subject, 2, 3],
    )
    if last == "upsert":
        assert stored == [(1725,)] and version == [(0,)], (stored, version)
    else:
        assert stored == [] and version == [(1,)], (stored, version)
    REPORT.hostile("hostile_values")


# --------------------------------------------------------------------------
# The node's web forms: the same refusals where a person (or a forged page) types input


STAFF_PASSWORD = "correct horse battery"


@dataclass
class WebWorld:
    folder: Path
    client: object  # starlette TestClient
    other: object  # a second TestClient: another browser session
    college: dict[str, str]  # class, subject, pupil
    primary: dict[str, str]

    def token(self, client=None) -> str:
        import re

        page = (client or self.client).get("/login")
        return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebWorld]:
    import warnings

    with warnings.catch_warnings():  # starlette warns once, at import, that it prefers httpx2
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    from domain import accounts
    from syncclient.web import create_app

    folder = tmp_path_factory.mktemp("web") / "node"
    store = NodeStore.init(folder, ME, year=YEAR)
    try:
        sch = sample.make_school(
            store.db, store.term, seed=9, pupils=8, classes=2, level_mix={"1APIC": 0.5, "3AP": 0.5}
        )
        accounts.create_staff(store.db, "sec", "secretary", STAFF_PASSWORD, name="SEC")
    finally:
        store.close()

    def pick(level: str) -> dict[str, str]:
        cls = next(c for c, lv in sch.classes.items() if lv == level)
        pupil = next(p for p in sch.pupils if sch.class_of[p] == cls)
        return {"class": cls, "subject": sch.subjects[level][0], "pupil": pupil}

    app = create_app(folder, secret_key=b"k" * 32)
    with TestClient(app) as client, TestClient(app) as other:
        w = WebWorld(folder, client, other, pick("1APIC"), pick("3AP"))
        for c in (client, other):
            r = c.post("/login", data={"csrf": w.token(c), "login": "sec", "password": STAFF_PASSWORD})
            assert r.status_code == 200 and "/login" not in str(r.url)
        yield w


def sheet(w: WebWorld, which: str = "college", **fields: str) -> tuple[str, list[tuple[str, str]]]:
    info = getattr(w, which)
    pairs = [("class", info["class"]), ("subject", info["subject"]), ("semester", "1"), ("p0", info["pupil"])]
    return "/staff/grades", pairs + list(fields.items())


def incident(w: WebWorld, **fields: str) -> tuple[str, list[tuple[str, str]]]:
    values = {
        "class": w.college["class"],
        "pupil": w.college["pupil"],
        "day": "2024-11-05",
        "description": "Bavardage",
        "measure": "",
    }
    values.update(fields)
    return "/staff/incidents", list(values.items())


WEB_CASES = [
    pytest.param(lambda w: sheet(w, s0_1="25"), "good", 400, id="score-25-of-20-college"),
    pytest.param(lambda w: sheet(w, "primary", s0_1="15"), "good", 400, id="score-15-of-10-primary"),
    pytest.param(lambda w: sheet(w, s0_1="-0.5"), "good", 400, id="negative-score"),
    pytest.param(lambda w: sheet(w, s0_1="1e309"), "good", 400, id="score-1e309"),
    pytest.param(lambda w: sheet(w, s0_1="NaN"), "good", 400, id="score-nan"),
    pytest.param(lambda w: sheet(w, s0_1="12,5,5"), "good", 400, id="score-12-5-5"),
    pytest.param(lambda w: sheet(w, s0_1="12.125"), "good", 400, id="score-three-decimals"),
    pytest.param(lambda w: sheet(w, s0_1="12", x0_1="a"), "good", 400, id="score-and-absent"),
    pytest.param(lambda w: sheet(w, x0_1="z"), "good", 400, id="bad-absence-mark"),
    pytest.param(lambda w: sheet(w, r0="Bien"), "good", 400, id="remark-without-mark"),
    pytest.param(
        lambda w: (lambda u, p: (u, [(k, w.primary["pupil"] if k == "p0" else v) for k, v in p]))(*sheet(w, s0_1="12")),
        "good",
        404,
        id="pupil-of-another-class",
    ),
    pytest.param(
        lambda w: (lambda u, p: (u, [(k, "Z900000009" if k == "p0" else v) for k, v in p]))(*sheet(w, s0_1="12")),
        "good",
        404,
        id="pupil-of-another-school",
    ),
    pytest.param(
        lambda w: (lambda u, p: (u, [(k, "XYZ" if k == "subject" else v) for k, v in p]))(*sheet(w, s0_1="12")),
        "good",
        404,
        id="unknown-subject",
    ),
    pytest.param(
        lambda w: (lambda u, p: (u, [(k, "3" if k == "semester" else v) for k, v in p]))(*sheet(w, s0_1="12")),
        "good",
        400,
        id="semester-3",
    ),
    pytest.param(
        lambda w: (lambda u, p: (u, p + [(f"p{i}", w.college["pupil"]) for i in range(1, 60)]))(*sheet(w, s0_1="12")),
        "good",
        400,
        id="too-many-rows",
    ),
    pytest.param(lambda w: sheet(w, s0_1="12"), "forged", 403, id="forged-csrf"),
    pytest.param(lambda w: sheet(w, s0_1="12"), "missing", 403, id="missing-csrf"),
    pytest.param(lambda w: sheet(w, s0_1="12"), "other-session", 403, id="csrf-of-another-session"),
    pytest.param(lambda w: sheet(w, s0_1="12", r0="x" * 300_000), "good", 413, id="oversized-post"),
    pytest.param(lambda w: incident(w, description="   "), "good", 400, id="incident-without-description"),
    pytest.param(lambda w: incident(w, day="2999-01-01"), "good", 400, id="incident-in-the-future"),
    pytest.param(lambda w: incident(w, day="2024-02-30"), "good", 400, id="incident-on-an-impossible-day"),
    pytest.param(lambda w: incident(w, pupil=w.primary["pupil"]), "good", 404, id="incident-of-another-class"),
    pytest.param(lambda w: incident(w), "forged", 403, id="incident-forged-csrf"),
]


@pytest.mark.parametrize(("build", "csrf", "status"), WEB_CASES)
def test_hostile_web_form_is_refused_and_changes_nothing(web: WebWorld, build, csrf: str, status: int) -> None:
    from urllib.parse import urlencode

    url, pairs = build(web)
    token = {"good": web.token(), "forged": "f" * 43, "missing": None, "other-session": web.token(web.other)}[csrf]
    if token is not None:
        pairs = [("csrf", token), *pairs]
    before = node_digest(web.folder / "node.sqlite")
    reply = web.client.post(
        url,
        content=urlencode(pairs).encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert reply.status_code == status, reply.text[:500]
    assert node_digest(web.folder / "node.sqlite") == before, "a refused form changed the node"
    # The same form, well filled, still works afterwards.
    good = web.client.post(
        "/staff/grades",
        content=urlencode([("csrf", web.token()), *sheet(web, s0_2="13.5")[1]]).encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert good.status_code == 303, good.text[:500]
    REPORT.add("hostile")
    REPORT.add("hostile_web")
