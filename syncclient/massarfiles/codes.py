"""Massar pupil codes."""

from __future__ import annotations

import re

MASSAR_CODE = re.compile(r"[A-Z][0-9]{9}", re.ASCII)


def is_massar_code(text: str) -> bool:
    """One capital Latin letter then nine digits, e.g. ``J130012345``."""
    return MASSAR_CODE.fullmatch(text) is not None
