"""Normalisation of Arabic titles so that spelling variants of real exports
match (`أكاديمية :` == `اكاديمية`, `الإزدياد` == `الازدياد`)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from .grid import Grid

# Massar files spell the same title with and without hamza on the alef, and
# sometimes use alef maqsura for final ya; both are irrelevant for matching.
_LETTER_MAP = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ـ": None,  # tatweel: purely typographic elongation
        "\u00a0": " ",
        "\u200c": None,
        "\u200d": None,
        "\u200e": None,
        "\u200f": None,
        "\u202a": None,
        "\u202b": None,
        "\u202c": None,
        "\u202d": None,
        "\u202e": None,
        "\ufeff": None,
        "：": ":",
    }
)
# Harakat (vowel marks) occasionally appear in hand-edited titles.
_HARAKAT = re.compile("[\u064b-\u0652\u0670]")
_SPACES = re.compile(r"\s+")
_EDGE = re.compile(r"^[\s:]+|[\s:]+$")
# `م. الإقليمية` and `م.الإقليمية` are the same title.
_DOT_SPACE = re.compile(r"\s*\.\s*")


def normalise_label(text: object) -> str:
    """Return a canonical form of a title for comparison (never for display)."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text)).translate(_LETTER_MAP)
    s = _HARAKAT.sub("", s)
    s = _DOT_SPACE.sub(".", s)
    s = _SPACES.sub(" ", s)
    return _EDGE.sub("", s)


def label_set(labels: Iterable[str]) -> frozenset[str]:
    return frozenset(normalise_label(label) for label in labels)


def find_label(grid: Grid, labels: Iterable[str], *, rows: range | None = None) -> tuple[int, int] | None:
    """First cell (row, col), 0-based, whose title equals one of ``labels``."""
    wanted = label_set(labels)
    for r in rows if rows is not None else range(grid.nrows):
        for c in range(grid.ncols):
            if normalise_label(grid.text(r, c)) in wanted:
                return r, c
    return None


def find_columns(grid: Grid, row: int, titles: Mapping[str, Iterable[str]]) -> dict[str, int]:
    """Map each key of ``titles`` to the first column of ``row`` carrying one
    of its spellings; keys not found are absent from the result."""
    wanted = {key: label_set(spellings) for key, spellings in titles.items()}
    found: dict[str, int] = {}
    for c in range(grid.ncols):
        norm = normalise_label(grid.text(row, c))
        if not norm:
            continue
        for key, spellings in wanted.items():
            if key not in found and norm in spellings:
                found[key] = c
    return found


def find_header_row(
    grid: Grid, titles: Mapping[str, Iterable[str]], *, start: int = 0
) -> tuple[int, dict[str, int]] | None:
    """The row carrying the most of ``titles`` (ties: the topmost), with its
    column map; None when no row carries any of them."""
    best: tuple[int, dict[str, int]] | None = None
    for r in range(start, grid.nrows):
        cols = find_columns(grid, r, titles)
        if cols and (best is None or len(cols) > len(best[1])):
            best = (r, cols)
            if len(cols) == len(titles):
                break
    return best
