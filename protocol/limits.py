"""Size limits a decoder enforces before trusting a peer's bytes."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LIMITS", "Limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Upper bounds for one frame; both sides should use the same values."""

    max_frame_bytes: int = 4 * 1024 * 1024
    max_payload_bytes: int = 16 * 1024 * 1024
    max_records: int = 100_000
    max_string_chars: int = 2000

    @property
    def max_string_bytes(self) -> int:
        # UTF-8 needs at most 4 bytes per code point.
        return 4 * self.max_string_chars


DEFAULT_LIMITS = Limits()
