"""Errors of the school node's sync client.

SyncClientError            -- root; `code` is machine-readable
 ├── NotConfigured         -- no server URL or token set for this node
 ├── ServerUnreachable     -- no answer: offline, cut link, timeout
 ├── ServerRefused         -- the server answered 4xx/5xx with an error code
 ├── UntrustedServer       -- the server's certificate failed verification (HTTPS)
 └── BadResponse           -- an answer that fails its signature or frame checks
"""

from __future__ import annotations


class SyncClientError(Exception):
    code = "sync_error"


class NotConfigured(SyncClientError):
    code = "not_configured"


class ServerUnreachable(SyncClientError):
    code = "unreachable"


class ServerRefused(SyncClientError):
    code = "refused"

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"the server refused the sync ({status} {code}): {message}")
        self.status = status
        self.code = code


class UntrustedServer(SyncClientError):
    """Not retried like a cut link: someone on the path, or a configuration an operator must fix."""

    code = "untrusted_server"


class BadResponse(SyncClientError):
    code = "bad_response"
