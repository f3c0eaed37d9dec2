"""The parent terminal: the child is always the session's pupil, never one named in a URL or form.

A pupil of a satellite school this school hosts (syncclient/satellites.py) is read here too, marked
with the satellite's name and how recent its data is."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.pupils import Term, enrolment_of
from domain.results import pupil_report
from domain.semesters import provisional_report

from .. import alerts
from ..satellites import satellite_of_pupil
from ..semesters import closed_semesters
from .core import Web, get_page, post_page


def _term(web: Web, pupil: str) -> Term:
    """The school and year the child's record is read in: this school's, or its satellite's."""
    satellite = satellite_of_pupil(web.db, web.store.school, pupil)
    return Term(satellite.code, web.store.term.year) if satellite else web.store.term


def _report(web: Web, pupil: str, year: str | None = None) -> dict:
    year = year or web.store.term.year
    satellite = satellite_of_pupil(web.db, web.store.school, pupil)
    report = pupil_report(web.db, year, pupil, school=satellite.code if satellite else web.store.school)
    # A satellite's semesters are closed by its own director: the closure reaches its host read-only.
    report = provisional_report(report, closed_semesters(web.db, year, report["school"]))
    report["satellite"] = satellite._asdict() if satellite else None
    return report


def _years_of(web: Web, pupil: str) -> list[str]:
    """The school years this child was enrolled here, newest first (last year's results stay readable)."""
    rows = web.db.execute(
        "SELECT year FROM enrolments WHERE pupil = ? AND school = ? ORDER BY year DESC",
        [pupil, _term(web, pupil).school],
    ).fetchall()
    return [r[0] for r in rows]


def _subject_names(web: Web) -> dict[str, dict]:
    return {
        r[0]: {"name_ar": r[1], "name_fr": r[2]} for r in web.db.execute("SELECT code, name_ar, name_fr FROM subjects")
    }


@get_page
def results(web: Web, request: Request) -> Response:
    pupil = web.parent_pupil(request)
    alerts.refresh_average_alerts(web.db, _term(web, pupil), pupil)
    years = _years_of(web, pupil)
    current = web.store.term.year
    year = request.query_params.get("year") or (current if current in years or not years else years[0])
    if year not in years:
        raise HTTPException(404)  # only the child's own years at this school
    report = _report(web, pupil, year)
    ctx = {"title_key": "results.title", "report": report, "other_years": [y for y in years if y != year]}
    return web.render(request, "parent/results.html", ctx)


@get_page
def absences_page(web: Web, request: Request) -> Response:
    pupil = web.parent_pupil(request)
    report = _report(web, pupil)
    everything = report["absences"]["days"]  # newest first
    days = [d for d in everything if d["unjustified_hours"]] + [d for d in everything if not d["unjustified_hours"]]
    ctx = {"title_key": "pabsences.title", "report": report, "days": days, "summary": report["absences"]}
    return web.render(request, "parent/absences.html", ctx)


@get_page
def incidents_page(web: Web, request: Request) -> Response:
    pupil = web.parent_pupil(request)
    report = _report(web, pupil)
    rows = web.db.execute(
        "SELECT day, description, measure FROM incidents WHERE pupil = ? AND school = ? ORDER BY day DESC, n DESC",
        [pupil, _term(web, pupil).school],
    ).fetchall()
    items = [{"day": r[0], "description": r[1], "measure": r[2]} for r in rows]
    return web.render(
        request, "parent/incidents.html", {"title_key": "pincidents.title", "report": report, "items": items}
    )


@get_page
def alerts_page(web: Web, request: Request) -> Response:
    pupil = web.parent_pupil(request)
    report = _report(web, pupil)
    alerts.refresh_average_alerts(web.db, _term(web, pupil), pupil)
    items = alerts.alerts_for(web.db, pupil)
    for item in items:
        if item["kind"] == "absence":
            item["mask"] = int(item["detail"].get("hours", 0))
    ctx = {"title_key": "alerts.title", "report": report, "items": items, "subjects": _subject_names(web)}
    return web.render(request, "parent/alerts.html", ctx)


@post_page
def alerts_read(web: Web, request: Request, form: FormData) -> Response:
    pupil = web.parent_pupil(request)
    which = str(form.get("alert", ""))
    if which == "all":
        alerts.mark_read(web.db, pupil)
    else:
        if not which.isdigit() or not alerts.alert_exists(web.db, pupil, int(which)):
            raise HTTPException(404)  # another family's alert looks exactly like a missing one
        alerts.mark_read(web.db, pupil, int(which))
    return web.redirect("/parent/alerts")


@get_page
def exams_page(web: Web, request: Request) -> Response:
    pupil = web.parent_pupil(request)
    report = _report(web, pupil)
    level = enrolment_of(web.db, _term(web, pupil), pupil).level
    exams = [
        dict(zip(("level", "exam", "starts_on", "ends_on", "name_ar", "name_fr"), r, strict=True))
        for r in web.db.execute(
            "SELECT level, exam, starts_on, ends_on, name_ar, name_fr FROM exam_calendar WHERE year = ? "
            "ORDER BY starts_on, code",
            [web.store.term.year],
        ).fetchall()
    ]
    for e in exams:
        e["mine"] = level == e["level"] or level.startswith(e["level"])
    notes = [
        dict(zip(("level", "published_on", "title_ar", "title_fr", "body_ar", "body_fr"), r, strict=True))
        for r in web.db.execute(
            "SELECT level, published_on, title_ar, title_fr, body_ar, body_fr FROM guidance_notes "
            "ORDER BY published_on DESC, code LIMIT 30"
        ).fetchall()
    ]
    ctx = {"title_key": "exams.title", "report": report, "exams": exams, "notes": notes}
    return web.render(request, "parent/exams.html", ctx)


routes = [
    Route("/parent", results),
    Route("/parent/absences", absences_page),
    Route("/parent/incidents", incidents_page),
    Route("/parent/alerts", alerts_page, methods=["GET"]),
    Route("/parent/alerts/read", alerts_read, methods=["POST"]),
    Route("/parent/exams", exams_page),
]
