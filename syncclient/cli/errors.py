"""One place that turns every package's errors into one line and an exit code."""

from __future__ import annotations

from typing import Any

from domain.errors import DomainError, FileRejected

from .output import fail


def _known_errors() -> tuple[type[BaseException], ...]:
    known: list[type[BaseException]] = [DomainError]
    try:
        from protocol.errors import ProtocolError

        known.append(ProtocolError)
    except ImportError:
        pass
    try:
        from syncclient.errors import SyncClientError

        known.append(SyncClientError)
    except ImportError:
        pass
    try:
        from syncclient.massarfiles.errors import MassarFileError

        known.append(MassarFileError)
    except ImportError:
        pass
    return tuple(known)


def handled(args: Any) -> int:
    as_json = bool(getattr(args, "json", False))
    try:
        result = args.handler(args)
    except FileRejected as exc:
        return fail(str(exc), code=exc.code, as_json=as_json)
    except _known_errors() as exc:
        code = getattr(exc, "code", "error")
        return fail(str(exc), code=str(code), as_json=as_json)
    except KeyboardInterrupt:
        return fail("interrupted", code="interrupted", status=130)
    return int(result or 0)
