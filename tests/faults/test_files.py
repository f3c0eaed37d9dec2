"""Hostile Excel and CSV files given to the node's CLI (issue 15, point 7).

Each file is built at test time, handed to the real `massar` command in a subprocess whose peak
memory is measured (wait4's ru_maxrss; an address-space limit keeps a regression from taking the
machine down), and must be refused with one line on stderr and a non-zero exit, fast, changing
nothing in the node's database.
"""

from __future__ import annotations

import io
import os
import resource
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest

from syncclient.store import NodeStore
from tests.support.digests import node_digest

from .faultkit import REPO, REPORT, YEAR, child_env, massar_argv

pytestmark = pytest.mark.faults

SCHOOL = "SX01"
MEMORY_BOUND_MIB = 400  # the CLI's own start-up is ~60 MiB; the unbounded reads took 1.1 to 4 GB
LIVENESS_BOUND = 120.0  # seconds; before the bounds, a 60,000-row sheet took minutes
ADDRESS_SPACE_LIMIT = 3 << 30  # a regression dies of MemoryError instead of swapping the machine


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    peak_mib: float
    seconds: float


def run_measured(*args: object) -> Run:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))

    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            massar_argv(*args),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=child_env(),
            cwd=REPO,
            preexec_fn=limit,  # noqa: PLW1509 - the child runs nothing but `massar`
        )
        # wait4 gives this child's own peak RSS (RUSAGE_CHILDREN would mix in every earlier child).
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            usage.ru_maxrss / 1024,
            time.monotonic() - started,
        )


def xlsx_bytes(fill: Callable) -> bytes:
    book = openpyxl.Workbook()
    fill(book.active)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def rewrite_part(data: bytes, name: str, change: Callable[[bytes], bytes], level: int = 6) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as dst,
    ):
        for info in src.infolist():
            body = src.read(info)
            dst.writestr(info.filename, change(body) if info.filename == name else body)
    return out.getvalue()


def far_cells(path: Path) -> None:
    def fill(ws) -> None:  # noqa: ANN001
        ws["A1"] = "الرمز"
        ws["XFD1048576"] = "x"

    path.write_bytes(xlsx_bytes(fill))


def long_sheet(path: Path) -> None:
    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet()
    ws.append(["ر.ت", "الرمز", "النسب", "الإسم"])
    for i in range(60_000):
        ws.append([i, f"J{130000000 + i}", "NOM", "Prénom"])
    book.save(path)


def whitespace_bomb(path: Path) -> None:
    """A small .xlsx whose shared strings unpack to 1 GiB of spaces."""
    base = xlsx_bytes(lambda ws: ws.__setitem__("A1", "x"))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
        with zipfile.ZipFile(io.BytesIO(base)) as src:
            for info in src.infolist():
                dst.writestr(info.filename, src.read(info))
        with dst.open("xl/sharedStrings.xml", "w") as part:
            part.write(
                b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>'
            )
            chunk = b" " * (1 << 20)
            for _ in range(1024):
                part.write(chunk)
            part.write(b"</t></si></sst>")


def entities(path: Path) -> None:
    base = xlsx_bytes(lambda ws: ws.__setitem__("A1", "x"))

    def add_dtd(xml: bytes) -> bytes:
        head, sep, rest = xml.partition(b"?>")
        dtd = b'<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        return head + sep + dtd + rest.replace(b"<v>", b"<v>&b;", 1)

    path.write_bytes(rewrite_part(base, "xl/worksheets/sheet1.xml", add_dtd))


def not_xml(path: Path) -> None:
    base = xlsx_bytes(lambda ws: ws.__setitem__("A1", "x"))
    path.write_bytes(rewrite_part(base, "xl/worksheets/sheet1.xml", lambda xml: xml[: len(xml) // 2]))


ROSTER_HEADER = "code,last_name,first_name,gender,birth_date,birth_place,level,class\n"


def huge_field(path: Path) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write(ROSTER_HEADER)
        f.write('J130000001,"' + "A" * (49 << 20) + '",Sara,F,2012-05-01,Fès,1APIC,1APIC-1\n')


def many_rows(path: Path) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write(ROSTER_HEADER)
        for i in range(400_000):
            f.write(f"J{130000000 + i},NOM,Prénom,M,2012-05-01,Fès,1APIC,1APIC-1\n")


def long_value(path: Path) -> None:
    path.write_text(
        ROSTER_HEADER + "J130000001,NOM," + "é" * 2001 + ",F,2012-05-01,Fès,1APIC,1APIC-1\n", encoding="utf-8"
    )


FILES = [
    pytest.param("import-roster", "far.xlsx", far_cells, "row 1048576", id="xlsx-cells-at-A1-and-XFD1048576"),
    pytest.param("import-grades", "far.xlsx", far_cells, "row 1048576", id="grade-sheet-cells-at-XFD1048576"),
    pytest.param("import-roster", "long.xlsx", long_sheet, "row 10001", id="xlsx-60000-rows"),
    pytest.param("import-roster", "bomb.xlsx", whitespace_bomb, "MiB of XML", id="xlsx-1-GiB-of-whitespace"),
    pytest.param("import-roster", "dtd.xlsx", entities, "entities", id="xlsx-entity-declarations"),
    pytest.param("import-grades", "dtd.xlsx", entities, "entities", id="grade-sheet-entity-declarations"),
    pytest.param("import-roster", "cut.xlsx", not_xml, "well-formed", id="xlsx-cut-xml"),
    pytest.param("import-roster", "field.csv", huge_field, "field larger than field limit", id="csv-field-of-49-MiB"),
    pytest.param("import-roster", "rows.csv", many_rows, "more than 20,000 rows", id="csv-400000-rows"),
    pytest.param("import-grades", "rows.csv", many_rows, "header must be", id="grades-csv-wrong-header"),
    pytest.param("import-roster", "value.csv", long_value, "2,001 characters", id="csv-value-over-2000-chars"),
]  # fmt: skip


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("files") / "node"
    NodeStore.init(folder, SCHOOL, year=YEAR).close()
    return folder


@pytest.mark.parametrize(("command", "name", "make", "says"), FILES)
def test_a_hostile_file_is_refused_in_one_line_fast_and_bounded(
    node: Path, tmp_path: Path, command: str, name: str, make: Callable[[Path], None], says: str
) -> None:
    path = tmp_path / name
    make(path)
    before = node_digest(node / "node.sqlite")
    run = run_measured("node", command, path, "--data", node)
    assert run.returncode not in (0, -9), run.stderr[-2000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr[:2000]
    assert len(lines[0]) < 1000 and says in lines[0], lines[0]
    assert run.seconds < LIVENESS_BOUND
    assert run.peak_mib < MEMORY_BOUND_MIB, f"peak RSS {run.peak_mib:.0f} MiB"
    print(f"{name}: {run.seconds:.1f} s, peak RSS {run.peak_mib:.0f} MiB: {lines[0]}")
    assert node_digest(node / "node.sqlite") == before, "a refused file changed the node"
    REPORT.hostile("hostile_files")
