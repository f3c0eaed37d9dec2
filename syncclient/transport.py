"""How the node reaches the centre: HTTPS, with the certificate verified.

A relay on the path (a satellite link, a shared connection) must not read
marks and remarks: the node refuses a plain `http://` central server unless
it is on this very machine (demos, tests). The server's certificate is
verified against the system's authorities, or, when `massar node init` was
given `--ca-file`, against that file only: a private CA or the server's own
(self-signed) certificate, pinned.
"""

from __future__ import annotations

import functools
import ipaddress
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from domain.errors import InvalidInput

MAX_CA_FILE_BYTES = 1024 * 1024
_LOCAL_NAMES = {"localhost", "localhost.localdomain"}


def is_loopback(host: str) -> bool:
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_server_url(url: str) -> str:
    """The URL, without a trailing slash, if the node may use it; InvalidInput otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidInput(f"the central server must be an https:// URL, not {url!r}", code="bad_server_url")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise InvalidInput(
            f"the central server must be reached over HTTPS (https://{parts.netloc}...): plain http:// lets anyone "
            "on the path read the school's records; it is only allowed for a server on this machine",
            code="insecure_server",
        )
    return url.strip().rstrip("/")


def read_ca_file(path: Path) -> str:
    """The PEM text of a CA or pinned certificate file, checked to be one."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_CA_FILE_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", code="no_file") from None
    if len(raw) > MAX_CA_FILE_BYTES:
        raise InvalidInput(f"{path} is too large for a certificate file", code="bad_certificate")
    try:
        pem = raw.decode("ascii")
        tls_context(pem)
    except (UnicodeDecodeError, ssl.SSLError, ValueError) as exc:
        raise InvalidInput(f"{path} is not a PEM certificate ({exc})", code="bad_certificate") from None
    return pem


@functools.lru_cache(maxsize=8)
def tls_context(ca_pem: str | None) -> ssl.SSLContext:
    """Verification against `ca_pem` alone when given (pinning), else the system's authorities.

    One context per distinct PEM for the process's life: loading the system's authorities costs
    ~20 ms of CPU, two thirds of a day's sync, and a context is safe to share between connections
    and threads. A PEM changed in the node's settings is another key, so it takes effect at once."""
    context = ssl.create_default_context(cadata=ca_pem) if ca_pem else ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def certificate_failure(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate error somewhere in the chain of causes of a connection failure, if any."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
