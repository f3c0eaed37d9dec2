"""Errors the central server answers with; one handler turns them into HTTP.

    ServerError                  server_error        400
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
     └── ServerBusy              busy                503

Every refusal of a request whose signature could not be checked says the
same thing (`unauthorized`, one message): a stranger cannot tell a
registered school from an unregistered or revoked one. The reason stays in
`reason` for the server's own log. Only a request signed with the school's
key learns that its counter was used (`replayed`).

Protocol errors (protocol.errors.ProtocolError) and domain errors
(domain.errors.DomainError) are answered by the same handler.
"""

from __future__ import annotations

from typing import ClassVar


class ServerError(Exception):
    code: ClassVar[str] = "server_error"
    status: ClassVar[int] = 400


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
