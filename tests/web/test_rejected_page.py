"""The sync page lists the changes the centre refused, in Arabic and French, with retry and discard."""

from __future__ import annotations

import html

from protocol.messages import Refusal
from syncclient.rejected import set_aside
from syncclient.web.translations import AR, FR


def _refuse_one(node) -> None:
    store = node.store()
    try:
        db = store.db
        db.execute("UPDATE pupils SET first_name = first_name || 'x' WHERE rowid = (SELECT min(rowid) FROM pupils)")
        seq = db.execute("SELECT max(seq) FROM _outbox").fetchone()[0]
        with db.atomic():
            set_aside(db, [Refusal(seq, "foreign_pupil", "pupil K1 belongs to school S999, not S001")], "2025-01-20")
    finally:
        store.close()


def test_refused_changes_show_with_their_reason_in_both_languages_and_can_be_retried(client, node) -> None:
    _refuse_one(node)
    client.login("sec")
    page = client.get("/staff/sync").text
    assert AR["sync.rejected_label"] in page and AR["rejected.foreign_pupil"] in page
    assert html.escape("pupil K1 belongs to school S999, not S001", quote=True) in page
    client.get("/lang/fr?next=/staff/sync", follow_redirects=True)
    page_fr = client.get("/staff/sync").text
    assert FR["sync.rejected_label"] in page_fr and FR["rejected.foreign_pupil"] in page_fr

    [(rejected_id, pk)] = node.query("SELECT id, pk FROM _rejected")
    assert node.query("SELECT COUNT(*) FROM _outbox WHERE tbl = 11 AND pk = ?", [pk]) == [(0,)]
    r = client.post("/staff/sync/rejected", {"id": str(rejected_id), "action": "retry"})
    assert r.status_code == 200
    assert node.query("SELECT COUNT(*) FROM _rejected") == [(0,)]
    assert node.query("SELECT COUNT(*) FROM _outbox WHERE tbl = 11 AND pk = ?", [pk]) == [(1,)]
