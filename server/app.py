"""The central server's HTTP face: one sync endpoint, lean headers, one error handler."""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import traceback
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import TypeVar

import sqlite_utils
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from domain.clock import SYSTEM_CLOCK, Clock
from protocol.auth import parse_authorization
from protocol.errors import MassarError, VersionError
from protocol.limits import DEFAULT_LIMITS, Limits

from .errors import AuthError, StoreUnavailable, as_massar_error
from .exchange import SYNC_PATH, authenticate, handle_sync, precheck
from .intake import BodyIntake, IntakePolicy
from .pool import ConnectionPool
from .quotas import DEFAULT_INGEST, IngestLimits
from .schools import record_refusal
from .store import Location, open_central

log = logging.getLogger(__name__)
T = TypeVar("T")


def refusal(exc: MassarError) -> tuple[int, dict[str, str]]:
    """The HTTP answer to a project error: its `status`, and its `code` with a message a person can read."""
    message = str(exc)
    if isinstance(exc, VersionError):
        # VersionError says "this side"/"the peer"; the node shows this text to people: name the side.
        who = "the central server must upgrade" if exc.theirs > exc.ours else "this node must upgrade"
        message = f"protocol version {exc.theirs} is not supported by the central server (it speaks {exc.ours}): {who}"
    return exc.status, {"error": exc.code, "message": message}


def create_app(
    folder: Location,
    *,
    limits: Limits = DEFAULT_LIMITS,
    intake: IntakePolicy | None = None,
    ingest: IngestLimits = DEFAULT_INGEST,
    clock: Clock = SYSTEM_CLOCK,
    pool_size: int | None = None,
) -> Starlette:
    """The central server over the SQLite file in data folder `folder`, or PostgreSQL at a postgresql://
    URL, through a pool of `pool_size` connections (default: two per core, server/pool.py)."""
    open_central(folder, clock=clock).conn.close()  # migrate once, up front
    pool = ConnectionPool(lambda: open_central(folder, clock=clock), pool_size)

    def with_db(work: Callable[[sqlite_utils.Database], T]) -> Callable[[], T]:
        def run() -> T:
            with pool.connection() as db:
                return work(db)

        return run

    bodies = BodyIntake(limits.max_frame_bytes, intake)

    async def sync(request: Request) -> Response:
        try:
            return await exchange(request)
        except (MassarError, ClientDisconnect):
            raise
        except Exception as exc:  # a bug or a failing disk: answered 5xx by `refuse`, which logs the cause
            raise as_massar_error(exc) from exc

    async def exchange(request: Request) -> Response:
        creds = parse_authorization(request.headers.get("authorization"))
        request.state.school = creds.school
        request.state.counter = creds.counter
        # Headers first: a stranger's body is never read (see server/intake.py).
        await run_in_threadpool(with_db(lambda db: precheck(db, creds)))

        def work(body: bytes, conn: sqlite_utils.Database) -> Response:
            device = authenticate(conn, creds, "POST", SYNC_PATH, body)
            request.state.key_ok = True
            reply = handle_sync(conn, creds, device, body, limits, clock, ingest)
            return Response(reply.body, headers={"s": reply.mac})

        async with bodies.admitted(request) as read_body:
            try:
                return await run_in_threadpool(with_db(partial(work, await read_body())))
            except Exception as exc:
                # The traceback's frames hold the body; clear them, or refused 4 MiB bodies outlive the
                # budget that admitted them until the garbage collector finds the cycle.
                traceback.clear_frames(exc.__traceback__)
                raise

    async def client_gone(request: Request, exc: Exception) -> Response:
        # The link dropped mid-request (2G): nothing was read in full, nothing applied, nobody to answer.
        return Response(status_code=400)

    async def health(request: Request) -> Response:
        return Response(b"ok", media_type="text/plain")

    async def refuse(request: Request, exc: Exception) -> Response:
        error = as_massar_error(exc)
        status, answer = refusal(error)
        school = getattr(request.state, "school", None)
        if status >= 500:
            log.error("sync request of %s failed: %s %s", school or "?", error.code, error, exc_info=error)
        else:
            log.info("sync request of %s refused: %s %s", school or "?", error.code, error)
        if isinstance(error, AuthError):
            log.info("refused %s: %s", school, error.reason)
        if school and getattr(request.state, "key_ok", False):
            try:
                note = f"{error.code}: {error}"
                await run_in_threadpool(with_db(lambda db: record_refusal(db, school, request.state.counter, note)))
            except (
                sqlite3.Error,
                StoreUnavailable,
            ):  # the refusal still goes out; the operator reads the cause in the log
                log.exception("could not record the failed sync of %s", school)
        body = json.dumps(answer, ensure_ascii=False).encode()
        # A refused request may have left its body unread: close, so the rest is never read or buffered.
        return Response(body, status_code=status, media_type="application/json", headers={"connection": "close"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        pool.close()

    return Starlette(
        routes=[Route(SYNC_PATH, sync, methods=["POST"]), Route("/health", health, methods=["GET"])],
        exception_handlers={MassarError: refuse, ClientDisconnect: client_gone},
        lifespan=lifespan,
    )
