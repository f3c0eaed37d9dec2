"""A throwaway PostgreSQL cluster in a temporary folder, for tests, the bench and trials.

It is never a production database: for tests fsync is off (a crash of the
machine may lose it; a crash of our server process cannot, which is what the
fault tests kill), it listens only on a Unix socket inside its own folder (no TCP port to
collide with anything), and `stop()` removes the folder. When run as root the
server runs as the `postgres` user, as Debian's packaging does.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_COMMON_SETTINGS = ("listen_addresses=''", "max_connections=200", "shared_buffers=256MB", "max_wal_size=4GB")
# Tests: nothing to keep after the session.
_THROWAWAY = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
# Benchmarks: crash-safe files, and a commit returns before its WAL reaches the disk: the same
# promise as the SQLite centre's WAL with synchronous=NORMAL (an OS crash may lose the last
# commits, never corrupt the database), so the two engines are compared on equal terms.
_DURABLE = ("fsync=on", "synchronous_commit=off", "full_page_writes=on")


class ClusterUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_bindir() -> Path | None:
    """Debian's versioned folder (newest first), or the binaries on PATH."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@dataclass
class TempCluster:
    folder: Path
    bindir: Path
    user: str

    @property
    def socket_dir(self) -> Path:
        return self.folder / "sock"

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@/{dbname}?host={self.socket_dir}"

    def _run(self, *argv: str) -> None:
        cmd = [str(self.bindir / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stderr.strip() or done.stdout.strip()}")

    def stop(self) -> None:
        try:
            if (self.folder / "data" / "postmaster.pid").exists():
                self._run("pg_ctl", "stop", "-D", str(self.folder / "data"), "-m", "immediate", "-w")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def start_cluster(bindir: Path | None = None, *, durable: bool = False, parent: Path | None = None) -> TempCluster:
    """initdb + pg_ctl start in a fresh temporary folder; returns when it accepts connections.

    `durable` keeps fsync on (benchmarks); `parent` puts the folder there instead of the system temp.
    """
    bindir = bindir or find_bindir()
    if bindir is None:
        raise ClusterUnavailable("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    folder = Path(tempfile.mkdtemp(prefix="massar-pg-", dir=parent))
    cluster = TempCluster(folder, bindir, user)
    try:
        (folder / "sock").mkdir()
        if os.geteuid() == 0:
            entry = pwd.getpwnam(user)
            for path in (folder, folder / "sock"):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        data = str(folder / "data")
        cluster._run("initdb", "-D", data, "-U", user, "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        settings = (*_COMMON_SETTINGS, *(_DURABLE if durable else _THROWAWAY))
        options = f"-k {folder / 'sock'} " + " ".join(f"-c {s}" for s in settings)
        cluster._run("pg_ctl", "start", "-D", data, "-o", options, "-l", str(folder / "server.log"), "-w", "-t", "60")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    deadline = time.monotonic() + 30
    while not any(cluster.socket_dir.glob(".s.PGSQL.*")):
        if time.monotonic() > deadline:
            cluster.stop()
            raise RuntimeError("the temporary PostgreSQL cluster did not open its socket")
        time.sleep(0.05)
    return cluster
