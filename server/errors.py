"""Errors the central server answers with: its subtree of `protocol.errors.MassarError`.

    ServerError                  server_error        500
     ├── AuthError               unauthorized        401
     │    ├── UnknownSchool      unauthorized        401
     │    ├── RevokedToken       unauthorized        401
     │    ├── StaleCounter       unauthorized        401
     │    ├── BadSignature       unauthorized        401
     │    └── ReplayedRequest    replayed            401
     ├── ScopeViolation          scope_violation     403
     ├── BodyTooSlow             body_too_slow       408
     ├── LengthRequired          length_required     411
     ├── BodyTooLarge            body_too_large      413
     ├── InvalidRow              invalid_row         422
     ├── ServerBusy              busy                503
     ├── StoreUnavailable        store_unavailable   503
     └── InternalError           internal_error      500

Every refusal of a request whose signature could not be checked says the
same thing (`unauthorized`, one message): a stranger cannot tell a
registered school from an unregistered or revoked one. The reason stays in
`reason` for the server's own log. Only a request signed with the school's
key learns that its counter was used (`replayed`).

`server/app.py` answers every `MassarError` (these, the protocol's and the
domain's) from its `code` and `status`; anything else is wrapped into
`InternalError` there and logged. The whole project's tree is drawn in
protocol/errors.py.
"""

from __future__ import annotations

import sqlite3

from protocol.errors import MassarError


class ServerError(MassarError):
    code = "server_error"
    status = 500


NOT_AUTHORIZED = (
    "not authorized: the school is not registered here, its token was revoked, "
    "or the request is not signed with its current token and a fresh counter"
)


class AuthError(ServerError):
    code = "unauthorized"
    status = 401

    def __init__(self, reason: str) -> None:
        super().__init__(NOT_AUTHORIZED)
        self.reason = reason


class UnknownSchool(AuthError):
    pass


class RevokedToken(AuthError):
    pass


class StaleCounter(AuthError):
    pass


class BadSignature(AuthError):
    pass


class ReplayedRequest(AuthError):
    """Only said to the holder of the key: the body was signed, the counter was already used."""

    code = "replayed"

    def __init__(self, reason: str) -> None:
        ServerError.__init__(self, reason)
        self.reason = reason


class ScopeViolation(ServerError):
    code = "scope_violation"
    status = 403


class BodyTooLarge(ServerError):
    code = "body_too_large"
    status = 413


class BodyTooSlow(ServerError):
    code = "body_too_slow"
    status = 408


class LengthRequired(ServerError):
    code = "length_required"
    status = 411


class ServerBusy(ServerError):
    code = "busy"
    status = 503


class InvalidRow(ServerError):
    """A pushed row breaks the schema (e.g. a mark out of its class's scale); nothing of the push is applied."""

    code = "invalid_row"
    status = 422


class StoreUnavailable(ServerError):
    """The database could not serve the request (locked, disk full...); the node retries later."""

    code = "store_unavailable"
    status = 503


class InternalError(ServerError):
    """A bug: an exception that is not a MassarError. Logged with its traceback."""

    code = "internal_error"
    status = 500


# SQLite result codes that say "not now" rather than "this request is wrong".
_TRANSIENT_SQLITE = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL", "SQLITE_IOERR", "SQLITE_CANTOPEN")


def as_massar_error(exc: Exception) -> MassarError:
    """The one way an unexpected exception becomes a project error at the HTTP boundary.

    The cause stays attached (``__cause__``) so the log shows its traceback;
    the message a node sees names no internals."""
    if isinstance(exc, MassarError):
        return exc
    wrapped: MassarError
    # sqlite_errorname is set on errors raised by SQLite itself, not on ones built by hand.
    name = getattr(exc, "sqlite_errorname", None) or ""
    if isinstance(exc, sqlite3.OperationalError) and name.startswith(_TRANSIENT_SQLITE):
        wrapped = StoreUnavailable(f"the central database is unavailable ({name}): retry later")
    else:
        wrapped = InternalError("internal error on the central server (logged there): retry later")
    wrapped.__cause__ = exc
    return wrapped
