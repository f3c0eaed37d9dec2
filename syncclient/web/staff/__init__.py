"""Staff pages, one module each: grade sheet, roll call, justifications, incidents,
registration, re-enrolment, parent logins and sync."""

from __future__ import annotations

from starlette.routing import Route

from . import grades, home, incidents, justify, logins, reenrol, register, rollcall, sync

routes: list[Route] = [
    *home.routes,
    *grades.routes,
    *rollcall.routes,
    *justify.routes,
    *incidents.routes,
    *register.routes,
    *reenrol.routes,
    *logins.routes,
    *sync.routes,
]
