"""Staff pages, one module each: grade sheet, roll call, justifications, incidents,
registration, departures, re-enrolment, parent logins and sync."""

from __future__ import annotations

from starlette.routing import Route

from . import classes, grades, home, incidents, justify, leave, logins, reenrol, register, rollcall, semesters, sync

routes: list[Route] = [
    *home.routes,
    *grades.routes,
    *rollcall.routes,
    *justify.routes,
    *incidents.routes,
    *register.routes,
    *leave.routes,
    *classes.routes,
    *reenrol.routes,
    *logins.routes,
    *semesters.routes,
    *sync.routes,
]
