"""The central server's HTTP face: one sync endpoint, lean headers, one error handler."""

from __future__ import annotations

import contextlib
import json
import logging
import traceback
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from domain.clock import SYSTEM_CLOCK, Clock
from protocol.auth import parse_authorization
from protocol.errors import MassarError, VersionError
from protocol.limits import DEFAULT_LIMITS, Limits

from .backend import CentralStore, open_store
from .errors import AuthError, as_massar_error
from .exchange import SYNC_PATH, authenticate, handle_sync, precheck
from .intake import BodyIntake, IntakePolicy

log = logging.getLogger(__name__)


def refusal(exc: MassarError) -> tuple[int, dict[str, str]]:
    """The HTTP answer to a project error: its `status`, and its `code` with a message a person can read."""
    message = str(exc)
    if isinstance(exc, VersionError):
        # VersionError says "this side"/"the peer"; the node shows this text to people: name the side.
        who = "the central server must upgrade" if exc.theirs > exc.ours else "this node must upgrade"
        message = f"protocol version {exc.theirs} is not supported by the central server (it speaks {exc.ours}): {who}"
    return exc.status, {"error": exc.code, "message": message}


def create_app(
    location: Path | str | CentralStore,
    *,
    limits: Limits = DEFAULT_LIMITS,
    intake: IntakePolicy | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> Starlette:
    """The central server over a data folder (SQLite), a postgresql:// URL, or an open store.

    A store passed in stays the caller's to close; one opened here is closed at shutdown.
    """
    owned = isinstance(location, (str, Path))
    store = open_store(location, clock=clock) if isinstance(location, (str, Path)) else location

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
        await run_in_threadpool(precheck, store, creds)

        def work(body: bytes) -> Response:
            key = authenticate(store, creds, "POST", SYNC_PATH, body)
            request.state.key_ok = True
            reply = handle_sync(store, creds, key, body, limits, clock)
            return Response(reply.body, headers={"s": reply.mac})

        async with bodies.admitted(request) as read_body:
            try:
                return await run_in_threadpool(work, await read_body())
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
                await run_in_threadpool(store.record_refusal, school, request.state.counter, f"{error.code}: {error}")
            except Exception:  # the refusal still goes out; the operator reads the cause in the log
                log.exception("could not record the failed sync of %s", school)
        body = json.dumps(answer, ensure_ascii=False).encode()
        # A refused request may have left its body unread: close, so the rest is never read or buffered.
        return Response(body, status_code=status, media_type="application/json", headers={"connection": "close"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if owned:
            store.close()

    return Starlette(
        routes=[Route(SYNC_PATH, sync, methods=["POST"]), Route("/health", health, methods=["GET"])],
        exception_handlers={MassarError: refuse, ClientDisconnect: client_gone},
        lifespan=lifespan,
    )
