"""PostgreSQL for the test suite: one throwaway cluster per session, a fresh database per test.

Where the server comes from, in order:
  * MASSAR_TEST_POSTGRES=postgresql://USER@HOST/DB: an existing server (the role
    must be allowed to CREATE DATABASE); each test gets its own database there;
  * otherwise a temporary cluster (initdb + pg_ctl from Debian's `postgresql`
    package) in a temp folder, stopped and removed at the end of the session.
Without either, PostgreSQL tests are skipped with instructions, unless
MASSAR_REQUIRE_POSTGRES=1 (set by .ci/run), which turns the skip into a failure.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

HOW_TO_RUN = (
    "PostgreSQL tests need Debian's `postgresql` package (apt-get install postgresql; the suite starts its own "
    "throwaway cluster) or MASSAR_TEST_POSTGRES=postgresql://USER@HOST/DB naming a server where that role may "
    "CREATE DATABASE"
)

_numbers = itertools.count(1)


def _missing(reason: str) -> None:
    if os.environ.get("MASSAR_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{reason}, but MASSAR_REQUIRE_POSTGRES=1 (CI must run the PostgreSQL tests)")
    pytest.skip(f"{reason}. {HOW_TO_RUN}")


def with_dbname(dsn: str, dbname: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """An admin DSN of a PostgreSQL server this session may create databases on."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _missing("psycopg is not installed (pip install -e '.[test]')")
    given = os.environ.get("MASSAR_TEST_POSTGRES")
    if given:
        yield given
        return
    from server.pg.cluster import ClusterUnavailable, start_cluster

    try:
        cluster = start_cluster()
    except ClusterUnavailable as exc:
        _missing(str(exc))
        return
    try:
        yield cluster.dsn("postgres")
    finally:
        cluster.stop()


def create_database(admin_dsn: str) -> str:
    """A new, empty database on the server of `admin_dsn`; its URL."""
    import psycopg

    name = f"massar_test_{os.getpid()}_{next(_numbers)}"
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return with_dbname(admin_dsn, name)


def drop_database(admin_dsn: str, dsn: str) -> None:
    import psycopg

    name = urlsplit(dsn).path.lstrip("/")
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_dsn(postgres_server: str) -> Iterator[str]:
    """A new, empty database for this test alone, dropped afterwards."""
    dsn = create_database(postgres_server)
    try:
        yield dsn
    finally:
        drop_database(postgres_server, dsn)


CENTRAL_BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgresql", id="postgresql")]
"""`@pytest.fixture(params=CENTRAL_BACKENDS)`: a central fixture made once per engine."""


def central_location(request: pytest.FixtureRequest, folder: Path) -> str | Path:
    """The store of a test's centre: `folder` on SQLite, a fresh database on PostgreSQL."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_dsn"))
    return folder
