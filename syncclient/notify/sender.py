"""Sending the SMS outbox through Kannel's HTTP `sendsms` interface.

Exactly once, across crashes and retries:
  * a message is claimed (queued -> sending, attempt counted) and that is
    committed *before* the gateway is called, so a restarted sender never
    sends a claimed message again on its own;
  * every request asks Kannel for delivery reports (dlr-mask) to the node's
    `/sms/dlr` with the message id and a token; Kannel's smsbox retries that
    callback while the node is down, so a message the gateway accepted just
    before a crash is still marked sent or delivered when the node is back;
  * a message left `sending` with no report after `dlr_grace` seconds was
    never accepted (the crash came before the request reached the gateway):
    it is queued again.
Failures retry with exponential backoff; a daily cap bounds what one school sends.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx

from domain.database import write_transaction
from domain.errors import InvalidInput
from domain.phones import GSM7_LIMIT, sms_limit

from ..store import NodeStore

log = logging.getLogger(__name__)

DLR_MASK = 1 + 2 + 8 + 16  # delivered, undelivered, accepted by the SMSC, rejected by the SMSC
DEFAULT_DAILY_CAP = 300
DEFAULT_DLR_GRACE = 600.0  # seconds
MAX_ATTEMPTS = 8
FIRST_BACKOFF = 60.0
MAX_BACKOFF = 6 * 3600.0
Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class Gateway:
    url: str  # Kannel's sendsms URL, credentials in its query (username, password)
    callback: str | None  # the node's base URL for delivery reports
    sender: str | None
    daily_cap: int
    dlr_grace: float
    secret: str


def configure(
    store: NodeStore,
    gateway: str | None,
    *,
    callback: str | None = None,
    sender: str | None = None,
    daily_cap: int | None = None,
    dlr_grace: float | None = None,
) -> dict[str, Any]:
    """Record the gateway settings; `gateway=""` removes it (the outbox then waits)."""
    if gateway:
        parts = urlsplit(gateway)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidInput(f"gateway {gateway!r} is not an http(s) URL", code="bad_gateway")
    if callback:
        parts = urlsplit(callback)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidInput(f"callback {callback!r} is not an http(s) URL", code="bad_callback")
    if daily_cap is not None and not 0 <= daily_cap <= 100_000:
        raise InvalidInput("the daily cap is between 0 and 100000", code="bad_cap")
    if dlr_grace is not None and not 1 <= dlr_grace <= 7 * 86400:
        raise InvalidInput("the report grace is between 1 second and 7 days", code="bad_grace")
    with write_transaction(store.db):
        if gateway is not None:
            store.set_setting("sms_gateway", gateway or None)
        if callback is not None:
            store.set_setting("sms_callback", callback.rstrip("/") or None)
            store.set_setting("sms_callback_set", 1 if callback else None)
        if sender is not None:
            store.set_setting("sms_sender", sender or None)
        if daily_cap is not None:
            store.set_setting("sms_daily_cap", daily_cap)
        if dlr_grace is not None:
            store.set_setting("sms_dlr_grace", dlr_grace)
        if not store.setting("sms_secret"):
            store.set_setting("sms_secret", secrets.token_hex(16))
    return settings(store)


def settings(store: NodeStore) -> dict[str, Any]:
    gateway = store.setting("sms_gateway")
    shown = None
    if gateway:  # never print the gateway's password
        parts = urlsplit(gateway)
        query = "&".join(f"{k}={'***' if k == 'password' else v}" for k, v in parse_qsl(parts.query))
        shown = urlunsplit(parts._replace(query=query))
    return {
        "gateway": shown,
        "callback": store.setting("sms_callback"),
        "sender": store.setting("sms_sender"),
        "daily_cap": int(store.setting("sms_daily_cap", DEFAULT_DAILY_CAP)),
        "dlr_grace": float(store.setting("sms_dlr_grace", DEFAULT_DLR_GRACE)),
    }


def gateway_of(store: NodeStore) -> Gateway | None:
    url = store.setting("sms_gateway")
    if not url:
        return None
    s = settings(store)
    return Gateway(url, s["callback"], s["sender"], s["daily_cap"], s["dlr_grace"], store.setting("sms_secret") or "")


def dlr_token(secret: str, message_id: int) -> str:
    return hmac.new(secret.encode(), f"sms:{message_id}".encode(), hashlib.sha256).hexdigest()[:24]


def record_report(store: NodeStore, message_id: int, token: str, status: int, *, now: Clock = utc_now) -> bool:
    """A delivery report from Kannel; False when the id or token is wrong (answered like a missing page)."""
    secret = store.setting("sms_secret") or ""
    if not secret or not hmac.compare_digest(dlr_token(secret, message_id), token):
        return False
    t = _iso(now())
    with write_transaction(store.db):
        if status & 1:  # delivered to the phone
            store.db.conn.execute(
                "UPDATE _sms_outbox SET state = 'delivered', delivered_at = ?, sent_at = COALESCE(sent_at, ?), "
                "last_error = NULL WHERE id = ? AND state IN ('sending', 'sent', 'queued')",
                [t, t, message_id],
            )
        elif status & 8:  # accepted by the SMSC: the gateway has it
            store.db.conn.execute(
                "UPDATE _sms_outbox SET state = 'sent', sent_at = COALESCE(sent_at, ?) "
                "WHERE id = ? AND state IN ('sending', 'queued')",
                [t, message_id],
            )
        elif status & (2 | 16):  # the phone or the SMSC refused it: final
            store.db.conn.execute(
                "UPDATE _sms_outbox SET state = 'failed', last_error = ? WHERE id = ? AND state != 'delivered'",
                [f"delivery report {status}", message_id],
            )
    return True


class GatewayRefused(Exception):
    """The gateway answered, and will never take this message (bad number, bad request)."""


def _post(http: httpx.Client, gw: Gateway, row: tuple) -> None:
    message_id, phone, text = row
    params = dict(parse_qsl(urlsplit(gw.url).query))
    params.update(
        {
            "to": phone,
            "text": text,
            "charset": "UTF-8",
            # UCS-2 for Arabic; GSM 7-bit for Latin text (the family's French choice)
            "coding": "0" if sms_limit(text) == GSM7_LIMIT else "2",
            "dlr-mask": str(DLR_MASK),
        }
    )
    if gw.sender:
        params["from"] = gw.sender
    if gw.callback:
        params["dlr-url"] = f"{gw.callback}/sms/dlr?id={message_id}&t={dlr_token(gw.secret, message_id)}&s=%d"
    base = urlunsplit(urlsplit(gw.url)._replace(query=""))
    response = http.get(base, params=params)
    if response.status_code in (200, 202):
        return
    if response.status_code == 400:
        raise GatewayRefused(f"{response.status_code} {response.text.strip()[:120]}")
    response.raise_for_status()
    raise httpx.HTTPError(f"unexpected answer {response.status_code}")


def send_pending(store: NodeStore, http: httpx.Client, *, now: Clock = utc_now) -> dict[str, int]:
    """One pass over the outbox: what is due, within today's cap. Returns what happened."""
    gw = gateway_of(store)
    done = {"sent": 0, "failed": 0, "retry": 0, "requeued": 0}
    if gw is None:
        return done  # no gateway: the outbox waits
    db = store.db
    t = now()
    with write_transaction(db):
        done["requeued"] = db.conn.execute(
            "UPDATE _sms_outbox SET state = 'queued' WHERE state = 'sending' AND claimed_at < ?",
            [_iso(t - dt.timedelta(seconds=gw.dlr_grace))],
        ).rowcount
    today = t.date().isoformat()
    used = db.execute(
        "SELECT COUNT(*) FROM _sms_outbox WHERE state IN ('sending', 'sent', 'delivered') AND substr(claimed_at, 1, 10) = ?",
        [today],
    ).fetchone()[0]
    room = max(0, gw.daily_cap - used)
    due = db.execute(
        "SELECT id, phone, text FROM _sms_outbox WHERE state = 'queued' "
        "AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT ?",
        [_iso(t), room],
    ).fetchall()
    for row in due:
        t = now()
        with write_transaction(db):
            claimed = db.conn.execute(
                "UPDATE _sms_outbox SET state = 'sending', attempts = attempts + 1, claimed_at = ? "
                "WHERE id = ? AND state = 'queued'",
                [_iso(t), row[0]],
            ).rowcount
        if not claimed:
            continue  # another sender took it
        try:
            _post(http, gw, row)
        except GatewayRefused as exc:
            _fail(store, row[0], str(exc), final=True, now=t)
            done["failed"] += 1
            continue
        except httpx.HTTPError as exc:
            final = _fail(store, row[0], f"{type(exc).__name__}: {exc}"[:200], final=False, now=t)
            done["failed" if final else "retry"] += 1
            # The gateway is unreachable: the rest waits for the next pass.
            break
        with write_transaction(db):
            db.conn.execute(
                "UPDATE _sms_outbox SET state = 'sent', sent_at = COALESCE(sent_at, ?), last_error = NULL "
                "WHERE id = ? AND state = 'sending'",
                [_iso(now()), row[0]],
            )
        done["sent"] += 1
    return done


