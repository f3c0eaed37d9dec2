"""One error base: the tree drawn in protocol/errors.py is the tree of the classes, code and status included."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import protocol.errors
from protocol.errors import MassarError

PACKAGES = ("protocol", "domain", "server", "syncclient", "cli", "sample")
# "    │   ├── FrameError                bad_frame               400"
LINE = re.compile(r"^(?P<indent>[ │]*)(?:[├└]── )?(?P<name>[A-Z]\w*)\s+(?P<code>[a-z_]+)\s+(?P<status>\d{3})\b")


def _import_everything() -> None:
    """Every module of the project, so that no MassarError subclass hides in an unimported one."""
    for name in PACKAGES:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            if not info.name.endswith("__main__"):
                importlib.import_module(info.name)


def drawn_tree(doc: str) -> dict[str, tuple[str | None, str, int]]:
    """name -> (parent name, code, status), read from the drawing's indentation."""
    drawn: dict[str, tuple[str | None, str, int]] = {}
    stack: list[tuple[int, str]] = []
    for line in doc.splitlines():
        match = LINE.match(line.strip("\n")[4:] if line.startswith("    ") else "")
        if not match:
            continue
        depth = match.start("name")
        while stack and stack[-1][0] >= depth:
            stack.pop()
        drawn[match["name"]] = (stack[-1][1] if stack else None, match["code"], int(match["status"]))
        stack.append((depth, match["name"]))
    return drawn


def class_tree() -> dict[str, tuple[str | None, str, int]]:
    _import_everything()
    found: dict[str, tuple[str | None, str, int]] = {"MassarError": (None, MassarError.code, MassarError.status)}
    todo: list[type[MassarError]] = [MassarError]
    while todo:
        parent = todo.pop()
        for cls in parent.__subclasses__():
            if cls.__module__.split(".")[0] not in PACKAGES:
                continue  # a test's own subclass
            assert cls.__name__ not in found, f"two error classes named {cls.__name__}"
            found[cls.__name__] = (parent.__name__, cls.code, cls.status)
            todo.append(cls)
    return found


def test_the_drawing_is_the_tree() -> None:
    assert drawn_tree(protocol.errors.__doc__ or "") == class_tree()


def test_every_error_has_its_own_code_and_an_http_status() -> None:
    """Codes are unique, but for a class that deliberately answers with its parent's code
    (the credential refusals all say `unauthorized`, so a stranger learns nothing)."""
    tree = class_tree()
    codes = [code for parent, code, _ in tree.values() if parent is None or tree[parent][1] != code]
    assert len(codes) == len(set(codes))
    assert all(400 <= status < 600 for _, _, status in tree.values())


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        pytest.param(
            "    A    a    500\n    ├── B    b    400\n    │   └── C    c    404\n    └── D    d    409\n",
            {"A": (None, "a", 500), "B": ("A", "b", 400), "C": ("B", "c", 404), "D": ("A", "d", 409)},
            id="nested",
        ),
        pytest.param(
            "    A    a    500\n    └── B    b    400  some/path.py\n",
            {"A": (None, "a", 500), "B": ("A", "b", 400)},
            id="path-column",
        ),
    ],
)
def test_the_drawing_reader(doc: str, expected: dict[str, tuple[str | None, str, int]]) -> None:
    assert drawn_tree(doc) == expected
