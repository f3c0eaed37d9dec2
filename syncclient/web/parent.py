"""The parent terminal: the child is always the session's pupil, never one named in a URL or form."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.pupils import enrolment_of
from domain.results import pupil_report
from domain.semesters import provisional_report

from .. import alerts
from ..semesters import closed_semesters
from .core import Web, get_page, post_page


def _report(web: Web, pupil: str) -> dict:
    year = web.store.term.year
    report = pupil_report(web.db, year, pupil, school=web.store.school)
    return provisional_report(report, closed_semesters(web.db, year))


def _subject_names(web: Web) -> dict[str, dict]:
    return {
        r[0]: {"name_ar": r[1], "name_fr": r[2]} for r in web.db.execute("SELECT code, name_ar, name_fr FROM subjects")
    }


@get_page
def results(web: Web, request: Request) -> Response:
    user = web.require_parent(request)
    alerts.refresh_average_alerts(web.db, web.store.term, user.pupil)
    report = _report(web, user.pupil)
    return web.render(request, "parent/results.html", {"title_key": "results.title", "report": report})


@get_page
def absences_page(web: Web, request: Request) -> Response:
    user = web.require_parent(request)
    report = _report(web, user.pupil)
    everything = report["absences"]["days"]  # newest first
    days = [d for d in everything if d["unjustified_hours"]] + [d for d in everything if not d["unjustified_hours"]]
    ctx = {"title_key": "pabsences.title", "report": report, "days": days, "summary": report["absences"]}
    return web.render(request, "parent/absences.html", ctx)


@get_page
def incidents_page(web: Web, request: Request) -> Response:
    user = web.require_parent(request)
    report = _report(web, user.pupil)
    rows = web.db.execute(
        "SELECT day, description, measure FROM incidents WHERE pupil = ? AND school = ? ORDER BY day DESC, n DESC",
        [user.pupil, web.store.school],
    ).fetchall()
    items = [{"day": r[0], "description": r[1], "measure": r[2]} for r in rows]
    return web.render(
        request, "parent/incidents.html", {"title_key": "pincidents.title", "report": report, "items": items}
    )


@get_page
def alerts_page(web: Web, request: Request) -> Response:
    user = web.require_parent(request)
    report = _report(web, user.pupil)
    alerts.refresh_average_alerts(web.db, web.store.term, user.pupil)
    items = alerts.alerts_for(web.db, user.pupil)
    for item in items:
        if item["kind"] == "absence":
            item["mask"] = int(item["detail"].get("hours", 0))
    ctx = {"title_key": "alerts.title", "report": report, "items": items, "subjects": _subject_names(web)}
    return web.render(request, "parent/alerts.html", ctx)


@post_page
def alerts_read(web: Web, request: Request, form: FormData) -> Response:
    user = web.require_parent(request)
    which = str(form.get("alert", ""))
    if which == "all":
        alerts.mark_read(web.db, user.pupil)
    else:
        if not which.isdigit() or not alerts.alert_exists(web.db, user.pupil, int(which)):
            raise HTTPException(404)  # another family's alert looks exactly like a missing one
        alerts.mark_read(web.db, user.pupil, int(which))
    return web.redirect("/parent/alerts")


@get_page
def exams_page(web: Web, request: Request) -> Response:
    user = web.require_parent(request)
    report = _report(web, user.pupil)
    level = enrolment_of(web.db, web.store.term, user.pupil).level
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
