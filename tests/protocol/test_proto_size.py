"""Frame sizes of realistic messages, checked against what SPEC.md section 8 states; -s prints them.

Speeds are printed, never asserted (bench/ measures them). The README's byte
targets over a real HTTP round trip are asserted in tests/sync/test_wire_bytes.py.
"""

from __future__ import annotations

import re
import time

import pytest

from protocol import SyncRequest, SyncResponse, capabilities, decode_message, encode_message
from tests.support.protocol_kit import load_training_tool, spec_section

NODE = "04512K"


def report(name: str, frame: bytes, records: int) -> None:
    per = len(frame) / records if records else float("nan")
    print(f"\n[wire] {name}: {len(frame)} bytes, {records} records, {per:.2f} bytes/record")


def stated_per_change() -> list[float]:
    """The "about X bytes per change" figures of SPEC section 8, in their order: bulk, bursts, spread."""
    return [float(x) for x in re.findall(r"about ([0-9.]+) bytes\s+per change", spec_section("8"))]


def assert_as_stated(per: float, which: int) -> None:
    # "about": the SPEC rounds; 5% covers its rounding, not a drift of the encoder.
    stated = stated_per_change()[which]
    assert abs(per - stated) <= 0.05 * stated, (
        f"SPEC section 8 says about {stated} bytes per change, measured {per:.2f}"
    )


def test_semester_bulk_upload_size_and_speed() -> None:
    tool = load_training_tool()
    changes = tool.semester_upload(seed=1)
    msg = SyncRequest(NODE, capabilities.SUPPORTED, 0, changes, changes[-1].hlc)
    started = time.perf_counter()
    frame = encode_message(msg)
    encoded = time.perf_counter() - started
    decoded = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        back = decode_message(frame)
        decoded = min(decoded, time.perf_counter() - started)
    assert back == msg
    report(
        f"semester bulk upload ({sum(c.table == 'grades' for c in changes)} grades + {sum(c.table == 'absences' for c in changes)} absences)",
        frame,
        len(changes),
    )
    print(f"[wire] encode {len(changes) / encoded:,.0f} changes/s, decode {len(changes) / decoded:,.0f} changes/s")
    assert_as_stated(len(frame) / len(changes), 0)


@pytest.mark.parametrize(
    ("generator", "label"),
    [("day_delta", "taken in bursts per lesson"), ("day_delta_spread", "one by one, minutes apart")],
)
def test_day_delta_size(generator: str, label: str) -> None:
    tool = load_training_tool()
    sizes = []
    for seed in range(2, 12):
        changes = getattr(tool, generator)(seed=seed)
        frame = encode_message(SyncRequest(NODE, capabilities.SUPPORTED, 123_456, changes, changes[-1].hlc))
        assert decode_message(frame).push == changes  # type: ignore[union-attr]
        sizes.append(len(frame))
    report(
        f"a day's delta of 40 absences {label} (mean of {len(sizes)} days)", bytes(round(sum(sizes) / len(sizes))), 40
    )
    assert_as_stated(sum(sizes) / len(sizes) / 40, 1 if generator == "day_delta" else 2)


def test_empty_exchange_size() -> None:
    """SPEC section 8 states the frame sizes of an empty poll; the encoder produces exactly them."""
    text = spec_section("8")
    big = re.search(r"a (\d+)-byte request and a (\d+)-byte response", text)
    small = re.search(r"each frame is (\d+) bytes shorter,\s+(\d+) and (\d+) bytes", text)
    cursor, acked = (
        int(re.sub(r"\D", "", m)) for m in re.findall(r"(?:pull cursor|`acked_seq`)\s+([0-9 ]+)", text)[:2]
    )
    assert big and small and (cursor, acked) == (123_456, 18_204)

    def sizes(cursor: int) -> tuple[int, int]:
        req = encode_message(SyncRequest(NODE, capabilities.SUPPORTED, cursor, [], (1_762_934_400_000 << 16) + 3))
        resp = encode_message(
            SyncResponse(
                capabilities.SUPPORTED, acked, 1_762_934_401_000 << 16, [], cursor, False, (1_762_934_701_000 << 16), 0
            )
        )
        return len(req), len(resp)

    assert sizes(cursor) == (int(big[1]), int(big[2]))
    assert sizes(65_535) == (int(small[2]), int(small[3]))
    assert sizes(1_200) == (int(small[2]), int(small[3]))
    assert int(big[1]) - int(small[2]) == int(big[2]) - int(small[3]) == int(small[1])
    print(f"\n[wire] empty poll: request {sizes(cursor)[0]} bytes, response {sizes(cursor)[1]} bytes")
