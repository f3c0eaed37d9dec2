"""Staff pages: grade sheet, roll-call, justification, incidents, registration, logins, sync."""

import datetime as dt
import re

from domain.accounts import authenticate
from syncclient.store import NodeStore
from syncclient.web import create_app

from .conftest import TODAY

SHEET = "/staff/grades?class=1APIC-1&subject=MATH&semester=1"
# rows are sorted by name: 0 = A100000001 ALAOUI, 1 = B100000002 BENANI, 2 = C100000003 CHRAIBI
ROWS = ["A100000001", "B100000002", "C100000003"]


def sheet_form(cells: dict[str, str], remarks: dict[int, str] | None = None, pupils=ROWS, **choice) -> list:
    data = [("class", "1APIC-1"), ("subject", "MATH"), ("semester", "1")]
    data = [(k, choice.get(k, v)) for k, v in data]
    for i, code in enumerate(pupils):
        data.append((f"p{i}", code))
        for a in (1, 2, 3, 4, 5):
            data.append((f"s{i}_{a}", cells.get(f"s{i}_{a}", "")))
            data.append((f"x{i}_{a}", cells.get(f"x{i}_{a}", "")))
        data.append((f"r{i}", (remarks or {}).get(i, "")))
    return data


def grades_of(node, pupil="A100000001"):
    return node.query(
        "SELECT assessment, score, absent, justified, remark FROM grades WHERE pupil = ? AND subject = 'MATH' "
        "ORDER BY assessment",
        [pupil],
    )


def test_every_staff_page_renders_in_both_languages(client):
    client.login("dir")
    pages = [
        "/staff",
        "/staff/grades",
        "/staff/grades?class=1APIC-1",
        SHEET,
        "/staff/grades?class=3AP-1&subject=ARA&semester=2",
        "/staff/absences",
        "/staff/absences?class=1APIC-1",
        "/staff/justify?class=1APIC-1",
        "/staff/incidents?class=1APIC-1",
        "/staff/register",
        "/staff/reenrol?class=1APIC-1",
        "/staff/logins?class=1APIC-1",
        "/staff/sync",
        "/staff/semesters",
        "/staff/justify?class=1APIC-1&pupil=A100000001&f=1",
    ]
    for lang in ("ar", "fr"):
        client.get(f"/lang/{lang}")
        for path in pages:
            r = client.get(path)
            assert r.status_code == 200, (lang, path)
            assert f'<html lang="{lang}"' in r.text


def test_grade_sheet_shows_scale_and_keyboard_help(client):
    client.login("sec")
    page = client.get(SHEET).text
    # the year's rules (2025/26 on): MATH has 3 tests, French 4, each then the activities
    assert 'data-scale="20"' in page and page.count("name=s0_") == 4
    french = client.get("/staff/grades?class=1APIC-1&subject=FRA&semester=1").text
    assert french.count("name=s0_") == 5 and "name=s0_4" in french
    assert "ALAOUI" in page or "العلوي" in page
    primary = client.get("/staff/grades?class=3AP-1&subject=ARA&semester=1").text
    assert 'data-scale="10"' in primary
    assert "name=s0_3" not in primary and "name=s0_5" in primary  # two tests + activities in primary


def test_grade_sheet_saves_the_whole_sheet(client, node):
    client.login("sec")
    cells = {"s0_1": "12,5", "s0_2": "15", "x0_3": "j", "s0_5": "18", "s1_1": "9.75", "x1_2": "a"}
    r = client.post("/staff/grades", sheet_form(cells, {0: "Bon travail"}))
    assert r.status_code == 200 and r.url.path == "/staff/grades"
    assert grades_of(node) == [
        (1, 1250, 0, 0, "Bon travail"),
        (2, 1500, 0, 0, "Bon travail"),
        (3, None, 1, 1, "Bon travail"),
        (5, 1800, 0, 0, "Bon travail"),
    ]
    assert grades_of(node, "B100000002") == [(1, 975, 0, 0, None), (2, None, 1, 0, None)]
    page = client.get(SHEET).text
    assert re.search(r'name=s0_1 [^>]*value="12.50"', page) and "<option value=j selected>" in page
    # clearing a cell deletes that mark
    cells.pop("s0_2")
    client.post("/staff/grades", sheet_form(cells, {0: "Bon travail"}))
    assert [g[0] for g in grades_of(node)] == [1, 3, 5]


