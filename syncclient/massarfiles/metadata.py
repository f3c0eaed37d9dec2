"""Header-block values that stand beside their label ("label | value")."""

from __future__ import annotations

from collections.abc import Iterable

from .grid import Grid, cell_text
from .labels import label_set, normalise_label


def value_beside(grid: Grid, row: int, col: int, *, step: int, stop_labels: frozenset[str]) -> str | None:
    """First non-empty cell from the label at (row, col) moving by ``step``
    columns, stopping at another label so that a missing value never borrows
    its neighbour's."""
    c = col + step
    while 0 <= c < grid.ncols:
        text = grid.text(row, c)
        if text:
            return None if normalise_label(text) in stop_labels else text
        c += step
    return None


def read_metadata(
    grid: Grid,
    labels: dict[str, tuple[str, ...]],
    *,
    rows: Iterable[int],
    step: int,
    extra_stop: Iterable[str] = (),
) -> dict[str, str | None]:
    """Value of each labelled field found in ``rows``; None when absent.

    Also accepts the label and value in one cell (``القسم : 1APIC-1``), a form
    hand-edited files take."""
    wanted = {key: label_set(spellings) for key, spellings in labels.items()}
    stop = frozenset().union(*wanted.values()) | label_set(extra_stop)
    found: dict[str, str | None] = {key: None for key in labels}
    for r in rows:
        for c in range(grid.ncols):
            raw = grid.text(r, c)
            if not raw:
                continue
            norm = normalise_label(raw)
            for key, spellings in wanted.items():
                if found[key] is not None:
                    continue
                if norm in spellings:
                    found[key] = value_beside(grid, r, c, step=step, stop_labels=stop)
                elif ":" in raw:
                    head, _, tail = raw.partition(":")
                    if normalise_label(head) in spellings and tail.strip():
                        found[key] = cell_text(tail)
    return found
