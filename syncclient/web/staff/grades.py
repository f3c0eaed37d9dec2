"""The grade sheet: one class, subject and semester, typed row by row or column by column."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain import grades, pupils
from domain.errors import InvalidInput, NotFound
from domain.gradesheet import (
    ABSENT,
    JUSTIFIED,
    SheetChoice,
    SheetRow,
    SheetSave,
    SheetState,
    assessments_of,
    cell_value,
    rows_from_fields,
    save_sheet,
    shown_field,
    stored_sheet,
)

from ...alerts import refresh_average_alerts
from ..core import Web, format_cell, get_page, post_page
from ..translations import translator
from .forms import fields, on_error


def _choice(web: Web, params: QueryParams | FormData) -> tuple[dict | None, dict | None, int | None, list[dict]]:
    cls = web.class_of(params.get("class"))
    subjects = pupils.subjects_of_level(web.db, cls["level"], web.store.term.year) if cls else []
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


def _put(values: dict[str, str], i: int, a: int, text: str, lang: str) -> None:
    """One stored cell into the form's fields: a score box (written as the bulletin writes it) and an absence choice."""
    values.pop(f"s{i}_{a}", None)
    values.pop(f"x{i}_{a}", None)
    if text in (ABSENT, JUSTIFIED):
        values[f"x{i}_{a}"] = text
    elif text:
        values[f"s{i}_{a}"] = format_cell(text, lang)


def _sheet_values(rows: list[dict], state: SheetState, assessments: list[int], lang: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for i, p in enumerate(rows):
        cells = [state.cells.get((p["code"], a), "") for a in assessments]
        for a, text in zip(assessments, cells, strict=True):
            _put(values, i, a, text, lang)
        values[f"r{i}"] = state.remarks.get(p["code"], "")
        values[f"o{i}"] = shown_field(cells, values[f"r{i}"])
    return values


def _context(web: Web, cls: dict | None, subject: dict | None, semester: int | None, subjects: list[dict]) -> dict:
    ctx: dict[str, Any] = {"title_key": "grades.title", "classes": web.classes(), "cls": cls, "subjects": subjects}
    ctx.update({"subject": subject, "semester": semester, "sheet": False, "values": {}, "errors": {}, "rows": []})
    return ctx


@get_page
def grade_sheet(web: Web, request: Request) -> Response:
    web.require_staff(request, "grades")
    cls, subject, semester, subjects = _choice(web, request.query_params)
    ctx = _context(web, cls, subject, semester, subjects)
    if cls and subject and semester:
        rows = web.pupils_of_class(cls["code"])
        assessments = assessments_of(subject["tests"])
        state = stored_sheet(web.db, web.store.term, cls["code"], subject["code"], semester)
        ctx.update(
            sheet=True,
            rows=rows,
            assessments=assessments,
            values=_sheet_values(rows, state, assessments, web.lang(request)),
        )
    return web.render(request, "staff/grades.html", ctx)


def _cell_label(t: Callable[..., str], text: str) -> str:
    return {ABSENT: t("grades.abs"), JUSTIFIED: t("grades.just"), "": t("grades.empty")}.get(text, text)


def _reshow_values(form: FormData, rows: list[SheetRow], plan: SheetSave, scale: int, lang: str) -> dict[str, str]:
    """What the page shows again: what was typed, and the current stored value of untouched cells.

    The hidden "shown" value of a conflicting cell becomes the current one, so saving
    again keeps what this person typed, knowingly.
    """
    values = fields(form)
    conflicts = {(c.pupil, c.assessment) for c in plan.conflicts}
    for row in rows:
        i = row.index
        shown_cells = []
        for a, (typed, mark) in row.typed.items():
            now = plan.stored.cells.get((row.pupil, a), "")
            shown = now if row.shown[a] is None else row.shown[a] or ""
            try:
                untouched = cell_value(typed, mark, scale) == shown
            except InvalidInput:
                untouched = False
            if untouched:
                _put(values, i, a, now, lang)
            shown_cells.append(now if untouched or (row.pupil, a) in conflicts else shown)
        remark_now = plan.stored.remarks.get(row.pupil, "")
        remark_shown = remark_now if row.shown_remark is None else row.shown_remark
        if row.remark == remark_shown.strip():
            values[f"r{i}"] = remark_shown = remark_now
        elif (row.pupil, None) in conflicts:
            remark_shown = remark_now
        values[f"o{i}"] = shown_field(shown_cells, remark_shown)
    return values


@post_page
def grade_sheet_save(web: Web, request: Request, form: FormData) -> Response:
    web.require_staff(request, "grades")
    cls, subject, semester, subjects = _choice(web, form)
    if not (cls and subject and semester):
        raise InvalidInput("choose a class, a subject and a semester", code="missing_choice")
    t = translator(web.lang(request))
    term = web.store.term
    class_rows = web.pupils_of_class(cls["code"])
    in_class = [p["code"] for p in class_rows]
    assessments = assessments_of(subject["tests"])
    choice = SheetChoice(cls["code"], cls["scale"], cls["cycle"], subject["code"], semester)
    rows = rows_from_fields(fields(form), assessments)
    posted = [r.pupil for r in rows if r.pupil in in_class]

    def show_typed(message: str | None, status: int) -> Response:
        ctx = _context(web, cls, subject, semester, subjects)
        ctx.update(sheet=True, rows=class_rows, assessments=assessments, values=fields(form), error=message)
        return web.render(request, "staff/grades.html", ctx, status=status)

    on_error(request, show_typed)
    for pupil in posted:  # the averages before the save: the baseline for "dropped by 2 points"
        refresh_average_alerts(web.db, term, pupil)
    plan = save_sheet(web.db, term, choice, rows, in_class)
    if plan.problems or plan.conflicts:
        index = {r.pupil: r.index for r in rows}
        errors: dict[str, str] = {}
        for p in plan.problems:
            key = f"{index[p.pupil]}_{'r' if p.assessment is None else p.assessment}"
            code = "score_out_of_scale_n" if p.code == "score_out_of_scale" else p.code
            errors[key] = t(f"err.{code}", scale=cls["scale"])
        for c in plan.conflicts:
            key = f"{index[c.pupil]}_{'r' if c.assessment is None else c.assessment}"
            errors[key] = t("err.cell_conflict", theirs=_cell_label(t, c.theirs), yours=_cell_label(t, c.yours))
        ctx = _context(web, cls, subject, semester, subjects)
        ctx.update(sheet=True, rows=class_rows, assessments=assessments, errors=errors)
        ctx["values"] = _reshow_values(form, rows, plan, cls["scale"], web.lang(request))
        if plan.conflicts:
            ctx["error"] = t("err.sheet_conflicts", n=len(plan.conflicts))
        else:
            ctx["error"] = t("err.sheet_has_errors", n=len(plan.problems))
        return web.render(request, "staff/grades.html", ctx, status=409 if plan.conflicts else 400)
    for pupil in posted:
        refresh_average_alerts(web.db, term, pupil)
    if plan.changed:
        web.local_write()
    web.flash(request, "flash.grades_saved", n=plan.changed)
    query = urlencode({"class": cls["code"], "subject": subject["code"], "semester": semester})
    return web.redirect(f"/staff/grades?{query}")


routes = [
    Route("/staff/grades", grade_sheet, methods=["GET"]),
    Route("/staff/grades", grade_sheet_save, methods=["POST"]),
]
