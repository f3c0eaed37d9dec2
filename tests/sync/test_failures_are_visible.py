"""A failed sync is never silent: the server logs its cause and answers 5xx, the node records it for `node status`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from protocol import capabilities
from protocol.messages import SyncRequest, encode_message
from syncclient.agent import SyncAgent
from syncclient.status import node_status

from .helpers import next_counter, node_key, post_signed


def _wait(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_a_server_bug_is_a_logged_500_recorded_for_the_school(central, make_node, caplog) -> None:
    node = make_node("F001")
    with central.db() as db:
        db.conn.execute("DROP TABLE _conflicts")  # a damaged central database: every sync now hits a bug
    body = encode_message(SyncRequest(node.school, capabilities.SUPPORTED, 0, [], 0))
    with caplog.at_level(logging.INFO, logger="server.app"):
        reply = post_signed(central.url, body, school="F001", key=node_key(node), counter=next_counter(node))
    assert reply.status_code == 500
    assert reply.json()["error"] == "internal_error"
    assert "_conflicts" not in reply.text  # no internals in the answer...
    [record] = [r for r in caplog.records if r.name == "server.app"]
    assert record.levelno == logging.ERROR and record.exc_info is not None
    cause = str(record.exc_info[1].__cause__)  # ...but all of them in the log (each engine's own words)
    assert "_conflicts" in cause and ("no such table" in cause or "does not exist" in cause)
    with central.db() as db:
        (last_error,) = db.execute("SELECT last_error FROM _devices WHERE id = 'F001'").fetchone()
    assert last_error.startswith("internal_error")


def test_an_unexpected_failure_in_the_agent_is_logged_and_shown_in_node_status(central, make_node, caplog) -> None:
    node = make_node("F002")
    node.set_setting("request_counter", "not a number")  # a damaged node setting: the sync fails before sending
    agent = SyncAgent(node.path.parent, interval=3600, debounce=0.1, min_backoff=0.1, max_backoff=0.5)
    with caplog.at_level(logging.ERROR, logger="syncclient.agent"):
        agent.start()
        try:
            assert _wait(lambda: agent.status()["last_error"] is not None)
            assert _wait(lambda: any(r.name == "syncclient.agent" for r in caplog.records))
        finally:
            agent.stop()
    assert node_status(node)["last_error"].startswith("internal error: ValueError")
    record = next(r for r in caplog.records if r.name == "syncclient.agent")
    assert record.exc_info is not None and isinstance(record.exc_info[1], ValueError)
