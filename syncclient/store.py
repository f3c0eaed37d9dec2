"""The school node's SQLite file and its settings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import sqlite_utils

from domain.clock import SYSTEM_CLOCK, Clock
from domain.codes import check_school_code, school_year_of
from domain.database import open_database, write_transaction
from domain.errors import InvalidInput, NotInitialised
from domain.migrations import upgrade
from domain.pupils import Term
from domain.replication import Side

DB_NAME = "node.sqlite"


class NodeStore:
    """One school's replica: the domain tables plus sync bookkeeping."""

    def __init__(self, db: sqlite_utils.Database, path: Path, clock: Clock = SYSTEM_CLOCK) -> None:
        self.db = db
        self.path = path
        self.clock = clock

    @classmethod
    def open(cls, folder: Path, *, clock: Clock = SYSTEM_CLOCK) -> NodeStore:
        path = folder / DB_NAME
        if not path.exists():
            raise NotInitialised(f"no school node in {folder}: run `massar node init --data {folder} --school CODE`")
        db = open_database(path, clock=clock)
        upgrade(db, Side.NODE)
        return cls(db, path, clock)

    @classmethod
    def init(
        cls,
        folder: Path,
        school: str,
        *,
        name: str | None = None,
        year: str | None = None,
        server: str | None = None,
        node_key: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> NodeStore:
        school = check_school_code(school)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / DB_NAME
        db = open_database(path, clock=clock)
        upgrade(db, Side.NODE)
        store = cls(db, path, clock)
        existing = store.setting("school")
        if existing and existing != school:
            raise InvalidInput(f"{folder} already holds school {existing}", code="other_school")
        with write_transaction(db):
            store.set_setting("school", school)
            if store.setting("year") is None:
                store.set_setting("year", year or school_year_of(dt.date.today()))
            elif year:
                store.set_setting("year", year)
            db.conn.execute(
                "INSERT INTO schools (code, name) VALUES (?, ?) ON CONFLICT (code) DO UPDATE SET name = "
                "COALESCE(?, schools.name)",
                [school, name or school, name],
            )
            if server:
                store.set_setting("server", server.rstrip("/"))
            if node_key:
                store.set_setting("node_key", node_key)
        return store

    def setting(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT v FROM _node WHERE k = ?", [key]).fetchone()
        return default if row is None else row[0]

    def set_setting(self, key: str, value: Any) -> None:
        with write_transaction(self.db):
            self.db.conn.execute(
                "INSERT INTO _node (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v", [key, value]
            )

    @property
    def school(self) -> str:
        return self.setting("school")

    @property
    def term(self) -> Term:
        return Term(self.school, self.setting("year"))

    def close(self) -> None:
        self.db.conn.close()
