"""Bytes on the wire for realistic uploads; run with -s to see the report."""

from __future__ import annotations

import time

import pytest
from protocol_testkit import load_training_tool

from protocol import SyncRequest, SyncResponse, capabilities, decode_message, encode_message

NODE = "04512K"


def report(name: str, frame: bytes, records: int) -> None:
    per = len(frame) / records if records else float("nan")
    print(f"\n[wire] {name}: {len(frame)} bytes, {records} records, {per:.2f} bytes/record")


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


def test_empty_exchange_size() -> None:
    req = encode_message(SyncRequest(NODE, capabilities.SUPPORTED, 123_456, [], (1_762_934_400_000 << 16) + 3))
    resp = encode_message(
        SyncResponse(
            capabilities.SUPPORTED, 18_204, 1_762_934_401_000 << 16, [], 123_456, False, (1_762_934_701_000 << 16), 0
        )
    )
    print(f"\n[wire] empty poll: request {len(req)} bytes, response {len(resp)} bytes")