def test_out_of_scale_score_saves_nothing_and_keeps_what_was_typed(client, node):
    client.login("sec")
    r = client.post("/staff/grades", sheet_form({"s0_1": "14", "s1_1": "21", "s2_1": "abc", "s2_2": "5", "x2_2": "a"}))
    assert r.status_code == 400
    assert re.search(r'name=s1_1 [^>]*value="21" class=bad', r.text)
    assert re.search(r'name=s0_1 [^>]*value="14"', r.text)  # the valid cells are kept too
    assert "0 و20" in r.text  # the scale, in Arabic, next to the cell
    assert r.text.count("<b class=err>") == 3
    assert node.query("SELECT COUNT(*) FROM grades") == [(0,)]


def test_primary_scale_is_ten(client, node):
    client.login("sec")
    data = [("class", "3AP-1"), ("subject", "ARA"), ("semester", "1"), ("p0", "E100000005"), ("s0_1", "10.5")]
    assert client.post("/staff/grades", data).status_code == 400
    data[-1] = ("s0_1", "9.25")
    assert client.post("/staff/grades", data).status_code == 200
    assert node.query("SELECT score FROM grades WHERE pupil = 'E100000005'") == [(925,)]


def test_grade_sheet_refuses_pupils_outside_the_class(client, node):
    client.login("sec")
    for intruder in ("D100000004", "Z900000009", "X999999999", "' OR 1=1 --"):
        r = client.post("/staff/grades", sheet_form({"s0_1": "10"}, pupils=[intruder]))
        assert r.status_code == 404, intruder
    assert node.query("SELECT COUNT(*) FROM grades") == [(0,)]


def test_grade_sheet_unknown_class_subject_semester(client):
    client.login("sec")
    assert client.get("/staff/grades?class=9XYZ-1&subject=MATH&semester=1").status_code == 404
    assert client.get("/staff/grades?class=1APIC-1&subject=PHILO&semester=1").status_code == 404
    assert client.get("/staff/grades?class=1APIC-1&subject=MATH&semester=3").status_code == 400
    assert client.post("/staff/grades", sheet_form({"s0_1": "10"}, subject="NOPE")).status_code == 404
    r = client.post("/staff/grades", sheet_form({"s0_1": "10", "x0_1": "a"}))
    assert r.status_code == 400
    r = client.post("/staff/grades", sheet_form({"x0_1": "maybe"}))
    assert r.status_code == 400
    r = client.post("/staff/grades", sheet_form({}, {0: "remark without marks"}))
    assert r.status_code == 400


def test_roll_call_and_justification(client, node):
    client.login("sec")
    day = (TODAY - dt.timedelta(days=1)).isoformat()
    data = [
        ("class", "1APIC-1"),
        ("day", day),
        ("p0", "A100000001"),
        ("h0", "1"),
        ("h0", "2"),
        ("p1", "B100000002"),
        ("f1", "1"),
        ("p2", "C100000003"),
    ]
    r = client.post("/staff/absences", data)
    assert r.status_code == 200
    assert node.query("SELECT pupil, hours, justified, recorded_by FROM absences ORDER BY pupil") == [
        ("A100000001", 3, 0, "sec"),
        ("B100000002", 255, 0, "sec"),
    ]
    page = client.get(f"/staff/absences?class=1APIC-1&day={day}").text
    assert page.count(" checked>") == 2 + 9 and "disabled" not in page  # saved ticks stay correctable
    assert "A100000001" in page  # the code beside the name tells two pupils of one name apart
    # later, a justification with a reason
    page = client.get("/staff/justify?class=1APIC-1").text
    assert "A100000001" in page and "card warn" in page
    r = client.post("/staff/justify", {"class": "1APIC-1", "pupil": "A100000001", "day": day, "reason": "شهادة طبية"})
    assert r.status_code == 200
    assert node.query("SELECT justified, reason FROM absences WHERE pupil = 'A100000001'") == [(3, "شهادة طبية")]


