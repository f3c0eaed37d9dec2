"""Each boundary maps a project error by its `code` and `status` alone; anything else is a logged bug."""

from __future__ import annotations

import argparse
import json
import sqlite3
from collections.abc import Callable

import pytest

from cli.errors import EXIT_BUG, EXIT_ERROR, EXIT_INTERRUPTED, handled
from domain.errors import Conflict, FileRejected, InvalidInput, NotAllowed, NotFound, RowError
from protocol.errors import MassarError, PayloadTooLarge, VersionError
from server.app import refusal
from server.errors import InternalError, ScopeViolation, StoreUnavailable, as_massar_error
from syncclient.errors import ServerRefused, ServerUnreachable
from syncclient.massarfiles.errors import FileProblems


class NewProjectError(MassarError):
    """An error someone adds without thinking of the boundaries: it must not pass for a refusal."""


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        pytest.param(NotFound("no pupil X"), 404, "not_found", id="not-found-404"),
        pytest.param(NotFound("no pupil X", code="unknown_pupil"), 404, "unknown_pupil", id="narrowed-code"),
        pytest.param(NotAllowed("not yours"), 403, "not_allowed", id="not-allowed-403"),
        pytest.param(Conflict("duplicate"), 409, "conflict", id="conflict-409"),
        pytest.param(InvalidInput("bad date"), 400, "invalid_input", id="invalid-400"),
        pytest.param(FileRejected("2 problems", [RowError(2, "bad")]), 400, "file_rejected", id="file-rejected"),
        pytest.param(ScopeViolation("school B's row"), 403, "scope_violation", id="scope-403"),
        pytest.param(PayloadTooLarge("zstd bomb"), 413, "payload_too_large", id="limit-413"),
        pytest.param(VersionError(ours=1, theirs=2), 426, "unsupported_version", id="version-426"),
        pytest.param(FileProblems("x.xls", []), 400, "massar_file_problems", id="massar-file"),
        pytest.param(ServerUnreachable("offline"), 503, "unreachable", id="unreachable-503"),
        pytest.param(NewProjectError("?"), 500, "error", id="unknown-project-error-500"),
    ],
)
def test_http_refusal_reads_status_and_code(error: MassarError, status: int, code: str) -> None:
    answered, body = refusal(error)
    assert (answered, body["error"]) == (status, code)
    assert body["message"]


def test_a_refused_sync_keeps_the_servers_code_but_not_its_status() -> None:
    refused = ServerRefused(401, "revoked", "the token was revoked")
    assert (refused.code, refused.server_status, refused.status) == ("revoked", 401, 502)


def test_version_refusal_names_the_side_that_upgrades() -> None:
    _, body = refusal(VersionError(ours=1, theirs=2))
    assert "the central server must upgrade" in body["message"]


@pytest.mark.parametrize(
    ("exc", "wrapped", "status"),
    [
        pytest.param(KeyError("pupil"), InternalError, 500, id="bug-500"),
        pytest.param(sqlite3.OperationalError("no such table: _conflicts"), InternalError, 500, id="sql-bug-500"),
    ],
)
def test_an_exception_of_no_project_is_wrapped_with_its_cause(exc: Exception, wrapped: type, status: int) -> None:
    error = as_massar_error(exc)
    assert type(error) is wrapped and error.status == status and error.__cause__ is exc
    assert "pupil" not in str(error) and "_conflicts" not in str(error)  # no internals in the answer


def test_a_busy_database_is_a_503_the_node_retries(tmp_path) -> None:
    path = tmp_path / "db.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        holder.execute("CREATE TABLE t (x)")
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(sqlite3.OperationalError) as busy:
            other.execute("SELECT * FROM t")
        error = as_massar_error(busy.value)
        assert isinstance(error, StoreUnavailable) and error.status == 503
    finally:
        holder.close()
        other.close()


def _run(handler: Callable[[argparse.Namespace], int], *, as_json: bool = False) -> int:
    return handled(argparse.Namespace(handler=handler, json=as_json))


def _raise(exc: BaseException) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        raise exc

    return handler


@pytest.mark.parametrize(
    ("exc", "exit_status", "code"),
    [
        pytest.param(NotFound("unknown pupil A1", code="unknown_pupil"), EXIT_ERROR, "unknown_pupil", id="project"),
        pytest.param(NewProjectError("something new"), EXIT_ERROR, "error", id="unknown-project-error"),
        pytest.param(ServerUnreachable("offline"), EXIT_ERROR, "unreachable", id="sync"),
        pytest.param(ZeroDivisionError("division by zero"), EXIT_BUG, "internal_error", id="bug"),
        pytest.param(KeyboardInterrupt(), EXIT_INTERRUPTED, "interrupted", id="ctrl-c"),
    ],
)
def test_cli_one_line_and_an_exit_status(capsys, monkeypatch, exc: BaseException, exit_status: int, code: str) -> None:
    monkeypatch.delenv("MASSAR_DEBUG", raising=False)
    assert _run(_raise(exc), as_json=True) == exit_status
    out, err = capsys.readouterr()
    assert json.loads(out)["error"] == code
    assert err.count("\n") == 1 and err.startswith("error: ")


def test_cli_debug_shows_a_bugs_traceback(capsys, monkeypatch) -> None:
    monkeypatch.setenv("MASSAR_DEBUG", "1")
    assert _run(_raise(ZeroDivisionError("x"))) == EXIT_BUG
    assert "Traceback" in capsys.readouterr().err


def test_cli_success_is_zero() -> None:
    assert _run(lambda args: 0) == 0
