"""The daily byte cap of a prepaid link, shown and edited on the sync page, in Arabic and French (issue 12)."""

from __future__ import annotations

import html

import pytest

from syncclient.web.translations import AR, FR


def _cap(node) -> list[tuple]:
    return node.query("SELECT v FROM _node WHERE k = 'daily_bytes'")


def test_the_cap_is_shown_and_saved_in_kilobytes(client, node) -> None:
    client.login("sec")
    page = client.get("/staff/sync").text
    assert AR["cap.title"] in page and 'id="daily_kb" name="daily_kb" value=""' in page
    assert html.escape(AR["cap.none"].split("{")[0]) in page

    r = client.post("/staff/sync/cap", {"daily_kb": "٢٠,٥"})  # Arabic-Indic digits and a comma, as a phone types
    assert r.status_code == 200 and AR["flash.daily_cap_saved"] in r.text
    assert [int(v) for (v,) in _cap(node)] == [20500]
    assert 'value="20.5"' in r.text and '<bdi dir="ltr">20.5</bdi>' in r.text

    client.get("/lang/fr?next=/staff/sync", follow_redirects=True)
    page = client.get("/staff/sync").text
    assert FR["cap.title"] in page and "Consommé aujourd" in page and "20.5</bdi> Ko" in page

    r = client.post("/staff/sync/cap", {"daily_kb": "0"})
    assert r.status_code == 200 and _cap(node) in ([], [(None,)])


@pytest.mark.parametrize("typed", ["beaucoup", "-5", "1e6", "20 Ko", "99999999999"], ids=str)
def test_bad_input_is_refused_clearly_and_changes_nothing(client, node, typed: str) -> None:
    client.login("sec")
    client.post("/staff/sync/cap", {"daily_kb": "300"})
    r = client.post("/staff/sync/cap", {"daily_kb": typed})
    assert r.status_code == 400
    assert html.escape(AR["err.bad_daily_cap"]) in r.text
    assert f'value="{html.escape(typed)}"' in r.text  # what was typed stays in the box
    assert [int(v) for (v,) in _cap(node)] == [300_000]


def test_a_teacher_sees_the_cap_but_cannot_change_it(client, node) -> None:
    client.login("prof")
    page = client.get("/staff/sync").text
    assert AR["cap.title"] in page and 'name="daily_kb"' not in page
    r = client.post("/staff/sync/cap", {"daily_kb": "5"})
    assert r.status_code == 403 and _cap(node) in ([], [(None,)])


def test_the_cli_and_the_page_share_the_setting(client, node, run_massar) -> None:
    run_massar("node", "config", "--daily-bytes", "45000", data=node.folder)
    client.login("dir")
    page = client.get("/staff/sync").text
    assert 'value="45"' in page