def test_roll_call_bad_inputs(client, node):
    client.login("sec")
    future = (TODAY + dt.timedelta(days=3)).isoformat()
    base = [("class", "1APIC-1"), ("p0", "A100000001"), ("h0", "1")]
    assert client.post("/staff/absences", [*base, ("day", future)]).status_code == 400
    assert client.post("/staff/absences", [*base, ("day", "31/12/2024")]).status_code == 400
    day = TODAY.isoformat()
    assert (
        client.post(
            "/staff/absences", [("class", "1APIC-1"), ("day", day), ("p0", "A100000001"), ("h0", "9")]
        ).status_code
        == 400
    )
    assert (
        client.post(
            "/staff/absences", [("class", "1APIC-1"), ("day", day), ("p0", "D100000004"), ("h0", "1")]
        ).status_code
        == 404
    )
    assert client.post("/staff/absences", [("class", "NOPE-1"), ("day", day)]).status_code == 404
    assert node.query("SELECT COUNT(*) FROM absences") == [(0,)]
    r = client.post("/staff/justify", {"class": "1APIC-1", "pupil": "A100000001", "day": day, "reason": "x"})
    assert r.status_code == 404
    r = client.post("/staff/justify", {"class": "1APIC-1", "pupil": "D100000004", "day": day, "reason": "x"})
    assert r.status_code == 404


def test_incident_recorded_and_bad_input_keeps_values(client, node):
    client.login("prof")
    r = client.post(
        "/staff/incidents",
        {
            "class": "1APIC-1",
            "pupil": "B100000002",
            "day": TODAY.isoformat(),
            "description": "",
            "measure": "Avertissement",
        },
    )
    assert r.status_code == 400 and 'value="Avertissement"' in r.text
    r = client.post(
        "/staff/incidents",
        {
            "class": "1APIC-1",
            "pupil": "B100000002",
            "day": TODAY.isoformat(),
            "description": "Bagarre dans la cour",
            "measure": "Avertissement",
        },
    )
    assert r.status_code == 200 and "Bagarre dans la cour" in r.text
    assert node.query("SELECT pupil, description, measure FROM incidents") == [
        ("B100000002", "Bagarre dans la cour", "Avertissement")
    ]
    r = client.post(
        "/staff/incidents", {"class": "1APIC-1", "pupil": "D100000004", "day": TODAY.isoformat(), "description": "x"}
    )
    assert r.status_code == 404


def test_registration_gives_a_provisional_code(client, node):
    client.login("sec")
    form = {
        "class": "1APIC-2",
        "last_name": "FILALI",
        "first_name": "NOUR",
        "last_name_ar": "الفيلالي",
        "first_name_ar": "نور",
        "gender": "F",
        "birth_date": "2013-04-02",
        "birth_place": "Fès",
        "code": "",
    }
    r = client.post("/staff/register", form)
    assert r.status_code == 200 and "TMP-SCH001-1" in r.text
    assert node.query("SELECT code, provisional FROM pupils WHERE last_name = 'FILALI'") == [("TMP-SCH001-1", 1)]
    bad = client.post("/staff/register", {**form, "gender": "X", "last_name": "KEEPME"})
    assert bad.status_code == 400 and 'value="KEEPME"' in bad.text
    assert client.post("/staff/register", {**form, "code": "12345"}).status_code == 400
    assert client.post("/staff/register", {**form, "birth_date": "2999-01-01"}).status_code == 400


def test_registration_page_admits_a_pupil_arriving_from_another_school(client, node):
    client.login("sec")
    for lang, heading in (("ar", "تلميذ وافد من مؤسسة أخرى"), ("fr", "Élève arrivant d&#39;un autre établissement")):
        client.get(f"/lang/{lang}")
        page = client.get("/staff/register").text
        assert heading in page and 'action="/staff/register/arrival"' in page
    arrival = {"arrival_code": "r130245678", "arrival_class": "1APIC-2", "from_school": "ot2001"}
    r = client.post("/staff/register/arrival", arrival)
    assert r.status_code == 200 and r.url.path == "/staff/register" and "R130245678" in r.text
    assert node.query("SELECT class FROM enrolments WHERE pupil = 'R130245678' AND school = 'SCH001'") == [("1APIC-2",)]
    # refused with the reason in the page's language, what was typed shown again, nothing written
    same = client.post("/staff/register/arrival", {**arrival, "arrival_code": "F100000006", "from_school": "SCH001"})
    assert same.status_code == 400 and "l&#39;établissement qu&#39;il rejoint" in same.text
    assert 'value="F100000006"' in same.text
    client.get("/lang/ar")
    again = client.post("/staff/register/arrival", {**arrival, "arrival_code": "A100000001"})
    assert again.status_code == 409 and "التلميذ مسجل بهذه المؤسسة هذه السنة." in again.text
    bad = client.post("/staff/register/arrival", {**arrival, "arrival_code": "12345"})
    assert bad.status_code == 400 and 'value="12345"' in bad.text
    assert node.query("SELECT count(*) FROM enrolments WHERE pupil IN ('F100000006', '12345')") == [(0,)]


