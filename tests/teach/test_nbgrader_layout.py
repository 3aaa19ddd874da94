"""pynest's nbgrader layout without nbgrader: the files written, the hidden test run as
nbgrader autograde runs it (in autograded/<student>/<aid>/), how an nbgrader answer cell
is read, and the CLI. The real nbgrader round trip is test_nbgrader_round_trip.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_teach_grading import right, wrong

from pynest.cli import main
from pynest.teach import TeachError, assign_nbgrader, grade, question_seed, read_roster
from pynest.teach.assign import questions_for
from pynest.teach.grade import answer_text
from pynest.teach.nbgrader_layout import (
    CONFIG,
    assignment_id,
    check_assignment_id,
)
from pynest.teach.seeds import assignment_key, seal_seed, student_token

SECRET = b"layout-secret-for-the-tests-0123"
KINDS = ["partition-table", "decode-pte"]
SPEC = ",".join(KINDS)
TITLE = "Week 3: radix walks"
AID = "week-3-radix-walks"


@pytest.fixture
def course(tmp_path):
    roster_file = tmp_path / "roster.csv"
    roster_file.write_text("id,name\nann,Ann\nben,Ben\n,Nobody\n", encoding="utf-8")
    roster = read_roster(roster_file)
    made = assign_nbgrader(roster, SPEC, TITLE, SECRET, tmp_path / "course")
    return roster, made, tmp_path


def hidden_block(master: Path, number: int) -> str:
    nb = json.loads(master.read_text(encoding="utf-8"))
    test = next(
        c
        for c in nb["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade_id") == f"q{number}-test"
    )
    return test["source"].split("### BEGIN HIDDEN TESTS\n")[1].split("### END HIDDEN TESTS")[0]


@pytest.mark.parametrize(
    ("title", "aid"),
    [
        ("Week 3: radix walks", "week-3-radix-walks"),
        ("  Übung 4 -- Schatten  ", "ubung-4-schatten"),
        ("???", "assignment"),
        ("x" * 80, "x" * 64),
    ],
)
def test_assignment_id_from_the_title(title, aid):
    assert assignment_id(title) == aid


@given(st.text(max_size=300))
def test_every_title_gives_an_id_nbgrader_can_use(title):
    assert check_assignment_id(assignment_id(title)) == assignment_id(title)


@pytest.mark.parametrize("aid", ["", "-x", "week 3", "a/b", "ü", "a" * 65, 3])
def test_a_bad_assignment_id_is_refused(tmp_path, aid):
    roster_file = tmp_path / "r.csv"
    roster_file.write_text("id\nann\n", encoding="utf-8")
    with pytest.raises(TeachError, match="must be a plain name"):
        assign_nbgrader(read_roster(roster_file), SPEC, TITLE, SECRET, tmp_path / "c", aid)


def test_the_layout(course):
    roster, made, tmp = course
    root = tmp / "course"
    assert made.assignment_id == AID
    assert made.master == root / "source" / AID / f"{AID}.ipynb"
    assert made.handouts == [root / "handout" / s / AID / f"{AID}.ipynb" for s in ("ann", "ben")]
    assert made.config == root / "nbgrader_config.py"
    assert made.config.read_text(encoding="utf-8") == CONFIG
    assert made.key == root / "pynest_keys" / f"{AID}.key"
    assert made.key.read_text(encoding="ascii") == assignment_key(SECRET, AID).hex() + "\n"
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert files == [
        f"handout/ann/{AID}/{AID}.ipynb",
        f"handout/ben/{AID}/{AID}.ipynb",
        "nbgrader_config.py",
        f"pynest_keys/{AID}.key",
        f"source/{AID}/{AID}.ipynb",
    ]


def test_existing_files_are_kept(course):
    roster, made, tmp = course
    root = tmp / "course"
    with pytest.raises(TeachError, match=f"3 notebook.*first: source/{AID}/{AID}.ipynb"):
        assign_nbgrader(roster, SPEC, TITLE, SECRET, root)
    made.config.write_text("c = get_config()  # the course's own\n", encoding="utf-8")
    again = assign_nbgrader(roster, SPEC, TITLE, SECRET, root, overwrite=True)
    assert again.config is None  # a course's own config is never replaced
    assert made.config.read_text(encoding="utf-8") == "c = get_config()  # the course's own\n"
    assert again.master.read_bytes() == made.master.read_bytes()  # deterministic


def test_an_empty_roster_is_refused(tmp_path):
    roster_file = tmp_path / "r.csv"
    roster_file.write_text("id\n\n,\n", encoding="utf-8")
    with pytest.raises(TeachError, match="no usable student id"):
        assign_nbgrader(read_roster(roster_file), SPEC, TITLE, SECRET, tmp_path / "c")


def test_no_file_holds_a_seed_and_pynest_grade_grades_the_handouts(course):
    roster, made, tmp = course
    seeds = {(s, n): question_seed(SECRET, TITLE, s, n) for s in roster.students for n in (1, 2)}
    key = assignment_key(SECRET, AID)
    for path in [made.master, *made.handouts]:
        text = path.read_text(encoding="utf-8")
        assert not [s for s in seeds.values() if f"{s:#018x}" in text or str(s) in text]
        assert key.hex() not in text and SECRET.hex() not in text and SECRET.decode() not in text
    for path in made.handouts:
        text = path.read_text(encoding="utf-8")
        assert "HIDDEN" not in text and "autograde_check" not in text
    master = made.master.read_text(encoding="utf-8")
    assert all(f"{seal_seed(key, s, n, seed):#018x}" in master for (s, n), seed in seeds.items())
    for number in (1, 2):  # students by token, not by id
        block = hidden_block(made.master, number)
        assert all(json.dumps(student_token(key, s)) in block for s in roster.students)
        assert not [s for s in roster.students if json.dumps(s) in block]
    sub = tmp / "submitted"
    for student, path, how in zip(roster.students, made.handouts, (right, wrong), strict=True):
        nb = json.loads(path.read_text(encoding="utf-8"))
        qs = questions_for(SECRET, TITLE, student, KINDS)
        answers = [
            c for c in nb["cells"] if c["metadata"].get("pynest", {}).get("role") == "answer"
        ]
        for cell, q in zip(answers, qs, strict=True):
            assert cell["cell_type"] == "code" and cell["source"].endswith('ANSWER = ""')
            cell["source"] = cell["source"].replace('""', json.dumps(how(q.exercise.answer)))
        (sub / student).mkdir(parents=True)
        (sub / student / path.name).write_text(json.dumps(nb), encoding="utf-8")
    report = grade(sub, roster, SECRET, tmp / "graded")
    assert [[r.points for r in line.results] for line in report.students] == [[1, 1], [0, 0], []]


def run_hidden_test(made, monkeypatch, folder: Path, number: int, capsys) -> str:
    """Run question ``number``'s hidden block as autograde does: in ``folder``."""
    monkeypatch.chdir(folder)
    exec(compile(hidden_block(made.master, number), "hidden", "exec"), {})
    return capsys.readouterr().out


