"""Error pages: a project error is answered by its status and its code's message; a failure is logged with its cause."""

from __future__ import annotations

import logging

from syncclient.web import create_app
from syncclient.web.translations import AR


class BrokenAgent:
    """An agent whose thread died: waking it fails."""

    def status(self) -> dict:
        return {"school": "SCH001", "pending_changes": 0, "last_sync": None, "last_error": None, "conflicts": 0}

    def request_sync(self) -> None:
        raise RuntimeError("the agent's thread is gone")

    def notify_local_write(self) -> None:
        pass


def test_sync_now_with_a_broken_agent_says_so_and_logs_the_cause(node, make_client, caplog) -> None:
    c = make_client(create_app(node.folder, agent=BrokenAgent(), secret_key=b"s" * 32))
    c.login("sec")
    with caplog.at_level(logging.ERROR, logger="syncclient.web.app"):
        r = c.post("/staff/sync")
    assert r.status_code == 503
    assert AR["err.agent_unavailable"] in r.text
    [record] = [r for r in caplog.records if r.name == "syncclient.web.app"]
    assert "agent_unavailable" in record.getMessage()
    assert record.exc_info is not None and "thread is gone" in str(record.exc_info[1].__cause__)


def test_a_not_found_is_a_404_page_in_the_users_language(client) -> None:
    client.login("sec")
    r = client.get("/staff/grades?class=9XYZ-1&subject=MATH&semester=1")
    assert r.status_code == 404
    assert AR["err.title.404"] in r.text