def test_leave_page_records_a_departure_with_its_date_type_and_destination(client, node):
    client.login("sec")
    for lang, heading in (("ar", "تسجيل مغادرة تلميذ"), ("fr", "Enregistrer le départ d&#39;un élève")):
        client.get(f"/lang/{lang}")
        page = client.get("/staff/leave").text
        assert heading in page and 'action="/staff/leave"' in page and "D100000004" in page
        assert 'href="/staff/leave"' in client.get("/staff").text
    day = (TODAY - dt.timedelta(days=3)).strftime("%d/%m/%Y")
    form = {"pupil": "D100000004", "left_on": day, "kind": "transfer", "to_school": "ot2001"}
    r = client.post("/staff/leave", form)
    assert r.status_code == 200 and r.url.path == "/staff/leave" and "D100000004" in r.text
    iso = (TODAY - dt.timedelta(days=3)).isoformat()
    assert node.query("SELECT pupil, left_on, kind, to_school FROM departures") == [
        ("D100000004", iso, "transfer", "OT2001")
    ]
    assert "Mutation vers un autre établissement" in r.text and "OT2001" in r.text
    # Nothing is deleted: the enrolment stays, ended by the departure, and the change waits to sync.
    assert node.query("SELECT class FROM enrolments WHERE pupil = 'D100000004'") == [("1APIC-2",)]
    assert node.query("SELECT count(*) FROM _outbox WHERE tbl = 22") == [(1,)]
    # His enrolment ended that day: the roll call no longer calls him, but does for a day before it.
    assert "D100000004" not in client.get("/staff/absences?class=1APIC-2").text
    before = (TODAY - dt.timedelta(days=5)).isoformat()
    assert "D100000004" in client.get(f"/staff/absences?class=1APIC-2&day={before}").text
    # Refused with the reason in the page's language, what was typed shown again, nothing written.
    client.get("/lang/ar")
    no_destination = client.post("/staff/leave", {**form, "pupil": "A100000001", "to_school": ""})
    assert no_destination.status_code == 400 and "الانتقال يحتاج إلى رمز مؤسسة الاستقبال." in no_destination.text
    assert 'value="' + day + '"' in no_destination.text
    future = client.post("/staff/leave", {**form, "pupil": "A100000001", "left_on": "01/01/2999"})
    assert future.status_code == 400 and "التاريخ في المستقبل." in future.text
    client.get("/lang/fr")
    left = {"pupil": "A100000001", "left_on": day, "kind": "left", "to_school": "OT2001"}
    assert client.post("/staff/leave", left).status_code == 400
    stranger = client.post("/staff/leave", {**left, "pupil": "Z900000009", "to_school": ""})
    assert stranger.status_code == 404 and "Élève inconnu." in stranger.text
    assert node.query("SELECT count(*) FROM departures") == [(1,)]
    assert client.post("/staff/leave", {**left, "to_school": ""}).status_code == 200
    assert node.query("SELECT pupil, kind, to_school FROM departures ORDER BY pupil") == [
        ("A100000001", "left", None),
        ("D100000004", "transfer", "OT2001"),
    ]
    # A teacher may not record departures.
    client.logout()
    client.login("prof")
    assert client.get("/staff/leave").status_code == 403