def autograded(tmp: Path, student: str, made, answer: str | None) -> Path:
    """``student``'s handout with ``answer`` typed into question 1, in the folder that
    nbgrader autograde runs it in."""
    folder = tmp / "course" / "autograded" / student / AID
    folder.mkdir(parents=True)
    nb = json.loads(made.handouts[0 if student == "ann" else 1].read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if c["metadata"].get("pynest", {}).get("role") == "answer")
    if answer is not None:
        cell["source"] = cell["source"].replace('""', json.dumps(answer))
    (folder / f"{AID}.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    return folder


def test_the_hidden_test_checks_the_folders_student(course, monkeypatch, capsys):
    roster, made, tmp = course
    q = questions_for(SECRET, TITLE, "ann", KINDS)[0]
    folder = autograded(tmp, "ann", made, right(q.exercise.answer))
    out = run_hidden_test(made, monkeypatch, folder, 1, capsys)
    assert out == q.exercise.check(right(q.exercise.answer))[1] + "\n"


def test_a_wrong_answer_fails_with_the_checkers_words(course, monkeypatch, capsys):
    roster, made, tmp = course
    q = questions_for(SECRET, TITLE, "ann", KINDS)[0]
    folder = autograded(tmp, "ann", made, wrong(q.exercise.answer))
    with pytest.raises(AssertionError) as e:
        run_hidden_test(made, monkeypatch, folder, 1, capsys)
    assert str(e.value) == q.exercise.check(wrong(q.exercise.answer))[1]


def test_a_classmates_notebook_is_graded_as_the_folders_student(course, monkeypatch, capsys):
    """Ben hands in Ann's notebook with Ann's right answer: nbgrader runs it in Ben's
    folder, and the answer cell's question id is not Ben's question."""
    roster, made, tmp = course
    q = questions_for(SECRET, TITLE, "ann", KINDS)[0]
    folder = autograded(tmp, "ann", made, right(q.exercise.answer))
    ben = tmp / "course" / "autograded" / "ben" / AID
    ben.parent.mkdir(parents=True)
    folder.rename(ben)
    with pytest.raises(AssertionError, match="No answer cell"):
        run_hidden_test(made, monkeypatch, ben, 1, capsys)


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("course/autograded/zoe", "no variant for 'zoe'"),  # not on the roster
        ("course/source", "key .* runs under nbgrader autograde"),  # the master, in place
    ],
)
def test_the_hidden_test_outside_autograde_says_so(course, monkeypatch, capsys, where, message):
    roster, made, tmp = course
    folder = tmp / where / AID
    folder.mkdir(parents=True, exist_ok=True)
    with pytest.raises(AssertionError, match=message):
        run_hidden_test(made, monkeypatch, folder, 1, capsys)


