"""The `massar node` CLI through real subprocesses on real SQLite files."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from domain.accounts import authenticate
from domain.catalogue import SUBJECTS
from domain.evaluation_catalogue import CUSTOMARY, shipped_rules
from domain.pupils import Term
from syncclient.store import NodeStore
from tests.support.records import OTHER_SCHOOL, code, enrol, mark, write_csv

P1, P2, P3 = code(1), code(2), code(3)
YEAR = "2024/2025"
TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()


def _json(proc) -> object:
    return json.loads(proc.stdout)


def test_init_import_enter_and_report(tmp_path, run_massar, write_roster):
    data = tmp_path / "node"
    info = _json(
        run_massar(
            "node", "init", "--school", "s001", "--name", "Collège Ibn Khaldoun", "--year", YEAR, "--json", data=data
        )
    )
    assert (info["school"], info["year"]) == ("S001", YEAR)
    assert (data / "node.sqlite").is_file()

    roster = write_roster(
        [
            (P1, "العلوي", "محمد", "M", "2012-03-04", "فاس", "1APIC", "1APIC-1"),
            (P2, "Bennani", "Sara", "F", "2012-05-06", "Rabat", "1APIC", "1APIC-1"),
            (P3, "الإدريسي", "فاطمة", "F", "2011-01-02", "", "2APIC", "2APIC-1"),
        ]
    )
    out = run_massar("node", "import-roster", roster, data=data)
    assert out.stdout.strip() == "imported 3 pupils in 2 classes"

    subjects = _json(run_massar("node", "subjects", "--level", "1apic", "--json", data=data))
    # the shipped rules of 2024/25 for 1APIC, with names from the subjects table
    names = {c: (ar, fr) for c, ar, fr, _ in SUBJECTS}
    shipped = {r.subject: r.coefficient for r in shipped_rules() if (r.since, r.level) == (CUSTOMARY, "1APIC")}
    assert {s["code"]: s["coefficient"] for s in subjects} == shipped
    for s in subjects:
        assert (s["name_ar"], s["name_fr"]) == names[s["code"]]
        assert s["level"] == "1APIC"

    # marks: two on the command line, the rest from a CSV
    g = ["node", "grade", "--student", P1, "--semester", "1"]
    out = _json(run_massar(*g, "--subject", "math", "--assessment", "1", "--score", "12.5", "--json", data=data))
    assert out["score"] == 12.5 and out["subject"] == "MATH"
    run_massar(*g, "--subject", "SVT", "--assessment", "1", "--absent", "--justified", data=data)
    grades_csv = write_csv(
        tmp_path / "grades.csv",
        ("code", "subject", "semester", "assessment", "score", "absent", "justified", "remark"),
        [
            (P1, "MATH", "1", "2", "13.5", "", "", ""),
            (P1, "MATH", "1", "activities", "16", "", "", "مجتهد"),
            (P1, "FRA", "1", "1", "11", "", "", ""),
            (P2, "MATH", "1", "1", "10", "", "", ""),
            (P1, "MATH", "2", "1", "15", "", "", ""),
        ],
    )
    assert _json(run_massar("node", "import-grades", grades_csv, "--json", data=data)) == {"marks": 5}

    # absences: hours 1-3 on Monday (hour 1 justified later), a justified full day, then a CSV
    run_massar("node", "absence", "--student", P1, "--date", "2024-10-07", "--hours", "1,2,3", data=data)
    out = _json(
        run_massar(
            "node",
            "justify",
            "--student",
            P1,
            "--date",
            "2024-10-07",
            "--hours",
            "1",
            "--reason",
            "طبيب",
            "--json",
            data=data,
        )
    )
    assert out["justified_hours"] == [1]
    run_massar(
        "node",
        "absence",
        "--student",
        P1,
        "--date",
        "2024-10-08",
        "--full-day",
        "--justified",
        "--reason",
        "maladie",
        data=data,
    )
    absences_csv = write_csv(
        tmp_path / "absences.csv",
        ("code", "date", "hours", "full_day", "justified", "reason"),
        [(P1, "2024-10-09", "5;6", "", "", ""), (P2, "2024-10-09", "", "1", "", "")],
    )
    assert _json(run_massar("node", "import-absences", absences_csv, "--json", data=data)) == {"absences": 2}

    login = _json(run_massar("node", "issue-login", "--student", P1, "--json", data=data))
    assert login["login"] == f"{P1}@taalim.ma"
    store = NodeStore.open(data)
    try:
        assert authenticate(store.db, login["login"], login["password"])["pupil"] == P1
        assert authenticate(store.db, login["login"], "not-the-password") is None
    finally:
        store.close()

    # Open semesters: staff see every figure, told that parents see no rank yet.
    report = _json(run_massar("node", "report", "--student", P1, "--json", data=data))
    assert (report["closed_semesters"], report["semesters"]["1"]["rank"]) == ([], 1)
    assert "parents see no rank yet" in run_massar("node", "report", "--student", P1, data=data).stdout
    for semester in ("1", "2"):
        closed = _json(run_massar("node", "close-semester", "--semester", semester, "--json", data=data))
        assert closed["closed"] is True

    report = _json(run_massar("node", "report", "--student", P1, "--json", data=data))
    assert report["closed_semesters"] == [1, 2]
    assert (report["student"], report["class"]) == (P1, "1APIC-1")
    s1 = report["semesters"]["1"]
    subjects = {s["subject"]: s for s in s1["subjects"]}
    math = subjects["MATH"]
    assert math["coefficient"] == 3
    assert [t["score"] for t in math["tests"]] == [12.5, 13.5]
    assert math["activities"]["score"] == 16.0
    # MATH: tests mean (12.5 + 13.5) / 2 = 13; 0.75 x 13 + 0.25 x 16 = 9.75 + 4 = 13.75
    assert math["average"] == 13.75
    assert subjects["FRA"]["average"] == 11.0
    assert subjects["SVT"]["tests"][0]["absent"] is True and subjects["SVT"]["average"] is None
    # S1: (13.75 x 3 + 11 x 3) / 6 = 74.25 / 6 = 12.375 -> 12.38; P2 has 10.00 -> P1 ranks 1
    assert (s1["average"], s1["rank"]) == (12.38, 1)
    # S2: MATH 15 alone -> 15.00; annual (12.38 + 15) / 2 = 13.69 -> pass
    assert report["semesters"]["2"]["average"] == 15.0
    assert (report["annual_average"], report["decision"]) == (13.69, "pass")
    # absences: 3 (1 justified) + 8 (justified) + 2 = 13 hours; unjustified 2 + 0 + 2 = 4
    assert (report["absences"]["hours"], report["absences"]["unjustified_hours"]) == (13, 4)

    only_one = _json(run_massar("node", "report", "--student", P1, "--semester", "1", "--json", data=data))
    assert list(only_one["semesters"]) == ["1"]
    human = run_massar("node", "report", "--student", P2, data=data).stdout
    assert P2 in human and "10.00" in human

    reopened = _json(run_massar("node", "close-semester", "--semester", "2", "--reopen", "--json", data=data))
    assert reopened["closed"] is False
    report = _json(run_massar("node", "report", "--student", P1, "--json", data=data))
    assert report["closed_semesters"] == [1]


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    """A node with pupils in collège and primary, one mark, one absence, and a pupil of another school."""
    data = tmp_path_factory.mktemp("cli") / "node"
    store = NodeStore.init(data, "S001", year=YEAR)
    try:
        term = store.term
        enrol(store.db, term, "1APIC-1", P1, P2)
        enrol(store.db, term, "5AP-1", P3)
        enrol(store.db, Term(OTHER_SCHOOL, YEAR), "1APIC-1", code(900))
        mark(store.db, term, P1, "MATH", 1, 1, "12")
    finally:
        store.close()
    return data


G = ("node", "grade", "--subject", "MATH", "--semester", "1", "--assessment", "2")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param((*G, "--student", code(404), "--score", "12"), f"unknown pupil {code(404)}", id="unknown-pupil"),
        pytest.param((*G, "--student", P1, "--score", "21"), "out of the scale 0-20", id="score-out-of-scale"),
        pytest.param((*G, "--student", P3, "--score", "11"), "out of the scale 0-10", id="primary-score-out-of-scale"),
        pytest.param((*G, "--student", P1, "--score", "12.345"), "more than 2 decimals", id="three-decimals"),
        pytest.param((*G, "--student", P1, "--score", "1e30"), "out of the scale", id="huge-score"),
        pytest.param((*G, "--student", P1, "--score", "douze"), "not a number", id="score-not-a-number"),
        pytest.param(
            (*G, "--student", code(900), "--score", "12"), "not enrolled at school S001", id="pupil-of-another-school"
        ),
        pytest.param(
            (
                "node",
                "grade",
                "--student",
                P1,
                "--subject",
                "PHILO",
                "--semester",
                "1",
                "--assessment",
                "1",
                "--score",
                "12",
            ),
            "not taught in 1APIC",
            id="subject-not-taught",
        ),
        pytest.param(
            (*G, "--student", P1, "--score", "12", "--justified"),
            "--justified goes with --absent",
            id="justified-score",
        ),
        pytest.param((*G, "--student", "12345", "--score", "12"), "malformed pupil code", id="malformed-code"),
        pytest.param(
            ("node", "absence", "--student", P1, "--date", TOMORROW, "--hours", "1"),
            "in the future",
            id="date-in-future",
        ),
        pytest.param(
            ("node", "absence", "--student", P1, "--date", "2024-10-07", "--hours", "9"), "hour", id="hour-slot-9"
        ),
        pytest.param(
            ("node", "absence", "--student", P1, "--date", "7/10/2024", "--full-day"), "YYYY-MM-DD", id="date-not-iso"
        ),
        pytest.param(
            ("node", "justify", "--student", P1, "--date", "2024-10-07", "--reason", "x"),
            "no absence recorded",
            id="justify-nothing",
        ),
        pytest.param(("node", "issue-login", "--student", code(404)), "unknown pupil", id="login-unknown-pupil"),
        pytest.param(("node", "report", "--student", "abc"), "malformed pupil code", id="report-malformed-code"),
        pytest.param(("node", "report", "--student", code(900)), "unknown pupil", id="report-other-school"),
        pytest.param(
            ("node", "assign-code", "--student", P1, "--code", "R12"), "malformed pupil code", id="assign-malformed"
        ),
        pytest.param(("node", "subjects", "--level", "7APIC", "--json"), "unknown level", id="unknown-level"),
        pytest.param(("node", "init", "--school", "S002"), "already holds school S001", id="init-other-school"),
        pytest.param(("node", "init", "--school", "s-1"), "malformed school code", id="init-malformed-school"),
    ],
)
def test_errors_print_one_line_and_change_nothing(school, run_massar, digest, args, message):
    before = digest(school)
    proc = run_massar(*args, data=school, check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and message in lines[0], proc.stderr
    if "--json" in args:
        assert _json(proc)["message"] in lines[0]
    else:
        assert proc.stdout == ""
    assert digest(school) == before


def test_no_data_folder(tmp_path, run_massar):
    proc = run_massar("node", "report", "--student", P1, data=None, check=False)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == ["error: no data folder: pass --data DIR or set MASSAR_DATA"]
    # and a folder without a node is not silently created
    empty = tmp_path / "nothing-here"
    proc = run_massar("node", "grade", *G[2:], "--student", P1, "--score", "12", data=empty, check=False)
    assert proc.returncode != 0
    assert len(proc.stderr.strip().splitlines()) == 1 and "no school node" in proc.stderr
    assert not empty.exists()


@pytest.mark.parametrize(
    ("command", "header", "rows", "bad_rows"),
    [
        pytest.param(
            "import-roster",
            ("code", "last_name", "first_name", "gender", "birth_date", "birth_place", "level", "class"),
            [
                (code(10), "Alaoui", "Omar", "M", "2012-01-01", "", "1APIC", "1APIC-1"),
                ("A12", "Bad", "Code", "M", "2012-01-01", "", "1APIC", "1APIC-1"),
                (code(900), "Other", "School", "F", "2012-01-01", "", "1APIC", "1APIC-1"),
                (code(10), "Twice", "Listed", "M", "2012-01-01", "", "1APIC", "1APIC-1"),
            ],
            [3, 4, 5],
            id="roster",
        ),
        pytest.param(
            "import-grades",
            ("code", "subject", "semester", "assessment", "score", "absent", "justified", "remark"),
            [
                (P1, "MATH", "1", "2", "15", "", "", ""),
                (P1, "MATH", "1", "3", "25", "", "", ""),
                (code(404), "MATH", "1", "3", "12", "", "", ""),
                (P3, "MATH", "1", "1", "10.5", "", "", ""),
            ],
            [3, 4, 5],
            id="grades",
        ),
        pytest.param(
            "import-absences",
            ("code", "date", "hours", "full_day", "justified", "reason"),
            [
                (P1, "2024-10-07", "1;2", "", "", ""),
                (P1, TOMORROW, "1", "", "", ""),
                (P2, "2024-10-07", "1;9", "", "", ""),
            ],
            [3, 4],
            id="absences",
        ),
    ],
)
def test_bad_import_files_report_every_bad_row_and_change_nothing(
    school, tmp_path, run_massar, digest, command, header, rows, bad_rows
):
    path = write_csv(tmp_path / "file.csv", header, rows)
    before = digest(school)
    proc = run_massar("node", command, path, data=school, check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert lines[0] == f"error: {len(bad_rows)} bad row(s) in file.csv; nothing was imported" or (
        lines[0] == f"error: {len(bad_rows)} bad row(s); nothing was imported"
    ), proc.stderr
    assert [int(line.split()[1].rstrip(":,")) for line in lines[1:]] == bad_rows, proc.stderr
    assert proc.stdout == ""
    assert digest(school) == before
