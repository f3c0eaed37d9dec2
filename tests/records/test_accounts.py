"""Accounts: logins CODE@taalim.ma, passwords issued by the school, stored as scrypt hashes only."""

from __future__ import annotations

import re

import pytest

from domain.accounts import authenticate, create_staff, hash_secret, issue_parent_login, verify_secret
from domain.errors import InvalidInput, NotFound
from tests.support.records import code, enrol

HASH = re.compile(r"^scrypt\$16384\$8\$1\$[0-9a-f]{32}\$[0-9a-f]{64}$")


def test_scrypt_hash_format_and_verification():
    stored = hash_secret("kh7s9mq2tp")
    assert HASH.match(stored), stored
    assert verify_secret("kh7s9mq2tp", stored)
    assert not verify_secret("kh7s9mq2tq", stored)
    assert not verify_secret("", stored)
    # a fresh salt each time: the same password never hashes the same twice
    assert hash_secret("kh7s9mq2tp") != stored
    # and a fixed salt gives a reproducible hash
    assert hash_secret("x", salt=b"\1" * 16) == hash_secret("x", salt=b"\1" * 16)


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param("", id="empty"),
        pytest.param("plain-text-password", id="not-a-hash"),
        pytest.param("bcrypt$16384$8$1$00$00", id="other-kind"),
        pytest.param("scrypt$x$8$1$00$00", id="bad-number"),
        pytest.param("scrypt$16384$8$1$zz$00", id="bad-hex"),
    ],
)
def test_malformed_stored_hashes_never_verify(stored):
    assert verify_secret("anything", stored) is False


def test_issue_login_then_authenticate_and_reissue(store):
    (p,) = enrol(store.db, store.term, "1APIC-1", code(1))
    login, password = issue_parent_login(store.db, p)
    assert login == f"{p}@taalim.ma"
    assert len(password) >= 8
    account = authenticate(store.db, login, password)
    assert account == {"login": login, "role": "parent", "pupil": p, "display_name": None}
    # logins are not case-sensitive on the domain part a parent types
    assert authenticate(store.db, login.upper(), password) is not None
    assert authenticate(store.db, login, password + "x") is None
    # only the hash is stored
    (stored,) = store.db.execute("SELECT password_hash FROM accounts WHERE login = ?", [login]).fetchone()
    assert HASH.match(stored) and password not in stored

    login2, password2 = issue_parent_login(store.db, p)
    assert login2 == login and password2 != password
    assert authenticate(store.db, login, password) is None  # the old slip no longer works
    assert authenticate(store.db, login, password2) is not None
    assert store.db.execute("SELECT COUNT(*) FROM accounts").fetchone() == (1,)


def test_issue_login_for_unknown_pupil(store):
    with pytest.raises(NotFound):
        issue_parent_login(store.db, code(404))
    assert store.db.execute("SELECT COUNT(*) FROM accounts").fetchone() == (0,)


def test_unknown_login_does_not_authenticate(store):
    assert authenticate(store.db, "nobody@taalim.ma", "whatever") is None


def test_staff_accounts(store):
    create_staff(store.db, "director@S001", "director", "long enough", "Mme Directrice")
    assert authenticate(store.db, "director@S001", "long enough")["role"] == "director"
    with pytest.raises(InvalidInput):
        create_staff(store.db, "x@S001", "teacher", "short")
    with pytest.raises(InvalidInput):
        create_staff(store.db, "x@S001", "parent", "long enough")
    assert store.db.execute("SELECT COUNT(*) FROM accounts").fetchone() == (1,)


def test_accounts_never_travel(store):
    (p,) = enrol(store.db, store.term, "1APIC-1", code(1))
    before = store.db.execute("SELECT COUNT(*) FROM _outbox").fetchone()
    issue_parent_login(store.db, p)
    create_staff(store.db, "teacher@S001", "teacher", "long enough")
    assert store.db.execute("SELECT COUNT(*) FROM _outbox").fetchone() == before