def test_an_unreadable_submission_fails_its_questions(course, monkeypatch, capsys):
    roster, made, tmp = course
    folder = autograded(tmp, "ann", made, None)
    (folder / f"{AID}.ipynb").write_text("{not json", encoding="utf-8")
    with pytest.raises(AssertionError, match=f"cannot read the submitted {AID}.ipynb"):
        run_hidden_test(made, monkeypatch, folder, 2, capsys)


def test_without_the_key_the_hidden_test_says_where_it_looks(course, monkeypatch, capsys):
    roster, made, tmp = course
    folder = autograded(tmp, "ann", made, None)
    made.key.unlink()
    with pytest.raises(AssertionError, match=f"cannot read the assignment key .*{AID}.key"):
        run_hidden_test(made, monkeypatch, folder, 1, capsys)


@given(st.binary(min_size=1, max_size=32), st.text(max_size=20), st.integers(1, 100))
def test_a_sealed_seed_unseals_with_its_key_only(key, student, number):
    seed = question_seed(SECRET, TITLE, "ann", number)
    sealed = seal_seed(key, student, number, seed)
    assert seal_seed(key, student, number, sealed) == seed
    assert sealed != seed  # 64 bits of pad: zero only by a 2**-64 chance
    assert seal_seed(key + b"x", student, number, sealed) != seed


def test_an_empty_answer_fails(course, monkeypatch, capsys):
    roster, made, tmp = course
    folder = autograded(tmp, "ben", made, None)
    with pytest.raises(AssertionError, match="No answer was given"):
        run_hidden_test(made, monkeypatch, folder, 1, capsys)


@pytest.mark.parametrize(
    ("source", "answer"),
    [
        ('# Question 1: ...\nANSWER = "0x1a2b"', "0x1a2b"),
        ("ANSWER = 'HDSI L2'  # my guess", "HDSI L2"),
        ('ANSWER = ""', ""),
        ("ANSWER = 0x10", "0x10"),  # no quotes: the text as written
        ("ANSWER = hex(16)", "hex(16)"),  # code is read, never run
        ('answer= " rw "', "rw"),
        ('ANSWER = "unclosed', '"unclosed'),
        ('ANSWER: "0x10"', "0x10"),
        ("my working\nANSWER: 0x10\nANSWER: 0x20", "0x10"),  # the first label counts
    ],
)
def test_how_an_nbgrader_answer_cell_is_read(source, answer):
    assert answer_text(source) == answer


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=60))
def test_a_quoted_answer_reads_back_as_typed(text):
    assert answer_text(f"ANSWER = {json.dumps(text, ensure_ascii=False)}") == text.strip()


def test_cli_assign_nbgrader(tmp_path, capsys):
    (tmp_path / "roster.csv").write_text("id\nann\n", encoding="utf-8")
    (tmp_path / "secret.txt").write_bytes(SECRET)
    args = ["assign", str(tmp_path / "roster.csv"), "--exercises", SPEC, "--title", TITLE]
    args += ["--secret-file", str(tmp_path / "secret.txt"), "--out", str(tmp_path / "c")]
    assert main([*args, "--format", "nbgrader", "--assignment-id", "ps3"]) == 0
    out = capsys.readouterr().out
    assert "nbgrader assignment 'ps3'" in out and "nbgrader generate_assignment ps3" in out
    assert (tmp_path / "c" / "handout" / "ann" / "ps3" / "ps3.ipynb").is_file()
    assert main([*args, "--assignment-id", "ps3"]) == 2
    assert "--assignment-id goes with --format nbgrader" in capsys.readouterr().err
    assert main([*args, "--format", "nbgrader", "--assignment-id", "p s"]) == 2
    assert "must be a plain name" in capsys.readouterr().err


def test_pynest_teach_does_not_import_nbgrader():
    code = "import sys, pynest.teach; print([m for m in sys.modules if m[:8] == 'nbgrader'])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "[]\n"