def _fail(store: NodeStore, message_id: int, error: str, *, final: bool, now: dt.datetime) -> bool:
    with write_transaction(store.db):
        (attempts,) = store.db.execute("SELECT attempts FROM _sms_outbox WHERE id = ?", [message_id]).fetchone()
        final = final or attempts >= MAX_ATTEMPTS
        delay = min(FIRST_BACKOFF * 2 ** (attempts - 1), MAX_BACKOFF)
        store.db.conn.execute(
            "UPDATE _sms_outbox SET state = ?, last_error = ?, next_attempt_at = ? WHERE id = ? AND state = 'sending'",
            ["failed" if final else "queued", error, _iso(now + dt.timedelta(seconds=delay)), message_id],
        )
    return final


class SmsAgent:
    """The background sender of `massar node serve`: a pass every `interval` seconds."""

    def __init__(self, folder: Path, *, interval: float = 5.0, timeout: float = 15.0) -> None:
        self.folder, self.interval, self.timeout = folder, interval, timeout
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="massar-sms-agent", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout) as http:
            while not self._stop.is_set():
                try:
                    store = NodeStore.open(self.folder)
                    try:
                        send_pending(store, http)
                    finally:
                        store.close()
                except Exception:  # the sender must never take the node down
                    log.exception("SMS pass failed")
                self._stop.wait(self.interval)
