"""Errors of the school node's sync client: its subtree of `protocol.errors.MassarError`.

    SyncClientError            sync_error          500
     ├── NotConfigured         not_configured      409  -- no server URL or token set for this node
     ├── ServerUnreachable     unreachable         503  -- no answer: offline, cut link, timeout, server 5xx
     ├── ServerRefused         refused             502  -- the server answered 4xx; `code` is the server's
     ├── BadResponse           bad_response        502  -- an answer that fails its frame checks
     └── AgentUnavailable      agent_unavailable   503  -- the background sync agent could not be reached

The whole project's tree is drawn in protocol/errors.py.
"""

from __future__ import annotations

from protocol.errors import MassarError


class SyncClientError(MassarError):
    code = "sync_error"
    status = 500


class NotConfigured(SyncClientError):
    code = "not_configured"
    status = 409


class ServerUnreachable(SyncClientError):
    code = "unreachable"
    status = 503


class ServerRefused(SyncClientError):
    """The central server refused the sync. `code` is the server's own code
    (`revoked`, `scope_violation`...) so scripts see why; `server_status` is its HTTP status."""

    code = "refused"
    status = 502

    def __init__(self, server_status: int, code: str, message: str) -> None:
        super().__init__(f"the server refused the sync ({server_status} {code}): {message}", code=code)
        self.server_status = server_status


class BadResponse(SyncClientError):
    code = "bad_response"
    status = 502


class AgentUnavailable(SyncClientError):
    code = "agent_unavailable"
    status = 503
