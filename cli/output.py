"""How commands speak: human lines by default, one JSON document with --json."""

from __future__ import annotations

import json
import sys
from typing import Any


def emit(args: Any, data: Any, human: str) -> None:
    if getattr(args, "json", False):
        json.dump(data, sys.stdout, ensure_ascii=False, indent=2, sort_keys=False)
        sys.stdout.write("\n")
    else:
        print(human)


def fail(message: str, *, code: str = "error", as_json: bool = False, status: int = 1) -> int:
    if as_json:
        json.dump({"error": code, "message": message}, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    print(f"error: {message}", file=sys.stderr)
    return status
