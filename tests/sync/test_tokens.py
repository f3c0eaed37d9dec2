"""Device tokens as operators handle them: pasted after `--token` on a command line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server import schools
from server.store import open_central


def test_no_token_starts_like_a_command_line_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A URL-safe secret starts with '-' one time in 64, and argparse reads
    # `--token -abc` as two options: the draw that does so is thrown away.
    draws: Iterator[str] = iter(["-leading-dash", "first-school", "-again", "second-device"])
    monkeypatch.setattr(schools.secrets, "token_urlsafe", lambda n: next(draws))
    db = open_central(tmp_path, create=True)
    try:
        school_token = schools.add_school(db, "T001", "École 1")
        device, device_token = schools.add_device(db, "T001", "poste des parents")
    finally:
        db.conn.close()
    assert school_token == "first-school"
    assert device_token.startswith(device) and device_token.endswith("second-device")
