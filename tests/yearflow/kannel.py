"""A real Kannel on loopback for the SMS tests: bearerbox, smsbox and the fake SMSC (kannel-extras).

Every port is picked free at start; everything runs in a temporary folder and
is stopped (by its own pid) at the end. What the fake SMSC received is read
from its log: one `Got message` line per SMS that reached the "phone network".
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BEARERBOX = Path("/usr/sbin/bearerbox")
SMSBOX = Path("/usr/sbin/smsbox")
FAKESMSC = Path("/usr/lib/kannel/test/fakesmsc")  # Debian package kannel-extras
USER, PASSWORD = "massar", "sms-secret"
_GOT = re.compile(r"Got message \d+: <(\S+) (\S+) (\S+) (.*)>")


def require_kannel() -> None:
    """Skip with the reason when Kannel is missing, unless CI says it must be there."""
    missing = [str(p) for p in (BEARERBOX, SMSBOX, FAKESMSC) if not p.exists()]
    if not missing:
        return
    reason = f"Kannel is not installed ({', '.join(missing)} missing): apt-get install kannel kannel-extras"
    if os.environ.get("MASSAR_REQUIRE_KANNEL") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


@dataclass
class Kannel:
    folder: Path
    sendsms_port: int = 0
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def sendsms_url(self) -> str:
        query = urllib.parse.urlencode({"username": USER, "password": PASSWORD})
        return f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms?{query}"

    def start(self) -> None:
        admin, box, smsc = free_port(), free_port(), free_port()
        self.sendsms_port = free_port()
        conf = self.folder / "kannel.conf"
        conf.write_text(
            f"""
group = core
admin-port = {admin}
admin-password = {PASSWORD}
admin-interface = 127.0.0.1
smsbox-port = {box}
smsbox-interface = 127.0.0.1
log-file = "{self.folder}/bearerbox.log"
log-level = 1
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
port = {smsc}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {box}
sendsms-port = {self.sendsms_port}
sendsms-interface = 127.0.0.1
log-file = "{self.folder}/smsbox.log"
log-level = 1
# delivery reports to a node that is down are retried, every second, for a minute
http-request-retry = 60
http-queue-delay = 1

group = sendsms-user
username = {USER}
password = {PASSWORD}
max-messages = 1
concatenation = false

group = sms-service
keyword = default
catch-all = true
max-messages = 0
text = "ok"
""",
            encoding="utf-8",
        )
        self._spawn("bearerbox", [str(BEARERBOX), str(conf)])
        wait_port(box)
        wait_port(smsc)
        self._spawn("smsbox", [str(SMSBOX), str(conf)])
        wait_port(self.sendsms_port)
        # -m 0: send nothing, only print what the gateway delivers
        self._spawn("fakesmsc", [str(FAKESMSC), "-H", "127.0.0.1", "-r", str(smsc), "-m", "0", "1 2 text x"])
        deadline = time.monotonic() + 20
        while "Connecting to" not in self.log("fakesmsc") and time.monotonic() < deadline:
            time.sleep(0.05)

    def _spawn(self, name: str, argv: list[str]) -> None:
        out = (self.folder / f"{name}.out").open("wb")
        self.procs.append(subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=self.folder))
        out.close()

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.out"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def delivered(self) -> list[tuple[str, str]]:
        """(receiver, text) of every SMS the fake SMSC received, in order."""
        out = []
        for _sender, receiver, kind, data in _GOT.findall(self.log("fakesmsc")):
            raw = urllib.parse.unquote_to_bytes(data.replace("+", "%20"))
            text = raw.decode("utf-16-be") if kind == "ucs-2" else raw.decode("utf-8")
            out.append((receiver, text))
        return out

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.procs.clear()
