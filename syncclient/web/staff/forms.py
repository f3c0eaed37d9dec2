"""What the staff form handlers share: bounded text fields and re-showing a form after an error."""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from domain.errors import InvalidInput

MAX_TEXT = 500


def text(form: FormData, name: str, limit: int = MAX_TEXT) -> str:
    value = form.get(name, "")
    value = value if isinstance(value, str) else ""
    if len(value) > limit:
        raise InvalidInput(f"{name} is too long", code="too_long")
    return value.strip()


def on_error(request: Request, render: Callable[[str | None, int], Response]) -> None:
    """Let the domain-error handler re-show this form (with what was typed) and the message."""
    request.state.on_error = render


def fields(form: FormData) -> dict[str, str]:
    """The form's single-valued text fields (the last value wins, as browsers send one)."""
    return {k: v for k, v in form.multi_items() if isinstance(v, str)}
