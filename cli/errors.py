"""One place that turns every package's errors into one line and an exit code."""

from __future__ import annotations

from typing import Any

from domain.errors import DomainError, FileRejected
from protocol.errors import ProtocolError
from server.errors import ServerError
from syncclient.errors import SyncClientError
from syncclient.massarfiles.errors import MassarFileError

from .output import fail

KNOWN_ERRORS: tuple[type[Exception], ...] = (DomainError, ProtocolError, ServerError, SyncClientError, MassarFileError)


def handled(args: Any) -> int:
    as_json = bool(getattr(args, "json", False))
    try:
        result = args.handler(args)
    except FileRejected as exc:
        return fail(str(exc), code=exc.code, as_json=as_json)
    except KNOWN_ERRORS as exc:
        return fail(str(exc), code=str(getattr(exc, "code", "error")), as_json=as_json)
    except KeyboardInterrupt:
        return fail("interrupted", code="interrupted", status=130)
    return int(result or 0)
