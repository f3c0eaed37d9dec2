"""Every `massar ...` command and flag the README shows exists in the parser.

Operators copy commands from the README into their scripts: a command or flag
that the README names and the parser does not know is a broken contract
(sqlite-utils keeps its docs honest the same way).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from cli import build_parser

REPO = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```[a-z]*\n(.*?)^```", re.S | re.M)
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-o)\b")


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    lines: list[str] = []
    for block in FENCE.findall(text):
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("massar "):
                lines.append(line.split("  #", 1)[0].strip())
    return lines


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def command_parser(line: str) -> argparse.ArgumentParser:
    words = line.split()[1:]
    parser = build_parser()
    for word in words:
        children = subparsers(parser)
        if not children:
            break
        if word not in children:
            pytest.fail(f"README names `massar ... {word}`, which the parser does not know: {line}")
        parser = children[word]
    if subparsers(parser):
        pytest.fail(f"README line stops before naming a command: {line}")
    return parser


def test_readme_shows_commands() -> None:
    # Guards the parsing itself: a README whose blocks could not be read would pass every case below.
    assert len(readme_commands()) >= 20


@pytest.mark.parametrize("line", readme_commands(), ids=lambda line: " ".join(line.split()[1:3]))
def test_readme_command_exists(line: str) -> None:
    parser = command_parser(line)
    known = {opt for action in parser._actions for opt in action.option_strings}
    unknown = sorted(set(FLAG.findall(line)) - known)
    assert not unknown, f"README shows flags the parser lacks: {unknown} in `{line}`"
