"""Errors the central server answers with; one handler turns them into HTTP.

    ServerError                  server_error        400
     ├── AuthError               unauthorized        401
     │    ├── UnknownSchool      unknown_school      401
     │    ├── BadSignature       bad_signature       401
     │    ├── RevokedToken       revoked             401
     │    └── ReplayedRequest    replayed            401
     ├── ScopeViolation          scope_violation     403
     └── BodyTooLarge            body_too_large      413

Protocol errors (protocol.errors.ProtocolError) and domain errors
(domain.errors.DomainError) are answered by the same handler.
"""

from __future__ import annotations

from typing import ClassVar


class ServerError(Exception):
    code: ClassVar[str] = "server_error"
    status: ClassVar[int] = 400


class AuthError(ServerError):
    code = "unauthorized"
    status = 401


class UnknownSchool(AuthError):
    code = "unknown_school"


class BadSignature(AuthError):
    code = "bad_signature"


class RevokedToken(AuthError):
    code = "revoked"


class ReplayedRequest(AuthError):
    code = "replayed"


class ScopeViolation(ServerError):
    code = "scope_violation"
    status = 403


class BodyTooLarge(ServerError):
    code = "body_too_large"
    status = 413
