"""Options shared by the node and server commands."""

from __future__ import annotations

import os
from pathlib import Path

from domain.errors import InvalidInput


def data_dir(value: str | None) -> Path:
    """The data folder: --data, else $MASSAR_DATA, else a one-line error."""
    chosen = value or os.environ.get("MASSAR_DATA")
    if not chosen:
        raise InvalidInput("no data folder: pass --data DIR or set MASSAR_DATA", code="no_data_dir")
    return Path(chosen)
