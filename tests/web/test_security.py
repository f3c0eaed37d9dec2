"""Sessions, CSRF, rate limits, body limits and who may open what."""

import re

import pytest
from starlette.routing import Route

from syncclient.web.app import SECRET_SETTING, create_app

from .conftest import STAFF_PASSWORD

STAFF_GET = [
    "/staff",
    "/staff/grades",
    "/staff/absences",
    "/staff/justify",
    "/staff/incidents",
    "/staff/register",
    "/staff/reenrol",
    "/staff/logins",
    "/staff/sync",
]
PARENT_GET = ["/parent", "/parent/absences", "/parent/incidents", "/parent/alerts", "/parent/exams"]


def post_routes(app) -> list[str]:
    return sorted({r.path for r in app.routes if isinstance(r, Route) and "POST" in (r.methods or ())})


def test_arabic_by_default_and_french_switch(client):
    page = client.get("/login").text
    assert '<html lang="ar" dir="rtl">' in page
    r = client.get("/lang/fr?next=/login")
    assert '<html lang="fr" dir="ltr">' in r.text and "Connexion" in r.text
    assert 'lang="ar"' in r.text  # the switch back is labelled in Arabic, marked as such
    r = client.get("/lang/ar?next=//evil.example/")  # never an open redirect
    assert str(r.url) == "http://testserver/login"
    assert client.get("/lang/de").status_code == 404


def test_session_cookie_is_signed_httponly_samesite_strict(client):
    r = client.c.get("/login", follow_redirects=False)
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert r.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "server" not in r.headers or "uvicorn" not in r.headers["server"]


def test_secret_is_generated_once_and_kept_in_node_settings(node):
    create_app(node.folder).state.store.close()
    first = node.query("SELECT v FROM _node WHERE k = ?", [SECRET_SETTING])
    create_app(node.folder).state.store.close()
    assert first and first == node.query("SELECT v FROM _node WHERE k = ?", [SECRET_SETTING])
    assert len(bytes.fromhex(first[0][0])) == 32


def test_login_failure_and_success(client):
    r = client.post("/login", {"login": "sec", "password": "wrong password"})
    assert r.status_code == 401 and 'value="sec"' in r.text
    client.login("sec")
    assert client.get("/").url.path == "/staff"


@pytest.fixture
def clock(app):
    """The login throttle's clock, moved by hand."""
    now = [1000.0]
    app.state.web.throttle.clock = lambda: now[0]
    return now


def test_failed_logins_slow_an_account_down_without_locking_it(client, clock):
    for _ in range(3):  # a few typos cost nothing
        assert client.post("/login", {"login": "sec", "password": "nope nope"}).status_code == 401
    assert client.post("/login", {"login": "sec", "password": "nope nope"}).status_code == 401
    r = client.post("/login", {"login": "sec", "password": STAFF_PASSWORD})
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert "\u2068sec\u2069" in r.text and "ثانية واحدة" in r.text  # who is slowed down, and for how long
    # another account from the same client is not slowed down
    assert client.post("/login", {"login": "dir", "password": STAFF_PASSWORD}).url.path == "/staff"
    client.logout()
    # delays grow with each failure: 1, 2, 4, 8 s...
    for delay in (1, 2, 4, 8):
        clock[0] += delay + 0.1
        assert client.post("/login", {"login": "sec", "password": "nope nope"}).status_code == 401
    r = client.post("/login", {"login": "sec", "password": STAFF_PASSWORD})
    assert r.status_code == 429 and r.headers["retry-after"] == "16"
    # ...but the owner is never locked out for good: after the wait the right password works
    clock[0] += 16.1
    assert client.post("/login", {"login": "sec", "password": STAFF_PASSWORD}).url.path == "/staff"


def test_parents_typos_at_the_terminal_never_slow_down_the_secretary(client, clock):
    for i in range(40):
        client.post("/login", {"login": f"K{i:09d}", "password": "wrong"})
    r = client.post("/login", {"login": "A100000001", "password": client.node.passwords["A100000001"]})
    assert r.status_code == 429 and "الآباء" in r.text
    assert int(r.headers["retry-after"]) <= 30  # a short pause for the next family, not a lock
    assert client.post("/login", {"login": "sec", "password": STAFF_PASSWORD}).url.path == "/staff"


def test_staff_guessing_from_one_client_is_slowed_down(client, clock):
    for i in range(20):
        client.post("/login", {"login": f"guess{i}", "password": "x"})
    r = client.post("/login", {"login": "dir", "password": STAFF_PASSWORD})
    assert r.status_code == 429 and "الأطر" in r.text
    # the parents at that machine are not concerned
    r = client.post("/login", {"login": "A100000001", "password": client.node.passwords["A100000001"]})
    assert r.url.path == "/parent"


