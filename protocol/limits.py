"""Size limits a decoder enforces before trusting a peer's bytes (SPEC.md section 2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["DEFAULT_LIMITS", "MAX_MAP_LEN", "MAX_NESTING", "MIN_ARRAY_LEN", "Limits"]

MAX_MAP_LEN: Final = 256
"""Entries of one msgpack map: maps carry only ErrorResponse details."""
MIN_ARRAY_LEN: Final = 64
"""Arrays may always hold this many items, however small ``max_records``."""
MAX_NESTING: Final = 1024
"""Arrays and maps open at once (the message's own array is the first).

The stack of msgpack's C decoder; stating it lets another reader refuse
exactly what this one refuses, at the same byte.
"""


@dataclass(frozen=True, slots=True)
class Limits:
    """Upper bounds for one frame; both sides should use the same values."""

    max_frame_bytes: int = 4 * 1024 * 1024
    max_payload_bytes: int = 16 * 1024 * 1024
    max_records: int = 100_000
    max_string_chars: int = 2000

    @property
    def max_string_bytes(self) -> int:
        """Bytes of one msgpack str: UTF-8 needs at most 4 bytes per code point."""
        return 4 * self.max_string_chars

    @property
    def max_bin_bytes(self) -> int:
        """Bytes of one msgpack bin: fixed-width INT columns need up to 8 bytes a record."""
        return max(self.max_string_bytes, 8 * self.max_records)

    @property
    def max_array_len(self) -> int:
        """Items of one msgpack array: a column holds one per record."""
        return max(self.max_records, MIN_ARRAY_LEN)


DEFAULT_LIMITS = Limits()
