"""Every request is authenticated: each kind of bad credential is refused with a 4xx and a
machine-readable code, and the central database is left exactly as it was."""

from __future__ import annotations

import json
import os

import pytest

from protocol import capabilities
from protocol.auth import authorization_header, node_key_from_token
from protocol.messages import SyncRequest, encode_message
from syncclient.errors import ServerRefused
from syncclient.outbox import pending_changes

from .conftest import both_backends
from .helpers import fill_school, next_counter, node_key, post_signed, sync

pytestmark = both_backends


def _push_body(node) -> bytes:
    """A legitimate push of the node's pending work: accepted, it would change the central."""
    changes = pending_changes(node.db, node.school, 500)
    assert changes
    hlc = node.db.execute("SELECT hlc FROM _clock").fetchone()[0]
    return encode_message(SyncRequest(node.school, capabilities.SUPPORTED, 0, changes, hlc))


def _flip(body: bytes, at: int) -> bytes:
    return body[:at] + bytes([body[at] ^ 0x01]) + body[at + 1 :]


def _header(school: str, counter: int, key: bytes, body: bytes) -> dict[str, str]:
    return {"authorization": authorization_header(school, counter, key, "POST", "/s", body)}


CASES = [
    pytest.param(lambda n, body, c: (body, {}), "bad_auth_header", 401, id="missing-header"),
    pytest.param(lambda n, body, c: (body, {"authorization": f"Bearer {n.school}:{c}"}), "bad_auth_header", 401, id="malformed-header"),
    pytest.param(lambda n, body, c: (body, {"authorization": f"M {n.school}:{c}:short"}), "bad_auth_header", 401, id="malformed-mac"),
    pytest.param(
        lambda n, body, c: (body, _header("SZ99", c, node_key_from_token("SZ99", "a-guessed-token"), body)),
        "unauthorized", 401, id="unknown-school",
    ),
    pytest.param(lambda n, body, c: (body, _header(n.school, c, os.urandom(32), body)), "unauthorized", 401, id="wrong-key"),
    pytest.param(
        lambda n, body, c: (_flip(body, len(body) // 2), _header(n.school, c, node_key(n), body)),
        "unauthorized", 401, id="tampered-body",
    ),
    pytest.param(
        lambda n, body, c: (body, _header(n.school, c, node_key(n), _flip(body, 10))),
        "unauthorized", 401, id="signature-of-another-body",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("forge", "code", "status"), CASES)
def test_a_bad_credential_is_refused_and_changes_nothing(central, make_node, forge, code: str, status: int) -> None:
    node = make_node("SA01")
    fill_school(node, seed=1, pupils=10, absence_days=2)
    body, headers = forge(node, _push_body(node), next_counter(node))
    before, school_before = central.digest(), central.school_row("SA01")

    reply = post_signed(central.url, body, school="SA01", key=b"", counter=0, headers=headers)

    assert reply.status_code == status, reply.text
    assert reply.json()["error"] == code
    assert central.digest() == before
    assert central.school_row("SA01") == school_before
    # The real node still syncs afterwards (a forged request burns no counter of it).
    assert sync(node).pending == 0


def test_a_replayed_request_is_refused(central, make_node) -> None:
    node = make_node("SA01")
    fill_school(node, seed=1, pupils=10, absence_days=2)
    body, counter = _push_body(node), next_counter(node)

    first = post_signed(central.url, body, school="SA01", key=node_key(node), counter=counter)
    assert first.status_code == 200
    assert central.school_row("SA01")[2] > 0  # the first one was applied
    before, school_before = central.digest(), central.school_row("SA01")

    # Refused from its headers (the counter is not above the last one): the one answer of every bad credential.
    again = post_signed(central.url, body, school="SA01", key=node_key(node), counter=counter)
    assert again.status_code == 401
    assert again.json()["error"] == "unauthorized"
    # An older counter with a valid signature is refused just the same.
    older = post_signed(central.url, body, school="SA01", key=node_key(node), counter=counter - 1)
    assert (older.status_code, older.json()["error"]) == (401, "unauthorized")
    assert central.digest() == before
    assert central.school_row("SA01") == school_before


def test_a_revoked_token_is_refused_at_once(central, make_node, run_massar) -> None:
    node = make_node("SA01")
    fill_school(node, seed=1, pupils=10, absence_days=2)
    sync(node)
    node.db.execute("UPDATE grades SET remark = 'après révocation' WHERE rowid = (SELECT MIN(rowid) FROM grades)")
    assert node.db.execute("SELECT COUNT(*) FROM _outbox").fetchone()[0] == 1

    central.revoke_school("SA01")
    before, school_before = central.digest(), central.school_row("SA01")

    with pytest.raises(ServerRefused) as refused:
        sync(node)
    assert (refused.value.server_status, refused.value.code) == (401, "unauthorized")

    proc = run_massar("node", "sync", data=node.path.parent, check=False)
    assert proc.returncode != 0
    message = proc.stderr.strip()
    assert len(message.splitlines()) == 1 and "revoked" in message and "Traceback" not in proc.stderr
    proc = run_massar("node", "sync", "--json", data=node.path.parent, check=False)
    assert proc.returncode != 0 and json.loads(proc.stdout)["error"] == "unauthorized"

    status = json.loads(run_massar("node", "status", "--json", data=node.path.parent).stdout)
    assert "revoked" in status["last_error"] and status["pending_changes"] == 1
    assert central.digest() == before
    assert central.school_row("SA01") == school_before
