"""Staff pages: grade sheet, roll-call, justifications, incidents, registration, parent logins, sync."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain import absences, accounts, grades, incidents, pupils
from domain.codes import check_pupil_code, level_of_class, parse_date
from domain.database import write_transaction
from domain.errors import InvalidInput, NotFound
from domain.pupils import Term
from domain.rows import delete_keys, upsert_dicts
from domain.rules import ACTIVITIES, FULL_DAY, HOUR_SLOTS, from_hundredths, mask_hours

from ..alerts import refresh_average_alerts
from .core import Web
from .translations import error_key, translator

MAX_TEXT = 500


def _web(request: Request) -> Web:
    return request.app.state.web


def _text(form: FormData, name: str, limit: int = MAX_TEXT) -> str:
    value = form.get(name, "")
    value = value if isinstance(value, str) else ""
    if len(value) > limit:
        raise InvalidInput(f"{name} is too long", code="too_long")
    return value.strip()


def _t(request: Request):
    return translator(_web(request).lang(request))


def _on_error(request: Request, render) -> None:
    """Let the domain-error handler re-show this form (with what was typed) and the message."""
    request.state.on_error = render


# -- home ----------------------------------------------------------------------------------


async def staff_home(request: Request) -> Response:
    web = _web(request)
    web.require_staff(request, "sync")
    return web.render(
        request, "staff/home.html", {"title_key": "staff.title", "status": web.status(), "classes": web.classes()}
    )


# -- grade sheet ---------------------------------------------------------------------------


def _assessments(cls: dict) -> list[int]:
    # Primary: two tests per semester; collège and lycée: up to four. Then the activities.
    tests = 2 if cls["cycle"] == "primary" else 4
    return [*range(1, tests + 1), ACTIVITIES]


def _sheet_choice(web: Web, params) -> tuple[dict | None, dict | None, int | None, list[dict]]:
    cls = web.class_of(params.get("class"))
    subjects = pupils.subjects_of_level(web.db, cls["level"]) if cls else []
    subject = None
    if cls and params.get("subject"):
        code = str(params.get("subject")).strip().upper()
        subject = next((s for s in subjects if s["code"] == code), None)
        if subject is None:
            raise NotFound(f"subject {code} is not taught in {cls['level']}", code="unknown_subject")
    semester = None
    if params.get("semester"):
        semester = grades.parse_semester(str(params.get("semester")))
    return cls, subject, semester, subjects


def _stored_sheet(web: Web, cls: dict, subject: str, semester: int, rows: list[dict]) -> dict[str, str]:
    index = {p["code"]: i for i, p in enumerate(rows)}
    values: dict[str, str] = {}
    for pupil, a, score, absent, justified, remark in web.db.execute(
        "SELECT g.pupil, g.assessment, g.score, g.absent, g.justified, g.remark FROM grades g "
        "JOIN enrolments e ON e.year = g.year AND e.pupil = g.pupil "
        "WHERE e.school = ? AND e.year = ? AND e.class = ? AND g.subject = ? AND g.semester = ?",
        [web.store.school, web.store.term.year, cls["code"], subject, semester],
    ).fetchall():
        i = index.get(pupil)
        if i is None:
            continue
        if absent:
            values[f"x{i}_{a}"] = "j" if justified else "a"
        else:
            values[f"s{i}_{a}"] = f"{from_hundredths(score).normalize():f}"
        if remark:
            values[f"r{i}"] = remark
    return values


async def grade_sheet(request: Request) -> Response:
    web = _web(request)
    web.require_staff(request, "grades")
    cls, subject, semester, subjects = _sheet_choice(web, request.query_params)
    ctx: dict[str, Any] = {"title_key": "grades.title", "classes": web.classes(), "cls": cls, "subjects": subjects}
    ctx.update({"subject": subject, "semester": semester, "sheet": False, "values": {}, "errors": {}})
    if cls and subject and semester:
        rows = web.pupils_of_class(cls["code"])
        ctx.update(
            sheet=True,
            rows=rows,
            assessments=_assessments(cls),
            values=_stored_sheet(web, cls, subject["code"], semester, rows),
        )
    return web.render(request, "staff/grades.html", ctx)


async def grade_sheet_save(request: Request) -> Response:
    web = _web(request)
    web.require_staff(request, "grades")
    form = await web.form(request)
    cls, subject, semester, subjects = _sheet_choice(web, form)
    if not (cls and subject and semester):
        raise InvalidInput("choose a class, a subject and a semester", code="missing_choice")
    t = _t(request)
    rows = web.pupils_of_class(cls["code"])
    in_class = {p["code"] for p in rows}
    assessments = _assessments(cls)
    scale = cls["scale"]
    values = {k: v for k, v in form.multi_items() if isinstance(v, str) and k[:1] in "sxr" and len(v) <= MAX_TEXT}
    errors: dict[str, str] = {}
    entries: list[grades.GradeEntry] = []
    cleared: list[tuple] = []
    seen: set[str] = set()
    stored = _stored_sheet(web, cls, subject["code"], semester, rows)
    # The rows as posted; the pupil of row i must be in this class (ids in forms are never trusted).
    posted = sorted({int(k[1:]) for k in form if k.startswith("p") and k[1:].isdigit()})
    if len(posted) > len(rows) + 1:
        raise InvalidInput("too many rows", code="bad_sheet")
    order = {p["code"]: i for i, p in enumerate(rows)}
    for i in posted:
        pupil = str(form.get(f"p{i}", "")).strip().upper()
        if pupil not in in_class or pupil in seen:
            raise NotFound(f"pupil {pupil} is not in class {cls['code']}", code="not_in_class")
        seen.add(pupil)
        remark = _text(form, f"r{i}")
        mine = []
        for a in assessments:
            k = f"{i}_{a}"
            score_text = _text(form, f"s{k}", 20)
            mark = str(form.get(f"x{k}", ""))
            if mark not in ("", "a", "j"):
                errors[k] = t("err.bad_absence_mark")
                continue
            if mark and score_text:
                errors[k] = t("err.score_and_absent")
                continue
            if mark:
                mine.append(grades.GradeEntry(pupil, subject["code"], semester, a, None, True, mark == "j", remark))
            elif score_text:
                try:
                    score = grades.parse_score(score_text)
                except InvalidInput:
                    errors[k] = t("err.bad_score")
                    continue
                if not Decimal(0) <= score <= scale:
                    errors[k] = t("err.score_out_of_scale_n", scale=scale)
                    continue
                mine.append(grades.GradeEntry(pupil, subject["code"], semester, a, score, False, False, remark))
            elif f"s{order[pupil]}_{a}" in stored or f"x{order[pupil]}_{a}" in stored:
                cleared.append((web.store.term.year, pupil, subject["code"], semester, a))
        if remark and not mine:
            errors[f"{i}_r"] = t("err.remark_needs_mark")
        entries.extend(mine)

    def show(message: str | None, status: int) -> Response:
        ctx = {
            "title_key": "grades.title",
            "classes": web.classes(),
            "cls": cls,
            "subjects": subjects,
            "subject": subject,
            "semester": semester,
            "sheet": True,
            "rows": rows,
            "assessments": assessments,
            "values": values,
            "errors": errors,
            "error": message,
        }
        return web.render(request, "staff/grades.html", ctx, status=status)

    if errors:
        return show(t("err.sheet_has_errors", n=len(errors)), 400)
    _on_error(request, show)
    term = web.store.term
    for pupil in seen:  # the averages before the save: the baseline for "dropped by 2 points"
        refresh_average_alerts(web.db, term, pupil)
    with write_transaction(web.db):
        grades.record_grades(web.db, term, entries)
        delete_keys(web.db, "grades", cleared)
    for pupil in seen:
        refresh_average_alerts(web.db, term, pupil)
    web.local_write()
    web.flash(request, "flash.grades_saved", n=len(entries))
    query = urlencode({"class": cls["code"], "subject": subject["code"], "semester": semester})
    return web.redirect(f"/staff/grades?{query}")


# -- absences ------------------------------------------------------------------------------


def _day(params, default_today: bool = True) -> dt.date:
    text = params.get("day") or (dt.date.today().isoformat() if default_today else "")
    return parse_date(str(text), field="day")


async def roll_call(request: Request) -> Response:
    web = _web(request)
    web.require_staff(request, "absences")
    cls = web.class_of(request.query_params.get("class"))
    day = _day(request.query_params)
    ctx: dict[str, Any] = {"title_key": "absences.title", "classes": web.classes(), "cls": cls, "day": day.isoformat()}
    ctx.update({"slots": range(1, HOUR_SLOTS + 1), "rows": [], "recorded": {}, "checked": {}})
    if cls:
        rows = web.pupils_of_class(cls["code"])
        recorded = dict(
            web.db.execute(
                "SELECT a.pupil, a.hours FROM absences a JOIN enrolments e ON e.pupil = a.pupil "
                "WHERE e.school = ? AND e.year = ? AND e.class = ? AND a.day = ?",
                [web.store.school, web.store.term.year, cls["code"], day.isoformat()],
            ).fetchall()
        )
        ctx.update(rows=rows, recorded={p: set(mask_hours(m)) for p, m in recorded.items()})
    return web.render(request, "staff/absences.html", ctx)


async def roll_call_save(request: Request) -> Response:
    web = _web(request)
    user = web.require_staff(request, "absences")
    form = await web.form(request)
    cls = web.class_of(form.get("class"))
    if cls is None:
        raise InvalidInput("choose a class", code="missing_choice")
    day = _day(form, default_today=False)
    in_class = {p["code"] for p in web.pupils_of_class(cls["code"])}
    entries = []
    for key in form:
        if not (key.startswith("p") and key[1:].isdigit()):
            continue
        i = key[1:]
        pupil = str(form.get(key, "")).strip().upper()
        if pupil not in in_class:
            raise NotFound(f"pupil {pupil} is not in class {cls['code']}", code="not_in_class")
        if form.get(f"f{i}"):
            mask = FULL_DAY
        else:
            slots = form.getlist(f"h{i}")
            if not slots:
                continue
            mask = absences.parse_hours(",".join(str(s) for s in slots))
        entries.append(absences.AbsenceEntry(pupil, day, mask, recorded_by=user.login))
    if entries:
        absences.record_absences(web.db, web.store.term, entries)
        web.local_write()
    web.flash(request, "flash.absences_saved", n=len(entries))
    return web.redirect(f"/staff/absences?{urlencode({'class': cls['code'], 'day': day.isoformat()})}")


async def justify_page(request: Request) -> Response:
    web = _web(request)
    web.require_staff(request, "justify")
    cls = web.class_of(request.query_params.get("class"))
    items = []
    if cls:
        start, end = web.store.term.year.split("/")
        for pupil, day, hours, justified, reason in web.db.execute(
            "SELECT a.pupil, a.day, a.hours, a.justified, a.reason FROM absences a "
            "JOIN enrolments e ON e.pupil = a.pupil AND e.school = a.school "
            "WHERE e.school = ? AND e.year = ? AND e.class = ? AND a.day BETWEEN ? AND ? "
            "ORDER BY (a.hours & ~a.justified) = 0, a.day DESC",
            [web.store.school, web.store.term.year, cls["code"], f"{start}-09-01", f"{end}-08-31"],
        ).fetchall():
            items.append(
                {
                    "pupil": pupil,
                    "day": day,
                    "hours": mask_hours(hours),
                    "open": mask_hours(hours & ~justified),
                    "reason": reason,
                }
            )
        names = {p["code"]: p for p in web.pupils_of_class(cls["code"])}
        for item in items:
            item["who"] = names.get(item["pupil"], {"last_name": item["pupil"], "first_name": ""})
    return web.render(
        request,
        "staff/justify.html",
        {"title_key": "justify.title", "classes": web.classes(), "cls": cls, "items": items},
    )


async def justify_save(request: Request) -> Response:
    web = _web(request)
    web.require_staff(request, "justify")
    form = await web.form(request)
    cls = web.class_of(form.get("class"))
    pupil = check_pupil_code(str(form.get("pupil", "")))
    if cls is None or pupil not in {p["code"] for p in web.pupils_of_class(cls["code"])}:
        raise NotFound(f"pupil {pupil} is not in this class", code="not_in_class")
    day = parse_date(str(form.get("day", "")), field="day")
    absences.justify_absence(web.db, web.store.term, pupil, day, _text(form, "reason"))
    web.local_write()
    web.flash(request, "flash.justified")
    return web.redirect(f"/staff/justify?{urlencode({'class': cls['code']})}")


# -- incidents -----------------------------------------------------------------------------


async def incidents_page(request: Request) -> Response:
    web = _web(request)
    web.require_staff(request, "incidents")
    return _incidents_form(request, web, web.class_of(request.query_params.get("class")), {})


def _incidents_form(request: Request, web: Web, cls: dict | None, values: dict, error=None, status=200) -> Response:
    rows = web.pupils_of_class(cls["code"]) if cls else []
    recent = []
    if cls:
        recent = [
            dict(zip(("pupil", "day", "description", "measure"), r, strict=True))
            for r in web.db.execute(
                "SELECT i.pupil, i.day, i.description, i.measure FROM incidents i "
                "JOIN enrolments e ON e.pupil = i.pupil AND e.school = i.school "
                "WHERE e.school = ? AND e.year = ? AND e.class = ? ORDER BY i.day DESC, i.n DESC LIMIT 30",
                [web.store.school, web.store.term.year, cls["code"]],
            ).fetchall()
        ]
    ctx = {"title_key": "incidents.title", "classes": web.classes(), "cls": cls, "rows": rows, "recent": recent}
    ctx.update({"values": {"day": dt.date.today().isoformat(), **values}, "error": error})
    return web.render(request, "staff/incidents.html", ctx, status=status)


async def incidents_save(request: Request) -> Response:
    web = _web(request)
    web.require_staff(request, "incidents")
    form = await web.form(request)
    cls = web.class_of(form.get("class"))
    if cls is None:
        raise InvalidInput("choose a class", code="missing_choice")
    values = {k: _text(form, k) for k in ("pupil", "day", "description", "measure")}
    _on_error(request, lambda message, status: _incidents_form(request, web, cls, values, message, status))
    pupil = check_pupil_code(values["pupil"])
    if pupil not in {p["code"] for p in web.pupils_of_class(cls["code"])}:
        raise NotFound(f"pupil {pupil} is not in class {cls['code']}", code="not_in_class")
    day = parse_date(values["day"], field="day")
    incidents.record_incident(web.db, web.store.term, pupil, day, values["description"], values["measure"])
    web.local_write()
    web.flash(request, "flash.incident_saved")
    return web.redirect(f"/staff/incidents?{urlencode({'class': cls['code']})}")


# -- registration --------------------------------------------------------------------------

REGISTER_FIELDS = (
    "class",
    "last_name",
    "first_name",
    "last_name_ar",
    "first_name_ar",
    "gender",
    "birth_date",
    "birth_place",
    "code",
)


def _register_form(request: Request, web: Web, values: dict, error=None, status=200) -> Response:
    ctx = {"title_key": "register.title", "classes": web.classes(), "values": values, "error": error}
    return web.render(request, "staff/register.html", ctx, status=status)


async def register_page(request: Request) -> Response:
    web = _web(request)
    web.require_staff(request, "register")
    return _register_form(request, web, {k: "" for k in REGISTER_FIELDS})


async def register_save(request: Request) -> Response:
    web = _web(request)
    web.require_staff(request, "register")
    form = await web.form(request)
    values = {k: _text(form, k, 120) for k in REGISTER_FIELDS}
    _on_error(request, lambda message, status: _register_form(request, web, values, message, status))
    if not values["class"]:
        raise InvalidInput("choose a class", code="missing_choice")
    code = check_pupil_code(values["code"]) if values["code"] else None
    birth = parse_date(values["birth_date"], field="birth date").isoformat() if values["birth_date"] else None
    code = pupils.register_pupil(
        web.db,
        web.store.term,
        class_code=values["class"],
        last_name=values["last_name"],
        first_name=values["first_name"],
        gender=values["gender"],
        birth_date=birth,
        birth_place=values["birth_place"] or None,
        code=code,
        last_name_ar=values["last_name_ar"] or None,
        first_name_ar=values["first_name_ar"] or None,
    )
    web.local_write()
    web.flash(request, "flash.registered", code=code, cls=values["class"].upper())
    return web.redirect("/staff/register")


def next_year(year: str) -> str:
    start = int(year.split("/")[0]) + 1
    return f"{start}/{start + 1}"


def _reenrol_form(request: Request, web: Web, cls: dict | None, values: dict, error=None, status=200) -> Response:
    term = web.store.term
    rows = web.pupils_of_class(cls["code"]) if cls else []
    following = next_year(term.year)
    if cls and not values:
        placed = dict(
            web.db.execute(
                "SELECT pupil, class FROM enrolments WHERE school = ? AND year = ?", [term.school, following]
            ).fetchall()
        )
        values = {f"n{i}": placed.get(p["code"], "") for i, p in enumerate(rows)}
    ctx = {"title_key": "reenrol.title", "classes": web.classes(), "cls": cls, "rows": rows, "next_year": following}
    ctx.update({"values": values, "error": error})
    return web.render(request, "staff/reenrol.html", ctx, status=status)


async def reenrol_page(request: Request) -> Response:
    web = _web(request)
    web.require_staff(request, "register")
    return _reenrol_form(request, web, web.class_of(request.query_params.get("class")), {})


async def reenrol_save(request: Request) -> Response:
    """Enrol pupils of a class of this year into classes of the next school year (all or nothing)."""
    web = _web(request)
    web.require_staff(request, "register")
    form = await web.form(request)
    cls = web.class_of(form.get("class"))
    if cls is None:
        raise InvalidInput("choose a class", code="missing_choice")
    values = {k: _text(form, k, 20) for k in form if k[:1] == "n" and k[1:].isdigit()}
    _on_error(request, lambda message, status: _reenrol_form(request, web, cls, values, message, status))
    rows = web.pupils_of_class(cls["code"])
    in_class = {p["code"] for p in rows}
    target = Term(web.store.school, next_year(web.store.term.year))
    count = 0
    with write_transaction(web.db):
        for key in form:
            if not (key.startswith("p") and key[1:].isdigit()):
                continue
            pupil = str(form.get(key, "")).strip().upper()
            if pupil not in in_class:
                raise NotFound(f"pupil {pupil} is not in class {cls['code']}", code="not_in_class")
            new_class = values.get(f"n{key[1:]}", "").upper()
            if not new_class:
                continue
            new_class = pupils.ensure_class(web.db, target, new_class, level_of_class(new_class))
            upsert_dicts(
                web.db,
                "enrolments",
                [{"school": target.school, "year": target.year, "pupil": pupil, "class": new_class}],
            )
            count += 1
    if count:
        web.local_write()
    web.flash(request, "flash.reenrolled", n=count, year=target.year)
    return web.redirect(f"/staff/reenrol?{urlencode({'class': cls['code']})}")


# -- parent logins -------------------------------------------------------------------------


async def logins_page(request: Request) -> Response:
    web = _web(request)
    web.require_staff(request, "logins")
    cls = web.class_of(request.query_params.get("class"))
    rows = web.pupils_of_class(cls["code"]) if cls else []
    issued = {}
    if rows:
        issued = dict(
            web.db.execute(
                "SELECT pupil, issued_on FROM accounts WHERE role = 'parent' AND pupil IN "
                f"({', '.join('?' for _ in rows)})",
                [p["code"] for p in rows],
            ).fetchall()
        )
    ctx = {"title_key": "logins.title", "classes": web.classes(), "cls": cls, "rows": rows, "issued": issued}
    return web.render(request, "staff/logins.html", ctx)


async def logins_issue(request: Request) -> Response:
    web = _web(request)
    web.require_staff(request, "logins")
    form = await web.form(request)
    pupil = check_pupil_code(str(form.get("pupil", "")))
    pupils.enrolment_of(web.db, web.store.term, pupil)  # this school's pupils only
    login, password = accounts.issue_parent_login(web.db, pupil)
    p = web.db.execute(
        "SELECT code, last_name, first_name, last_name_ar, first_name_ar FROM pupils WHERE code = ?", [pupil]
    ).fetchone()
    who = dict(zip(("code", "last_name", "first_name", "last_name_ar", "first_name_ar"), p, strict=True))
    ctx = {"title_key": "slip.title", "login": login, "password": password, "who": who}
    ctx["ar"], ctx["fr"] = translator("ar"), translator("fr")
    return web.render(request, "staff/slip.html", ctx)


# -- sync ----------------------------------------------------------------------------------


async def sync_page(request: Request) -> Response:
    web = _web(request)
    web.require_staff(request, "sync")
    status = web.status()
    from .status import format_timestamp

    ctx = {"title_key": "sync.title", "status": status, "last": format_timestamp(status.get("last_sync"))}
    ctx["agent"] = web.agent is not None
    from ..notify.outbox import outbox_counts

    ctx["sms"], ctx["sms_gateway"] = outbox_counts(web.db), bool(web.store.setting("sms_gateway"))
    return web.render(request, "staff/sync.html", ctx)


async def sync_now(request: Request) -> Response:
    web = _web(request)
    web.require_staff(request, "sync_now")
    await web.form(request)
    if web.agent is None:
        web.flash(request, "flash.no_agent", "warn")
    else:
        try:
            web.agent.request_sync()  # type: ignore[attr-defined]
        except Exception:
            raise HTTPException(503) from None
        web.flash(request, "flash.sync_requested")
    return web.redirect("/staff/sync")


routes = [
    Route("/staff", staff_home),
    Route("/staff/grades", grade_sheet, methods=["GET"]),
    Route("/staff/grades", grade_sheet_save, methods=["POST"]),
    Route("/staff/absences", roll_call, methods=["GET"]),
    Route("/staff/absences", roll_call_save, methods=["POST"]),
    Route("/staff/justify", justify_page, methods=["GET"]),
    Route("/staff/justify", justify_save, methods=["POST"]),
    Route("/staff/incidents", incidents_page, methods=["GET"]),
    Route("/staff/incidents", incidents_save, methods=["POST"]),
    Route("/staff/register", register_page, methods=["GET"]),
    Route("/staff/register", register_save, methods=["POST"]),
    Route("/staff/reenrol", reenrol_page, methods=["GET"]),
    Route("/staff/reenrol", reenrol_save, methods=["POST"]),
    Route("/staff/logins", logins_page, methods=["GET"]),
    Route("/staff/logins", logins_issue, methods=["POST"]),
    Route("/staff/sync", sync_page, methods=["GET"]),
    Route("/staff/sync", sync_now, methods=["POST"]),
]

__all__ = ["routes", "error_key"]
