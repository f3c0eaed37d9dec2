"""The fault suites' session report: printed at the end of any run that collected them."""

from __future__ import annotations

from .faultkit import REPORT


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001 - pytest hook
    lines = REPORT.lines()
    if len(lines) <= 1:
        return  # no fault test ran
    terminalreporter.section("Massar Sync fault report")
    for line in lines:
        terminalreporter.write_line(line)
