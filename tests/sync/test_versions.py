"""Protocol versions and capabilities: a peer on another version is told which side must upgrade;
a request without a required capability is refused; unknown capabilities are ignored."""

from __future__ import annotations

import pytest

from protocol import capabilities
from protocol.framing import encode_frame
from protocol.messages import SyncRequest, SyncResponse, decode_message, encode_message
from protocol.version import MAGIC, PROTOCOL_VERSION
from syncclient.outbox import pending_changes
from tests.support.digests import central_digest

from .helpers import fill_school, next_counter, node_key, post_signed, school_row, sync


def _request(node, caps=capabilities.SUPPORTED) -> bytes:
    changes = pending_changes(node.db, node.school, 500)
    assert changes
    hlc = node.db.execute("SELECT hlc FROM _clock").fetchone()[0]
    return encode_message(SyncRequest(node.school, frozenset(caps), 0, changes, hlc))


@pytest.fixture
def node(central, make_node):
    store = make_node("SA01")
    fill_school(store, seed=1, pupils=10, absence_days=2)
    return store


@pytest.mark.parametrize(
    ("version", "who"),
    [
        pytest.param(PROTOCOL_VERSION + 1, "server", id="newer-node"),
        pytest.param(PROTOCOL_VERSION - 1, "node", id="older-node"),
    ],
)
def test_another_protocol_version_gets_426_naming_the_side_to_upgrade(central, node, version: int, who: str) -> None:
    body = bytearray(_request(node))
    assert body[: len(MAGIC)] == MAGIC and body[len(MAGIC)] == PROTOCOL_VERSION
    body[len(MAGIC)] = version
    before, school_before = central_digest(central.path), school_row(central.path, "SA01")

    reply = post_signed(central.url, bytes(body), school="SA01", key=node_key(node), counter=next_counter(node))

    assert reply.status_code == 426, reply.text
    err = reply.json()
    assert err["error"] == "unsupported_version"
    message = err["message"]
    assert str(version) in message and str(PROTOCOL_VERSION) in message
    # The node shows this to a secretary: it must say plainly whether the server or the node upgrades.
    assert f"{who} must" in message, message
    assert central_digest(central.path) == before
    assert school_row(central.path, "SA01") == school_before


@pytest.mark.parametrize("dropped", sorted(capabilities.REQUIRED))
def test_a_request_without_a_required_capability_gets_400(central, node, dropped: str) -> None:
    body = _request(node, capabilities.SUPPORTED - {dropped})
    before, school_before = central_digest(central.path), school_row(central.path, "SA01")

    reply = post_signed(central.url, body, school="SA01", key=node_key(node), counter=next_counter(node))

    assert reply.status_code == 400, reply.text
    assert reply.json()["error"] == "missing_capability"
    assert dropped in reply.json()["message"]
    assert central_digest(central.path) == before
    assert school_row(central.path, "SA01") == school_before


def test_unknown_capabilities_are_ignored_and_the_common_set_is_answered(central, node) -> None:
    changes = pending_changes(node.db, node.school, 500)
    hlc = node.db.execute("SELECT hlc FROM _clock").fetchone()[0]
    wire = SyncRequest(node.school, capabilities.SUPPORTED, 0, changes, hlc).to_wire()
    # A newer node announces features this server has never heard of.
    if isinstance(wire[2], int):
        wire[2] |= (1 << 40) | (1 << 41)  # bits not assigned yet
    else:
        wire[2] = sorted([*wire[2], "delta-pull2", "x-future"])
    body = encode_frame(wire)
    reply = post_signed(central.url, body, school="SA01", key=node_key(node), counter=next_counter(node))
    assert reply.status_code == 200, reply.text
    answer = decode_message(reply.content)
    assert isinstance(answer, SyncResponse)
    assert answer.capabilities == capabilities.SUPPORTED
    assert answer.acked_seq == node.db.execute("SELECT MAX(seq) FROM _outbox").fetchone()[0]
    # The node's own sync continues from there.
    assert sync(node).pending == 0
