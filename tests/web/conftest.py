"""Fixtures for the web app: a small school node copied fresh for every test."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import sqlite3
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest

with warnings.catch_warnings():  # starlette warns once, at import, that it prefers httpx2
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from domain import accounts, pupils
from domain.database import write_transaction
from syncclient.store import NodeStore
from syncclient.web import create_app

SCHOOL = "SCH001"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
STAFF = {"sec": "secretary", "prof": "teacher", "dir": "director"}
STAFF_PASSWORD = "correct horse"
TODAY = dt.date.today()
# Pupils: (code, class, last, first, last_ar, first_ar, gender)
PUPILS = (
    ("A100000001", "1APIC-1", "ALAOUI", "SARA", "العلوي", "سارة", "F"),
    ("B100000002", "1APIC-1", "BENANI", "OMAR", "بناني", "عمر", "M"),
    ("C100000003", "1APIC-1", "CHRAIBI", "ADAM", None, None, "M"),
    ("D100000004", "1APIC-2", "DOUIRI", "LINA", "الدويري", "لينا", "F"),
    ("E100000005", "3AP-1", "EL FASSI", "YOUSSEF", "الفاسي", "يوسف", "M"),
)


@dataclass
class Node:
    folder: Path
    passwords: dict[str, str] = field(default_factory=dict)

    def store(self) -> NodeStore:
        return NodeStore.open(self.folder)

    def query(self, sql: str, params=()) -> list[tuple]:
        conn = sqlite3.connect(self.folder / "node.sqlite")
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()


def build_node(folder: Path) -> dict[str, str]:
    store = NodeStore.init(folder, SCHOOL, name="Collège Al Amal")
    try:
        term = store.term
        store.db.conn.execute("UPDATE schools SET name_ar = 'إعدادية الأمل' WHERE code = ?", [SCHOOL])
        for code, cls, last, first, last_ar, first_ar, gender in PUPILS:
            pupils.register_pupil(
                store.db,
                term,
                class_code=cls,
                last_name=last,
                first_name=first,
                gender=gender,
                code=code,
                last_name_ar=last_ar,
                first_name_ar=first_ar,
            )
        # a pupil of another school, present on this replica's tables only by accident of history
        with write_transaction(store.db):
            store.db.conn.execute(
                "INSERT INTO pupils (code, school, last_name, first_name, gender) VALUES ('Z900000009', 'OTHER1', 'X', 'Y', 'M')"
            )
            store.db.conn.execute(
                "INSERT INTO exam_calendar VALUES ('EX1', 'local', '1APIC', ?, '2099-06-01', '2099-06-03', "
                "'الامتحان الموحد المحلي', 'Examen local normalisé')",
                [term.year],
            )
            store.db.conn.execute(
                "INSERT INTO exam_calendar VALUES ('EX2', 'national', '2BAC', ?, '2099-06-20', '2099-06-24', "
                "'الامتحان الوطني للباكالوريا', 'Examen national du bac')",
                [term.year],
            )
            store.db.conn.execute(
                "INSERT INTO guidance_notes VALUES ('G1', NULL, '2026-02-01', 'اختيارات التوجيه', 'Vœux d''orientation', "
                "'تعبئة الرغبات الأولى في فبراير.', 'Premiers vœux en février.')"
            )
        for login, role in STAFF.items():
            accounts.create_staff(store.db, login, role, STAFF_PASSWORD, name=login.upper())
        passwords = {}
        for code in ("A100000001", "B100000002", "D100000004"):
            login, password = accounts.issue_parent_login(store.db, code)
            passwords[code] = password
        store.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return passwords
    finally:
        store.close()


@pytest.fixture(scope="session")
def node_template(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("template")
    return folder, build_node(folder)


@pytest.fixture
def node(node_template, tmp_path) -> Node:
    src, passwords = node_template
    folder = tmp_path / "node"
    folder.mkdir()
    shutil.copy(src / "node.sqlite", folder / "node.sqlite")
    return Node(folder, dict(passwords))


class Client:
    """A TestClient that knows the CSRF token and logs in."""

    def __init__(self, client: TestClient, node: Node) -> None:
        self.c, self.node = client, node

    def token(self) -> str:
        page = self.c.get("/login")
        return CSRF.search(page.text).group(1)

    def get(self, url: str, **kw):
        return self.c.get(url, **kw)

    def post(self, url: str, data: dict | list | None = None, *, csrf: str | None = None, **kw):
        token = self.token() if csrf is None else csrf
        pairs = [("csrf", token), *(data if isinstance(data, list) else (data or {}).items())]
        headers = {"content-type": "application/x-www-form-urlencoded", **kw.pop("headers", {})}
        return self.c.post(url, content=urlencode(pairs).encode(), headers=headers, **kw)

    def login(self, who: str) -> None:
        password = self.node.passwords.get(who, STAFF_PASSWORD)
        login = f"{who}@taalim.ma" if who in self.node.passwords else who
        r = self.post("/login", {"login": login, "password": password})
        assert r.status_code == 200 and "/login" not in str(r.url), r.text[:500]

    def logout(self) -> None:
        self.post("/logout")


@pytest.fixture
def app(node):
    return create_app(node.folder, secret_key=b"k" * 32)


@pytest.fixture
def client(app, node):
    with TestClient(app) as tc:
        yield Client(tc, node)


@pytest.fixture
def make_client(node):
    """Several independent clients (sessions) on one app."""
    opened = []

    def make(app=None):
        app = app or create_app(node.folder, secret_key=b"k" * 32)
        tc = TestClient(app)
        tc.__enter__()
        opened.append(tc)
        return Client(tc, node)

    yield make
    for tc in opened:
        tc.__exit__(None, None, None)
