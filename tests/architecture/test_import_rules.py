"""Dependencies point one way: cli -> node (syncclient), central (server) -> domain -> protocol.

Every module of the project is parsed (not imported) and every import in it is
checked, including imports inside functions, which is where a package cycle
hides best. Relative imports are resolved against the module's own package.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# For each top-level package: the other project packages it may import.
# Anything not listed here (the standard library, third-party libraries) is free.
ALLOWED: dict[str, frozenset[str]] = {
    "protocol": frozenset(),
    "domain": frozenset({"protocol"}),
    "server": frozenset({"protocol", "domain"}),
    "syncclient": frozenset({"protocol", "domain"}),
    "sample": frozenset({"protocol", "domain"}),
    "cli": frozenset({"protocol", "domain", "server", "syncclient", "sample"}),
    # The bench shares the link simulator with the fault tests (tests/support/netproxy.py); tests never import bench.
    "bench": frozenset({"protocol", "domain", "server", "syncclient", "sample", "cli", "tests"}),
    "tools": frozenset({"protocol", "domain", "server", "syncclient", "sample"}),
}
PROJECT = frozenset(ALLOWED) | {"tests"}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, *, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in `source`, at any depth."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target


def violations(root: Path, packages: dict[str, frozenset[str]]) -> list[str]:
    found = []
    project = frozenset(packages) | {"tests"}
    for top, allowed in sorted(packages.items()):
        for path in sorted((root / top).rglob("*.py")):
            module = module_name(path, root)
            source = path.read_text(encoding="utf-8")
            for line, target in imported_modules(source, module, is_package=path.name == "__init__.py"):
                head = target.split(".")[0]
                if head in project and head != top and head not in allowed:
                    found.append(f"{path.relative_to(root)}:{line}: {top} may not import {target}")
    return found


def test_every_package_is_checked() -> None:
    """A new top-level package must get a rule here before it can hide a cycle."""
    on_disk = {p.parent.name for p in REPO.glob("*/__init__.py")} | {
        p.name for p in REPO.iterdir() if p.is_dir() and p.name in {"tools", "bench"}
    }
    assert on_disk - PROJECT == set()


def test_imports_follow_the_layers() -> None:
    assert violations(REPO, ALLOWED) == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"server/__init__.py": "", "server/x.py": "def f():\n    from syncclient.store import NodeStore\n"},
            ["server/x.py:2: server may not import syncclient.store"],
            id="import-inside-function",
        ),
        pytest.param(
            {"syncclient/__init__.py": "", "syncclient/web/__init__.py": "from ..store import NodeStore\n"},
            [],
            id="relative-import-within-the-package",
        ),
        pytest.param(
            {"protocol/__init__.py": "import domain.codes\n"},
            ["protocol/__init__.py:1: protocol may not import domain.codes"],
            id="protocol-imports-nothing",
        ),
        pytest.param(
            {"cli/__init__.py": "from server import app\nfrom syncclient import store\n"},
            [],
            id="cli-sits-above-both",
        ),
        pytest.param(
            {"domain/__init__.py": "", "domain/rules.py": "from . import codes\nimport sample\n"},
            ["domain/rules.py:2: domain may not import sample"],
            id="domain-imports-no-demo-data",
        ),
        pytest.param(
            {"syncclient/__init__.py": "", "syncclient/web/__init__.py": "", "syncclient/web/x.py": "import cli\n"},
            ["syncclient/web/x.py:1: syncclient may not import cli"],
            id="nothing-imports-cli",
        ),
    ],
)
def test_the_checker_finds_a_broken_rule(tmp_path: Path, files: dict[str, str], expected: list[str]) -> None:
    assert violations(_tree(tmp_path, files), ALLOWED) == expected
