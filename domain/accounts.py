"""Logins and passwords: only scrypt hashes are stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

import sqlite_utils

from .codes import LOGIN_DOMAIN, MASSAR_CODE, PROVISIONAL_CODE, login_for
from .database import write_transaction
from .errors import InvalidInput, NotFound

# n=2**14, r=8: ~16 MiB and a few tens of ms per check on a school PC.
_N, _R, _P = 2**14, 8, 1
# No 0/O or 1/l/I: the password is read off a paper slip by a parent.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
ROLES = ("secretary", "teacher", "director", "parent")


def hash_secret(secret: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(
            secret.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=len(digest) // 2
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def new_password(length: int = 10) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def issue_parent_login(db: sqlite_utils.Database, pupil: str) -> tuple[str, str]:
    """Create or reset the pupil/parent login; returns (login, fresh password)."""
    if not db.execute("SELECT 1 FROM pupils WHERE code = ?", [pupil]).fetchone():
        raise NotFound(f"unknown pupil {pupil}", code="unknown_pupil")
    login, password = login_for(pupil), new_password()
    with write_transaction(db):
        db.conn.execute(
            "INSERT INTO accounts (login, role, pupil, password_hash, issued_on) VALUES (?, 'parent', ?, ?, ?) "
            "ON CONFLICT (login) DO UPDATE SET password_hash = excluded.password_hash, issued_on = excluded.issued_on",
            [login, pupil, hash_secret(password), dt.date.today().isoformat()],
        )
    return login, password


def create_staff(db: sqlite_utils.Database, login: str, role: str, password: str, name: str | None = None) -> None:
    if role not in ROLES or role == "parent":
        raise InvalidInput(f"unknown staff role {role!r}: secretary, teacher or director", code="bad_role")
    if len(password) < 8:
        raise InvalidInput("a staff password needs at least 8 characters", code="weak_password")
    with write_transaction(db):
        db.conn.execute(
            "INSERT INTO accounts (login, role, display_name, password_hash, issued_on) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (login) DO UPDATE SET role = excluded.role, display_name = excluded.display_name, "
            "password_hash = excluded.password_hash, issued_on = excluded.issued_on",
            [login.strip(), role, name, hash_secret(password), dt.date.today().isoformat()],
        )


def authenticate(db: sqlite_utils.Database, login: str, password: str) -> dict | None:
    """The account row if the password matches, else None (same cost either way)."""
    row = db.execute(
        "SELECT login, role, pupil, display_name, password_hash FROM accounts WHERE login = ? COLLATE NOCASE",
        [login.strip()],
    ).fetchone()
    stored = row[4] if row else hash_secret("x" * 12, salt=b"\0" * 16)
    ok = verify_secret(password, stored)
    if not row or not ok:
        return None
    return {"login": row[0], "role": row[1], "pupil": row[2], "display_name": row[3]}


def parent_logins_issued(db: sqlite_utils.Database, pupils: list[str]) -> dict[str, str]:
    """pupil -> the day its parent login was last issued, for those that have one."""
    if not pupils:
        return {}
    rows = db.execute(
        f"SELECT pupil, issued_on FROM accounts WHERE role = 'parent' AND pupil IN ({', '.join('?' for _ in pupils)})",
        pupils,
    ).fetchall()
    return dict(rows)


def normal_login(text: str) -> str:
    """A login as typed, completed: a parent may type the pupil's code without `@taalim.ma`."""
    login = text.strip()
    if "@" not in login and (MASSAR_CODE.match(login.upper()) or PROVISIONAL_CODE.match(login.upper())):
        return login_for(login.upper())
    return login


def is_parent_login(login: str) -> bool:
    return login.lower().endswith("@" + LOGIN_DOMAIN)
