"""Protocol version and frame magic: bumped only for incompatible changes."""

from __future__ import annotations

from typing import Final

PROTOCOL_VERSION: Final = 1
MAGIC: Final = b"MZ"
