"""The README's rule tables, generated from the shipped catalogue.

`python tools/readme_rules.py` prints the Markdown of the collège rules and the
subject codes; a test checks that the README holds exactly these tables, so
the README and the data cannot drift apart.
"""

from __future__ import annotations

from domain.catalogue import SUBJECTS
from domain.evaluation_catalogue import CUSTOMARY, REFORM_2025, shipped_rules

CONFIRMED_CODES = {"0030": "real export (المعلوميات)", "0019": "real export file names (collège, 6APG)"}
_COLLEGE = ("ARA", "FRA", "MATH", "HG", "EIS", "PC", "SVT", "INFO", "EPS", "ANG")


def college_table() -> str:
    rows = {(r.since, r.level, r.subject): r for r in shipped_rules()}
    head = (
        "| Subject | tests | activities | formula | coef. 1AC/2AC | coef. 3AC | 3AC regional exam "
        "| 2024/25: tests, activities, coef. 1AC-3AC |\n"
        "|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for s in _COLLEGE:
        new1, new2, new3 = (rows[(REFORM_2025, f"{n}ASCG", s)] for n in (1, 2, 3))
        old = rows[(CUSTOMARY, "1ASCG", s)]
        by_year = [new1.activities_weight, new2.activities_weight, new3.activities_weight]
        share = by_year[0] if len(set(by_year)) == 1 else " / ".join(f"{w} ({n}AC)" for n, w in enumerate(by_year, 1))
        tests = f"{new1.tests}" if new1.tests == new3.tests else f"{new1.tests} ({new3.tests} in 3AC)"
        exam = new3.exam_coefficient if new3.exam_coefficient else "—"
        coef = new1.coefficient if new1.coefficient == new2.coefficient else f"{new1.coefficient}/{new2.coefficient}"
        lines.append(
            f"| `{s}` | {tests} | {share} | {new1.formula} | {coef} | {new3.coefficient} | {exam} "
            f"| {old.tests}, {old.activities_weight}, {old.coefficient} |"
        )
    return head + "\n".join(lines) + "\n"


def subject_codes_table() -> str:
    head = "| Code | Arabic | French | Massar code | Status |\n|---|---|---|---|---|\n"
    lines = [
        f"| `{code}` | {ar} | {fr} | `{massar}` | {'confirmed: ' + CONFIRMED_CODES[massar] if massar in CONFIRMED_CODES else 'placeholder'} |"
        for code, ar, fr, massar in SUBJECTS
    ]
    return head + "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(college_table())
    print(subject_codes_table())
