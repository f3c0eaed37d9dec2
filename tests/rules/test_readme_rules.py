"""The README's rule and subject-code tables are the shipped data's own."""

from __future__ import annotations

from pathlib import Path

from tools.readme_rules import college_table, subject_codes_table

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_readme_marking_rules_table_is_generated_from_the_rules() -> None:
    assert college_table() in README


def test_readme_subject_codes_table_is_generated_from_the_catalogue() -> None:
    assert subject_codes_table() in README
