"""Assign and grade a class: pynest.teach over 300 students x 10 questions.

Prints, from one run, the time per student and for the whole class of
* ``assign`` (derive each student's seeds, build the exercises, write the notebooks);
* ``grade`` (read every submission, check its seal, re-derive the exercises, check each
  answer with the exercise's checker, write the gradebook and the feedback files);
* ``assign_nbgrader`` (the nbgrader master, whose hidden tests list every student's
  seeds, and one handout per student); nbgrader itself is not run here (its autograde
  starts a kernel per student: see tests/teach/test_nbgrader_round_trip.py).
Every answer cell is filled in before grading (every other one with the worked answer,
the rest with a wrong number), so each checker really runs. Target (issue 16): the whole
class graded in under a minute on this machine. Nothing is asserted.

    .venv/bin/python benchmarks/bench_teach.py [--students N] [--exercises SPEC]
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pynest.teach import assign, assign_nbgrader, grade, parse_exercises, read_roster  # noqa: E402
from pynest.teach.assign import questions_for  # noqa: E402

SPEC = (
    "translate,decode-pte,partition-table,quadrant,walk2d,set-ptbl,lpids,enter-nested,shadow,tlbie"
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=300)
    ap.add_argument("--exercises", default=SPEC, help=f"kinds and counts (default {SPEC})")
    args = ap.parse_args()
    kinds = parse_exercises(args.exercises)
    secret = secrets.token_bytes(32)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "roster.csv").write_text(
            "id,name\n" + "".join(f"s{i:04d},Student {i}\n" for i in range(args.students))
        )
        roster = read_roster(root / "roster.csv")
        t0 = time.perf_counter()
        paths = assign(roster, args.exercises, "Benchmark", secret, root / "out")
        t_assign = time.perf_counter() - t0
        for path, student in zip(paths, roster.students, strict=True):  # not timed
            nb = json.loads(path.read_text())
            qs = questions_for(secret, "Benchmark", student, kinds)
            cells = [c for c in nb["cells"] if c["metadata"]["pynest"].get("role") == "answer"]
            for q, cell in zip(qs, cells, strict=True):
                text = str(q.exercise.answer) if q.number % 2 else "0x1000"
                cell["source"] = f"ANSWER: {text}"
            path.write_text(json.dumps(nb))
        t0 = time.perf_counter()
        report = grade(root / "out", roster, secret, root / "graded")
        t_grade = time.perf_counter() - t0
        t0 = time.perf_counter()
        assign_nbgrader(roster, args.exercises, "Benchmark", secret, root / "course")
        t_nbgrader = time.perf_counter() - t0
    n = args.students
    graded = sum(1 for s in report.students if s.results)
    right = sum(s.total for s in report.students)
    print(f"class: {n} students x {len(kinds)} questions ({args.exercises})")
    print(f"assign: {t_assign:7.2f} s for the class, {t_assign / n * 1000:7.1f} ms per student")
    print(f"grade:  {t_grade:7.2f} s for the class, {t_grade / n * 1000:7.1f} ms per student")
    print(
        f"assign --format nbgrader: {t_nbgrader:7.2f} s for the class, "
        f"{t_nbgrader / n * 1000:7.1f} ms per student"
    )
    print(f"graded {graded} of {n}; {right} of {n * len(kinds)} answers right")
    print(f"target: class graded in < 60 s: {'met' if t_grade < 60 else 'NOT met'}")


if __name__ == "__main__":
    main()