def test_a_rotated_forwarded_for_header_does_not_escape_the_limit(client, clock):
    for i in range(20):
        client.post("/login", {"login": f"guess{i}", "password": "x"}, headers={"x-forwarded-for": f"10.0.0.{i}"})
    r = client.post("/login", {"login": "dir", "password": STAFF_PASSWORD}, headers={"x-forwarded-for": "10.9.9.9"})
    assert r.status_code == 429


def test_forwarded_for_counts_only_from_a_configured_proxy(node, make_client):
    from syncclient.web import create_app

    c = make_client(create_app(node.folder, secret_key=b"k" * 32, trusted_proxies={"testclient"}))
    for i in range(20):
        c.post("/login", {"login": f"guess{i}", "password": "x"}, headers={"x-forwarded-for": "10.0.0.1"})
    r = c.post("/login", {"login": "dir", "password": STAFF_PASSWORD}, headers={"x-forwarded-for": "10.0.0.2"})
    assert r.url.path == "/staff"  # another machine behind the proxy
    c.logout()
    r = c.post("/login", {"login": "dir", "password": STAFF_PASSWORD}, headers={"x-forwarded-for": "10.0.0.1"})
    assert r.status_code == 429


def test_a_parent_may_leave_out_the_login_domain(client):
    r = client.post("/login", {"login": " a100000001 ", "password": client.node.passwords["A100000001"]})
    assert r.url.path == "/parent"


@pytest.mark.parametrize("who", [None, "dir", "A100000001"])
def test_every_post_checks_csrf(app, client, who):
    if who:
        client.login(who)
    routes = post_routes(app)
    assert "/staff/grades" in routes and "/parent/alerts/read" in routes and "/logout" in routes
    for path in routes:
        assert client.post(path, {"x": "1"}, csrf="forged").status_code == 403, path
        assert client.c.post(path, data={"x": "1"}).status_code == 403, path


def test_forged_token_from_another_session_is_refused(make_client):
    one, two = make_client(), make_client()
    one.login("sec")
    other_token = two.token()
    r = one.post("/staff/incidents", {"class": "1APIC-1", "pupil": "A100000001", "description": "x"}, csrf=other_token)
    assert r.status_code == 403


def test_oversized_post_is_refused(client):
    client.login("sec")
    r = client.post("/staff/grades", {"class": "1APIC-1", "junk": "x" * 300_000})
    assert r.status_code == 413
    r = client.c.post(
        "/login", content=b"a=" + b"x" * 300_000, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 413


def test_anonymous_is_sent_to_login(client):
    for path in STAFF_GET + PARENT_GET:
        r = client.c.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login", path


def test_parent_cannot_open_staff_pages(client):
    client.login("A100000001")
    for path in STAFF_GET:
        assert client.get(path).status_code == 403, path
    for path in ("/staff/grades", "/staff/absences", "/staff/logins", "/staff/register", "/staff/sync"):
        assert client.post(path, {"class": "1APIC-1", "pupil": "B100000002"}).status_code == 403, path


def test_staff_cannot_open_parent_pages(client):
    client.login("dir")
    for path in PARENT_GET:
        assert client.get(path).status_code == 403, path


def test_teacher_role_limits(client):
    client.login("prof")
    assert client.get("/staff/grades").status_code == 200
    assert client.get("/staff/absences").status_code == 200
    for path in ("/staff/register", "/staff/reenrol", "/staff/logins", "/staff/justify"):
        assert client.get(path).status_code == 403, path
    assert client.post("/staff/logins", {"pupil": "A100000001"}).status_code == 403
    assert client.post("/staff/sync").status_code == 403


def test_idle_parent_session_expires_on_the_server(app, client):
    clock = [1000.0]
    app.state.web.sessions.clock = lambda: clock[0]
    client.login("A100000001")
    clock[0] += 100
    assert client.get("/parent").url.path == "/parent"
    clock[0] += 121
    r = client.get("/parent")
    assert r.url.path == "/login"
    assert "دون نشاط" in r.text or "عدم النشاط" in r.text
    # staff get a longer idle time: a grade sheet takes a while to type
    client.login("sec")
    clock[0] += 600
    assert client.get("/staff").url.path == "/staff"


def test_logout_kills_the_server_session_even_with_an_old_cookie(client):
    client.login("A100000001")
    saved = dict(client.c.cookies)
    client.logout()
    assert client.get("/parent").url.path == "/login"
    client.c.cookies.clear()
    for k, v in saved.items():
        client.c.cookies.set(k, v)
    assert client.get("/parent").url.path == "/login"


def test_logout_button_on_every_logged_in_page(client):
    client.login("A100000001")
    for path in PARENT_GET:
        page = client.get(path).text
        assert 'action="/logout"' in page and 'data-idle="120"' in page, path
        assert re.search(r'http-equiv="refresh" content="121;url=/"', page), path


def test_unknown_route_and_wrong_method_are_translated(client):
    r = client.get("/nowhere")
    assert r.status_code == 404 and "غير موجود" in r.text
    assert client.c.put("/login").status_code == 405
