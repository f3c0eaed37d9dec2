"""A pupil's report as plain text, for `massar node report` and `massar server report`."""

from __future__ import annotations


def format_report(report: dict) -> str:
    lines = [f"{report['student']}  {report['name']}  class {report['class']}  ({report['year']})"]
    for sem, data in report["semesters"].items():
        # Closures are synced: the node's and the centre's reports both carry them.
        still_open = "closed_semesters" in report and int(sem) not in report["closed_semesters"]
        lines.append(
            f"Semester {sem}: average {_fmt(data['average'])}  rank {data['rank'] or '-'}/{data['class_size']}"
            + ("  (open: provisional, parents see no rank yet)" if still_open else "")
        )
        for s in data["subjects"]:
            tests = " ".join(_mark(t) for t in s["tests"]) or "-"
            act = _mark(s["activities"]) if s["activities"] else "-"
            lines.append(
                f"  {s['subject']:6} x{s['coefficient']}  tests {tests:24} activities {act:6} average {_fmt(s['average'])}"
            )
    lines.append(f"Annual average {_fmt(report['annual_average'])}  decision {report['decision'] or 'pending'}")
    cert = report.get("certificate")
    if cert:
        name = {"6ap": "6AP certificate", "3ac": "3AC certificate", "bac": "Baccalaureate"}[cert["kind"]]
        parts = "  ".join(f"{k} {_fmt(v)}" for k, v in cert["parts"].items())
        verdict = "pending" if cert["passed"] is None else ("passed" if cert["passed"] else "not passed")
        lines.append(f"{name}: {_fmt(cert['score'])} ({parts})  {verdict}")
        for exam, marks in cert["exams"].items():
            lines.append(f"  {exam} exam: " + "  ".join(f"{s} {_fmt(v)}" for s, v in marks.items()))
    ab = report["absences"]
    lines.append(f"Absences: {ab['hours']} hours, {ab['unjustified_hours']} unjustified")
    return "\n".join(lines)


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def _mark(m: dict) -> str:
    if m["absent"]:
        return "abs(j)" if m["justified"] else "abs"
    return _fmt(m["score"])
