"""The real nbgrader over a pynest assignment (issue 16 item 3): assign with
``--format nbgrader``, ``nbgrader generate_assignment``, students' submissions (right,
wrong, garbage, an empty answer, one student who hands in nothing), ``nbgrader autograde``,
``nbgrader export``, ``nbgrader generate_feedback``; its scores must equal ``pynest
grade``'s on the same files, and the points the answers deserve. What students receive
holds no secret, seed or hidden test, and no file at all holds a seed or the secret.

Everything (course folder, gradebook.db, Jupyter's runtime and config folders) lives in
tmp_path. nbgrader is the ``teach`` extra; without it the test is skipped.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_teach_grading import right, wrong

from pynest.cli import main
from pynest.teach import grade, question_seed, read_roster
from pynest.teach.assign import questions_for
from pynest.teach.seeds import assignment_key

api = pytest.importorskip(
    "nbgrader.api", reason="nbgrader is not installed (pip install -e '.[teach]')"
)

SECRET = b"nbgrader-round-trip-secret-0123456789"
KINDS = ["partition-table", "translate"]
TITLE = "Week 3: radix walks"
AID = "week-3-radix-walks"  # nbgrader_layout.assignment_id(TITLE)
ROSTER = "id,name\nalice,Alice Ames\nbob,Bob Berg\ncarol,Carol Chu\ndan,Dan Diaz\n"
# hand-checked: one point per right answer; dan hands in nothing
EXPECTED = {"alice": [1, 1], "bob": [0, 1], "carol": [0, 0], "dan": [0, 0]}


def answers(student: str) -> list[str]:
    """What each student types (the plan behind EXPECTED)."""
    ex = [q.exercise for q in questions_for(SECRET, TITLE, student, KINDS)]
    return {
        "alice": [right(ex[0].answer), right(ex[1].answer)],
        "bob": [wrong(ex[0].answer), right(ex[1].answer)],
        "carol": ["¯\\_(ツ)_/¯ no idea", ""],  # garbage, and an answer left empty
    }[student]


def fill(nb: dict, texts: list[str]) -> dict:
    cells = [c for c in nb["cells"] if c["metadata"].get("pynest", {}).get("role") == "answer"]
    for cell, text in zip(cells, texts, strict=True):
        assert 'ANSWER = ""' in cell["source"]
        cell["source"] = cell["source"].replace('ANSWER = ""', f"ANSWER = {json.dumps(text)}")
    return nb


def nbgrader(course: Path, env: dict[str, str], *args: str) -> str:
    """Run a real nbgrader command in the course folder, as a teacher types it."""
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"nbgrader {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nbgrader")
    (tmp / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (tmp / "secret.txt").write_bytes(SECRET + b"\n")
    course = tmp / "course"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "JUPYTER_CONFIG_DIR": str(tmp / "jupyter" / "config"),
        "JUPYTER_DATA_DIR": str(tmp / "jupyter" / "data"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "jupyter" / "runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "IPYTHONDIR": str(tmp / "ipython"),
    }
    status = main(
        [
            "assign",
            str(tmp / "roster.csv"),
            "--format",
            "nbgrader",
            "--exercises",
            ",".join(KINDS),
            "--title",
            TITLE,
            "--secret-file",
            str(tmp / "secret.txt"),
            "--out",
            str(course),
        ]
    )
    assert status == 0
    logs = [nbgrader(course, env, "generate_assignment", AID)]
    for student in ("alice", "bob", "carol"):  # dan hands in nothing
        handout = course / "handout" / student / AID / f"{AID}.ipynb"
        nb = fill(json.loads(handout.read_text(encoding="utf-8")), answers(student))
        box = course / "submitted" / student / AID
        box.mkdir(parents=True)
        (box / f"{AID}.ipynb").write_text(json.dumps(nb, indent=1), encoding="utf-8")
    logs.append(nbgrader(course, env, "db", "student", "import", str(tmp / "roster.csv")))
    logs.append(nbgrader(course, env, "autograde", AID))
    logs.append(nbgrader(course, env, "export"))
    logs.append(nbgrader(course, env, "generate_feedback", AID))
    return tmp, course, "\n".join(logs)


def test_nbgrader_scores_equal_pynest_grade(round_trip):
    tmp, course, _ = round_trip
    with open(course / "grades.csv", encoding="utf-8", newline="") as fh:
        exported = {row["student_id"]: row for row in csv.DictReader(fh)}
    assert sorted(exported) == ["alice", "bob", "carol", "dan"]
    assert {s: float(r["score"]) for s, r in exported.items()} == {
        s: float(sum(p)) for s, p in EXPECTED.items()
    }
    assert {float(r["max_score"]) for r in exported.values()} == {2.0}
    # per question, from the gradebook nbgrader wrote
    with api.Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        per_question = {
            s: [gb.find_grade(f"q{n}-test", AID, AID, s).score for n in (1, 2)]
            for s in ("alice", "bob", "carol")
        }
    assert per_question == {s: [float(p) for p in EXPECTED[s]] for s in per_question}
    # pynest grade on the very files nbgrader graded
    roster = read_roster(tmp / "roster.csv")
    report = grade(course / "submitted", roster, SECRET, tmp / "graded")
    ours = {line.student: [r.points for r in line.results] for line in report.students}
    assert ours == {**EXPECTED, "dan": []}
    assert report.line("dan").status == "no submission"
    assert report.line("carol").status == "graded (1 unanswered)"


def test_autograded_feedback_is_the_checkers(round_trip):
    """A wrong answer's test cell fails with the words pynest grade's feedback gives."""
    tmp, course, _ = round_trip
    nb = json.loads((course / "autograded" / "bob" / AID / f"{AID}.ipynb").read_text())
    tests = {c["metadata"]["nbgrader"]["grade_id"]: c for c in nb["cells"] if c.get("outputs")}
    errors = [o for o in tests["q1-test"]["outputs"] if o["output_type"] == "error"]
    assert [e["ename"] for e in errors] == ["AssertionError"]
    bob = grade(course / "submitted", read_roster(tmp / "roster.csv"), SECRET, tmp / "g2")
    assert errors[0]["evalue"] == bob.line("bob").results[0].feedback
    passed = tests["q2-test"]["outputs"]
    assert [o["output_type"] for o in passed] == ["stream"]
    assert passed[0]["name"] == "stdout"  # stderr would cost the point


def test_what_students_receive_holds_no_secret_seed_or_hidden_test(round_trip):
    tmp, course, _ = round_trip
    seeds = [question_seed(SECRET, TITLE, s, n) for s in EXPECTED for n in (1, 2)]
    never = [SECRET.decode(), SECRET.hex(), assignment_key(SECRET, AID).hex()]
    never += [f"{seed:#018x}" for seed in seeds] + [str(seed) for seed in seeds]
    handed_out = sorted((course / "release").rglob("*.ipynb"))
    handed_out += sorted((course / "handout").rglob("*.ipynb"))
    assert len(handed_out) == 5  # nbgrader's release and four handouts
    for path in handed_out:
        text = path.read_text(encoding="utf-8")
        assert [w for w in [*never, "HIDDEN TESTS", "autograde_check"] if w in text] == [], path
    # nbgrader's feedback shows the restored hidden tests: their seeds are sealed
    feedback = sorted((course / "feedback").rglob("*.html"))
    assert [p.parts[-3] for p in feedback] == ["alice", "bob", "carol"]
    everything = [*feedback, *sorted(course.rglob("*.ipynb")), *sorted(course.rglob("*.csv"))]
    for path in everything:
        text = path.read_text(encoding="utf-8")
        assert [w for w in never if w in text] == [], path
    assert "BEGIN HIDDEN TESTS" in feedback[0].read_text(encoding="utf-8")
    # ... and name students by tokens only: no one's feedback lists the class
    for path in sorted((course / "autograded").rglob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        tests = ["".join(c["source"]) for c in nb["cells"] if "-test" in str(c["metadata"])]
        assert len(tests) == 2 and all("BEGIN HIDDEN TESTS" in t for t in tests)
        assert [s for s in EXPECTED for t in tests if json.dumps(s) in t] == []


def test_handout_cells_are_what_nbgrader_releases(round_trip):
    """Every cell nbgrader tracks is in each handout as generate_assignment releases it
    (same grade ids, types, locks, points, test cell text), so one gradebook grades all."""
    _, course, _ = round_trip

    def tracked(path: Path) -> list[tuple]:
        nb = json.loads(path.read_text(encoding="utf-8"))
        out = []
        for cell in nb["cells"]:
            meta = dict(cell["metadata"].get("nbgrader", {}))
            if not meta:
                continue
            meta.pop("checksum", None)
            meta.pop("cell_type", None)
            text = "".join(cell["source"]) if meta["grade"] else None  # answers: their own
            out.append((cell["cell_type"], json.dumps(meta, sort_keys=True), text))
        return out

    released = tracked(course / "release" / AID / f"{AID}.ipynb")
    ids = [json.loads(m)["grade_id"] for _, m, _ in released]
    assert ids == ["q1-answer", "q1-test", "q2-answer", "q2-test"]
    for student in EXPECTED:
        assert tracked(course / "handout" / student / AID / f"{AID}.ipynb") == released


def test_the_course_folder_holds_only_the_test_run(round_trip):
    """nbgrader wrote inside tmp_path: its gradebook and steps sit in the course folder."""
    _, course, _ = round_trip
    top = sorted(p.name for p in course.iterdir())
    assert top == [
        "autograded",
        "feedback",
        "gradebook.db",
        "grades.csv",
        "handout",
        "nbgrader_config.py",
        "pynest_keys",
        "release",
        "source",
        "submitted",
    ]