def test_reenrolment_for_next_year_is_all_or_nothing(client, node):
    client.login("dir")
    year = node.query("SELECT v FROM _node WHERE k = 'year'")[0][0]
    start = int(year[:4]) + 1
    following = f"{start}/{start + 1}"
    page = client.get("/staff/reenrol?class=1APIC-1").text
    assert following in page
    # next year's classes are created first, deliberately; a typo never creates one
    r = client.post("/staff/classes", {"code": "2APIC-1", "level": "2APIC", "year": "next", "back": "/staff/reenrol"})
    assert r.status_code == 200 and r.url.path == "/staff/reenrol"
    bad = [("class", "1APIC-1"), ("p0", "A100000001"), ("n0", "2APIC-1"), ("p1", "B100000002"), ("n1", "2APIC-9")]
    assert client.post("/staff/reenrol", bad).status_code == 404
    assert node.query("SELECT COUNT(*) FROM enrolments WHERE year = ?", [following]) == [(0,)]
    assert node.query("SELECT code FROM classes WHERE year = ?", [following]) == [("2APIC-1",)]
    assert "<option>2APIC-1</option>" in client.get("/staff/reenrol?class=1APIC-1").text
    good = [("class", "1APIC-1"), ("p0", "A100000001"), ("n0", "2apic-1"), ("p1", "B100000002"), ("n1", "")]
    assert client.post("/staff/reenrol", good).status_code == 200
    assert node.query("SELECT pupil, class FROM enrolments WHERE year = ?", [following]) == [("A100000001", "2APIC-1")]
    assert node.query("SELECT level FROM classes WHERE year = ? AND code = '2APIC-1'", [following]) == [("2APIC",)]
    assert (
        client.post("/staff/reenrol", [("class", "1APIC-1"), ("p0", "D100000004"), ("n0", "2APIC-1")]).status_code
        == 404
    )


def test_parent_login_slip(client, node):
    client.login("sec")
    r = client.post("/staff/logins", {"pupil": "C100000003"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert r.url.path == "/staff/logins/slip"  # issued by POST, shown by GET
    assert "C100000003@taalim.ma" in r.text and "<h1>" in r.text
    password = re.search(r'<code dir="ltr">([a-z0-9]{10})</code>', r.text).group(1)
    # reloading the slip shows the same password: a printed slip keeps working
    again = client.get(str(r.url))
    assert re.search(r'<code dir="ltr">([a-z0-9]{10})</code>', again.text).group(1) == password
    assert "الاطلاع على نتائج" in r.text and "Consulter les résultats" in r.text
    store = NodeStore.open(node.folder)
    try:
        assert authenticate(store.db, "C100000003@taalim.ma", password)["pupil"] == "C100000003"
    finally:
        store.close()
    # a reset replaces the old password
    r2 = client.post("/staff/logins", {"pupil": "C100000003"})
    assert re.search(r'<code dir="ltr">([a-z0-9]{10})</code>', r2.text).group(1) != password
    assert client.post("/staff/logins", {"pupil": "Z900000009"}).status_code == 404
    assert client.post("/staff/logins", {"pupil": "nonsense"}).status_code == 400
    assert "C100000003" in client.get("/staff/logins?class=1APIC-1").text


class FakeAgent:
    def __init__(self):
        self.calls = []

    def status(self):
        return {
            "school": "SCH001",
            "pending_changes": 7,
            "last_sync": "2026-03-01T10:15:00+00:00",
            "last_error": "timed out",
            "conflicts": 2,
        }

    def request_sync(self):
        self.calls.append("sync")

    def notify_local_write(self):
        self.calls.append("write")


def test_sync_page_without_agent_reads_the_database(client, node):
    client.login("sec")
    page = client.get("/staff/sync").text
    pending = node.query("SELECT COUNT(*) FROM _outbox")[0][0]
    assert pending > 0 and f"<dd>{pending} تغيير" in page
    r = client.post("/staff/sync")
    assert r.url.path == "/staff/sync" and "flash warn" in r.text


def test_sync_now_and_local_writes_reach_the_agent(node, make_client):
    agent = FakeAgent()
    c = make_client(create_app(node.folder, agent=agent, secret_key=b"s" * 32))
    c.login("sec")
    page = c.get("/staff/sync").text
    assert "<dd>7 تغييرات في الانتظار.</dd>" in page and "01/03/2026" in page
    # the error means no connection: said in Arabic, without the technical text
    assert "timed out" not in page and "لا يوجد اتصال بالخادم المركزي منذ" in page
    c.post("/staff/sync")
    assert agent.calls == ["sync"]
    c.post("/staff/grades", sheet_form({"s0_1": "10"}))
    assert agent.calls == ["sync", "write"]
    c.c.get("/lang/fr")
    assert "Données à jour au" not in c.get("/staff").text  # last_sync setting is empty on this node
    assert "Jamais synchronisé" in c.get("/staff").text


def test_the_logins_page_refuses_a_school_it_does_not_host(client) -> None:
    client.login("sec")
    assert client.get("/staff/logins?satellite=NOPE1&class=1AP-1").status_code == 404
    assert 'class="satellite-classes"' not in client.get("/staff/logins").text  # no satellite attached here
