"""Assign for a small class, fill the notebooks as students would (right, wrong,
garbage, missing, tampered), grade, and check the exact gradebook (issue 16)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from pynest.exercises import GENERATORS, FaultAnswer, LettersAnswer, NumberAnswer
from pynest.teach import TeachError, assign, grade, parse_exercises, read_roster
from pynest.teach.assign import questions_for

SECRET = b"course-secret-for-the-tests-0123"
KINDS = ["partition-table", "translate", "decode-pte"]
SPEC = "partition-table,translate,decode-pte"
TITLE = "Week 3: radix walks"
ROSTER = (
    "id,name\n"
    "alice,Alice Ames\n"
    "bob,Bob Berg\n"
    "carol,Carol Chu\n"
    "dan,Dan Diaz\n"
    "erin,Erin Eze\n"
    "frank,Frank Fox\n"
    "gina,Gina Gold\n"
    "hal,Hal Hart\n"
    "Zoë,Zoe Zed\n"
    "ivy,Ivy One\n"
    ",Nobody\n"
    "ivy,Ivy Two\n"
)


def right(answer: object) -> str:
    """A right answer, written the way a student types it."""
    if isinstance(answer, NumberAnswer):
        return f"{answer.value:#x}"
    if isinstance(answer, FaultAnswer):
        return answer.interrupt + ("" if answer.level is None else f" L{answer.level}")
    if isinstance(answer, LettersAnswer):
        return answer.letters or "none"
    return str(answer)


def wrong(answer: object) -> str:
    """A wrong answer of the right form."""
    if isinstance(answer, NumberAnswer):
        return f"{answer.value + 0x1000:#x}"
    if isinstance(answer, FaultAnswer):
        return "0x1000"
    if isinstance(answer, LettersAnswer):
        return "".join(c for c in answer.alphabet if c not in answer.letters) or "none"
    raise AssertionError(f"no wrong answer for {answer!r}")


def answer_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["metadata"].get("pynest", {}).get("role") == "answer"]


def fill(nb: dict, texts: list[str]) -> dict:
    for cell, text in zip(answer_cells(nb), texts, strict=True):
        cell["source"] = f"ANSWER: {text}"
    return nb


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def classroom(tmp_path):
    """The roster, the assigned notebooks, and a folder of filled submissions."""
    roster_file = tmp_path / "roster.csv"
    roster_file.write_text(ROSTER, encoding="utf-8")
    roster = read_roster(roster_file)
    handed = tmp_path / "handed-out"
    assign(roster, SPEC, TITLE, SECRET, handed)
    ex = {s: [q.exercise for q in questions_for(SECRET, TITLE, s, KINDS)] for s in roster.students}

    def load(student: str) -> dict:
        return json.loads((handed / f"{student}.ipynb").read_text(encoding="utf-8"))

    sub = tmp_path / "submitted"
    sub.mkdir()

    def put(name: str, nb: dict | str) -> None:
        text = nb if isinstance(nb, str) else json.dumps(nb, indent=1)
        (sub / name).write_text(text, encoding="utf-8")

    put("a1.ipynb", fill(load("alice"), [right(e.answer) for e in ex["alice"]]))
    put("bob-final.ipynb", fill(load("bob"), [wrong(e.answer) for e in ex["bob"]]))
    carol = fill(load("carol"), ["¯\\_(ツ)_/¯", "", ""])
    answer_cells(carol)[2]["source"] = right(ex["carol"][2].answer)  # label deleted: still read
    put("Untitled.ipynb", carol)
    dan = fill(load("dan"), [right(e.answer) for e in ex["dan"]])
    dan["metadata"]["pynest"]["student"] = "alice"  # a classmate's name
    put("dan.ipynb", dan)
    erin = fill(load("erin"), [right(e.answer) for e in ex["erin"]])
    erin["metadata"]["pynest"]["questions"][1]["kind"] = "nested-cost"  # an easier kind
    put("erin.ipynb", erin)
    frank = fill(load("frank"), [right(e.answer) for e in ex["frank"]])
    cells = frank["cells"]
    frank["cells"] = [c for c in cells if c is not answer_cells(frank)[1]][::-1]
    put("frank.ipynb", frank)
    put("gina.ipynb", "{this is not JSON")
    put("notes.txt", "a stray file")
    return roster_file, roster, handed, sub, ex, tmp_path


def expected_gradebook() -> str:
    q = "q1 partition-table,q2 translate,q3 decode-pte"
    return (
        f"id,name,{q},total,out of,status\n"
        "alice,Alice Ames,1,1,1,3,3,graded\n"
        "bob,Bob Berg,0,0,0,0,3,graded\n"
        "carol,Carol Chu,0,0,1,1,3,graded (1 unanswered)\n"
        "dan,Dan Diaz,,,,,3,\"dan.ipynb: metadata edited: names student 'alice', but was "
        "assigned to 'dan'; not graded\"\n"
        'erin,Erin Eze,,,,,3,"erin.ipynb: metadata edited: the seal does not match (names '
        "student 'erin', assignment 'Week 3: radix walks', 3 questions); not graded\"\n"
        "frank,Frank Fox,1,0,1,2,3,graded (q2 answer cell missing; cells reordered)\n"
        "gina,Gina Gold,,,,,3,no submission\n"
        "hal,Hal Hart,,,,,3,no submission\n"
        "Zoë,Zoe Zed,,,,,3,roster row 10: student id 'Zoë' is not ASCII; not graded\n"
        "ivy,Ivy One,,,,,3,\"roster row 11: student id 'ivy' is on rows 11, 13; not graded\"\n"
        ",Nobody,,,,,3,roster row 12: empty student id; not graded\n"
        "ivy,Ivy Two,,,,,3,\"roster row 13: student id 'ivy' is on rows 11, 13; not graded\"\n"
    )


def test_the_gradebook_of_a_class(classroom):
    roster_file, roster, _handed, sub, _ex, tmp = classroom
    report = grade(sub, roster, SECRET, tmp / "graded")
    assert (tmp / "graded" / "gradebook.csv").read_bytes() == expected_gradebook().encode()
    problems = (tmp / "graded" / "problems.txt").read_text(encoding="utf-8").splitlines()
    assert problems[:2] == [
        "gina.ipynb: not a notebook (not JSON text)",
        "notes.txt: not a notebook (not JSON text)",
    ]
    assert [p.split(":")[0] for p in problems[2:]] == [
        "dan", "erin", "frank", "Zoë", "ivy", "(empty id)", "ivy"
    ]  # fmt: skip
    assert report.problems == problems
    assert sorted(p.name for p in report.feedback_dir.iterdir()) == [
        f"{s}.md" for s in sorted(roster.students)
    ]


def test_feedback_gives_the_checkers_words_and_the_worked_answer(classroom):
    _rf, roster, _h, sub, ex, tmp = classroom
    grade(sub, roster, SECRET, tmp / "graded")
    text = (tmp / "graded" / "feedback" / "bob.md").read_text(encoding="utf-8")
    for e in ex["bob"]:
        ok, said = e.check(wrong(e.answer))
        assert not ok and said in text
        assert e.reveal() in text and e.question in text
    carol = (tmp / "graded" / "feedback" / "carol.md").read_text(encoding="utf-8")
    assert "Your answer: '¯\\\\_(ツ)_/¯'" in carol and "Not understood" in carol
    assert "Your answer: (none)" in carol
    dan = (tmp / "graded" / "feedback" / "dan.md").read_text(encoding="utf-8")
    assert "not graded" in dan and "Worked answer" not in dan  # no reveal when not graded


def test_regrading_gives_the_same_bytes_and_modifies_no_input(classroom):
    roster_file, roster, handed, sub, _ex, tmp = classroom
    before = digest(sub), digest(handed), roster_file.read_bytes()
    grade(sub, roster, SECRET, tmp / "one")
    grade(sub, roster, SECRET, tmp / "two")
    grade(sub, read_roster(roster_file), SECRET, tmp / "one")  # again, over the first
    assert digest(tmp / "one") == digest(tmp / "two")
    assert (digest(sub), digest(handed), roster_file.read_bytes()) == before
    assert b"\r" not in (tmp / "one" / "gradebook.csv").read_bytes()


def test_file_names_do_not_matter(classroom):
    _rf, roster, _h, sub, _ex, tmp = classroom

    def points(report):
        return [(s.student, [r.points for r in s.results], s.total) for s in report.students]

    first = points(grade(sub, roster, SECRET, tmp / "one"))
    for i, p in enumerate(sorted(sub.iterdir(), reverse=True)):
        p.rename(sub / f"renamed-{i}.json")
    assert points(grade(sub, roster, SECRET, tmp / "two")) == first


def test_two_files_for_one_student_and_a_stranger_are_reported(classroom, tmp_path):
    _rf, roster, handed, sub, _ex, tmp = classroom
    (sub / "alice-copy.ipynb").write_bytes((sub / "a1.ipynb").read_bytes())
    others = tmp_path / "other-class"
    stranger = tmp_path / "stranger.csv"
    stranger.write_text("id\nzed\n")
    assign(read_roster(stranger), SPEC, TITLE, SECRET, others)
    (sub / "zed.ipynb").write_bytes((others / "zed.ipynb").read_bytes())
    report = grade(sub, roster, SECRET, tmp / "graded")
    assert report.line("alice").status == ("2 submissions (a1.ipynb, alice-copy.ipynb); not graded")
    assert report.line("alice").results == []
    assert "zed.ipynb: names student 'zed', who is not on the roster" in report.problems
    assert report.line("bob").status == "graded"  # everyone else is still graded


def test_an_answer_cell_copied_from_a_classmate_is_not_taken(classroom):
    _rf, roster, handed, sub, ex, tmp = classroom
    bob = json.loads((sub / "bob-final.ipynb").read_text())
    alice = json.loads((sub / "a1.ipynb").read_text())
    answer_cells(bob)[0]["metadata"] = answer_cells(alice)[0]["metadata"]
    (sub / "bob-final.ipynb").write_text(json.dumps(bob))
    report = grade(sub, roster, SECRET, tmp / "graded")
    assert report.line("bob").status == "graded (q1 answer cell missing)"


@pytest.mark.parametrize(
    ("source", "points"),
    [
        (["ANSWER:\n", "{right}\n"], 1),  # on the next line, as a list of lines
        ("answer: `{right}`", 1),  # any case, in backticks
        (42, 0),  # not text at all
        ("ANSWER: ANSWER:", 0),
        ("ANSWER: {right}\nmy working: 0x10 is the PATB, so ...", 1),  # working not read
        ("ANSWER: 0x7\n{right}", 0),  # only the first line is the answer
    ],
)
def test_how_an_answer_cell_is_read(tmp_path, source, points):
    roster_file = tmp_path / "r.csv"
    roster_file.write_text("student_id\nsam\n")
    roster = read_roster(roster_file)
    assign(roster, "partition-table", TITLE, SECRET, tmp_path / "out")
    nb = json.loads((tmp_path / "out" / "sam.ipynb").read_text())
    good = right(questions_for(SECRET, TITLE, "sam", ["partition-table"])[0].exercise.answer)
    if isinstance(source, list):
        source = [s.format(right=good) for s in source]
    elif isinstance(source, str):
        source = source.format(right=good)
    answer_cells(nb)[0]["source"] = source
    (tmp_path / "out" / "sam.ipynb").write_text(json.dumps(nb))
    report = grade(tmp_path / "out", roster, SECRET, tmp_path / "graded")
    assert [r.points for r in report.line("sam").results] == [points]


def test_every_kind_survives_the_notebook_round_trip(tmp_path):
    """For each exercise kind the worked answer, typed into the notebook, grades right;
    no kind's notebook holds its seed."""
    roster_file = tmp_path / "r.csv"
    roster_file.write_text("id\nsam\n")
    roster = read_roster(roster_file)
    spec = ",".join(GENERATORS)
    assign(roster, spec, TITLE, SECRET, tmp_path / "out")
    path = tmp_path / "out" / "sam.ipynb"
    nb = json.loads(path.read_text())
    qs = questions_for(SECRET, TITLE, "sam", list(GENERATORS))
    text = path.read_text(encoding="utf-8")
    for q in qs:  # no kind writes its seed into the question
        assert str(q.exercise.seed) not in text and f"{q.exercise.seed:x}" not in text
    path.write_text(json.dumps(fill(nb, [str(q.exercise.answer) for q in qs])))
    report = grade(tmp_path / "out", roster, SECRET, tmp_path / "graded")
    assert report.line("sam").total == len(GENERATORS), report.line("sam").results


def test_a_notebook_is_valid_deterministic_and_holds_no_seed_or_code(tmp_path):
    roster_file = tmp_path / "r.csv"
    roster_file.write_text("id\nsam\nkim\n")
    roster = read_roster(roster_file)
    assign(roster, SPEC, TITLE, SECRET, tmp_path / "a")
    assign(roster, SPEC, TITLE, SECRET, tmp_path / "b")
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    for student in roster.students:
        text = (tmp_path / "a" / f"{student}.ipynb").read_text(encoding="utf-8")
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
        assert {c.cell_type for c in nb.cells} == {"markdown", "raw"}  # nothing that runs
        assert [c.cell_type for c in nb.cells[2::2]] == ["raw"] * len(KINDS)
        for q in questions_for(SECRET, TITLE, student, KINDS):
            seed = q.exercise.seed
            for spelling in (str(seed), f"{seed:x}", f"{seed:X}", f"{seed:#x}"):
                assert spelling not in text
            assert q.exercise.question in nb.cells[2 * q.number - 1].source
        assert "seed" not in text.lower()
        assert nb.metadata["pynest"]["student"] == student


def test_assign_refuses_to_overwrite_and_names_bad_input(tmp_path):
    roster_file = tmp_path / "r.csv"
    roster_file.write_text("id\nsam\n")
    roster = read_roster(roster_file)
    assign(roster, SPEC, TITLE, SECRET, tmp_path / "out")
    with pytest.raises(TeachError, match="already in"):
        assign(roster, SPEC, TITLE, SECRET, tmp_path / "out")
    assign(roster, "translate", TITLE, SECRET, tmp_path / "out", overwrite=True)
    assert parse_exercises("Translate: 2, set_ptbl") == ["translate", "translate", "set-ptbl"]
    assert parse_exercises([("walk2d", 2)]) == ["walk2d", "walk2d"]
    for spec, says in [
        ("translat", "unknown exercise kind 'translat'"),
        ("translate:0", "must be a whole number >= 1"),
        ("translate:two", "count 'two' of 'translate' is not a number"),
        ("", "no exercises given"),
    ]:
        with pytest.raises(TeachError, match=says):
            assign(roster, spec, TITLE, SECRET, tmp_path / "x")
    with pytest.raises(TeachError, match="needs a title"):
        assign(roster, SPEC, "  ", SECRET, tmp_path / "x")
    with pytest.raises(TeachError, match="at least 16"):
        assign(roster, SPEC, TITLE, b"short", tmp_path / "x")
    assert not (tmp_path / "x").exists()
    for inside in ("out", "out/graded"):
        with pytest.raises(TeachError, match="outside the submissions folder"):
            grade(tmp_path / "out", roster, SECRET, tmp_path / inside)


def test_the_gradebook_never_holds_a_formula(classroom):
    """A file name or a roster column a spreadsheet would run stays text."""
    roster_file, _roster, _h, sub, _ex, tmp = classroom
    (sub / "dan.ipynb").rename(sub / "=HYPERLINK(1).ipynb")
    text = roster_file.read_text().replace("Bob Berg", "@SUM(1)")
    roster_file.write_text(text)
    grade(sub, read_roster(roster_file), SECRET, tmp / "graded")
    rows = (tmp / "graded" / "gradebook.csv").read_text().splitlines()
    assert rows[2].startswith("bob,'@SUM(1),")
    assert rows[4].startswith("dan,Dan Diaz,,,,,3,\"'=HYPERLINK(1).ipynb: metadata edited")


def test_a_title_is_one_line(tmp_path):
    roster_file = tmp_path / "r.csv"
    roster_file.write_text("id\nsam\n")
    with pytest.raises(TeachError, match="one line"):
        assign(read_roster(roster_file), SPEC, "Week 3\n# injected", SECRET, tmp_path / "x")


def test_a_notebook_of_another_assignment_is_not_graded_against_this_one(classroom):
    _rf, roster, _h, sub, _ex, tmp = classroom
    report = grade(sub, roster, SECRET, tmp / "g1", exercises="translate:3", title=TITLE)
    assert report.line("alice").status == (
        "a1.ipynb: a different assignment ('Week 3: radix walks', 3 questions: "
        "partition-table translate decode-pte; grading 'Week 3: radix walks', 3 questions: "
        "translate translate translate); not graded"
    )
    report = grade(sub, roster, SECRET, tmp / "g2", exercises=SPEC, title="Week 4")
    assert report.line("bob").status.startswith("bob-final.ipynb: a different assignment")
    report = grade(sub, roster, SECRET, tmp / "g3", exercises=SPEC, title=TITLE)
    assert report.line("alice").total == 3  # the right one is graded as before


def test_a_course_site_download_with_a_folder_per_student(classroom):
    """Subfolders are read; hidden ones (Lab's checkpoints) are not."""
    _rf, roster, _h, sub, _ex, tmp = classroom
    (sub / "Alice Ames_123" / ".ipynb_checkpoints").mkdir(parents=True)
    (sub / "a1.ipynb").rename(sub / "Alice Ames_123" / "week3.ipynb")
    shutil.copy(
        sub / "Alice Ames_123" / "week3.ipynb",
        sub / "Alice Ames_123" / ".ipynb_checkpoints" / "week3-checkpoint.ipynb",
    )
    report = grade(sub, roster, SECRET, tmp / "graded")
    assert report.line("alice").status == "graded"
    assert report.line("alice").file == "Alice Ames_123/week3.ipynb"
    assert report.line("alice").total == 3


def test_the_wrong_secret_is_one_clear_error_not_a_class_of_cheats(classroom):
    _rf, roster, _h, sub, _ex, tmp = classroom
    with pytest.raises(TeachError, match="none of the 6 assignment notebooks .* this secret"):
        grade(sub, roster, b"another-course-secret-0000", tmp / "graded")
    assert not (tmp / "graded").exists()


def test_each_assignment_is_new_and_grades_against_its_own_title(tmp_path):
    """Week 3 and week 4 with the same exercise list: other questions for the same
    student (issue 16), each notebook graded right with its own answers, and a week-3
    answer cell pasted into week 4 is no answer to week 4."""
    roster_file = tmp_path / "r.csv"
    roster_file.write_text("id\nsam\nkim\n")
    roster = read_roster(roster_file)
    assign(roster, SPEC, "Week 3", SECRET, tmp_path / "w3")
    assign(roster, SPEC, "Week 4", SECRET, tmp_path / "w4")
    for student in roster.students:
        w3 = questions_for(SECRET, "Week 3", student, KINDS)
        w4 = questions_for(SECRET, "Week 4", student, KINDS)
        assert [q.qid for q in w3] != [q.qid for q in w4]
        assert [q.exercise.question for q in w3] != [q.exercise.question for q in w4]
        nb = json.loads((tmp_path / "w4" / f"{student}.ipynb").read_text())
        assert [c["metadata"]["pynest"]["id"] for c in answer_cells(nb)] == [q.qid for q in w4]
        fill(nb, [right(q.exercise.answer) for q in w4])
        (tmp_path / "w4" / f"{student}.ipynb").write_text(json.dumps(nb))
    report = grade(tmp_path / "w4", roster, SECRET, tmp_path / "g4")
    assert [(s.student, s.total, s.status) for s in report.students] == [
        ("sam", 3, "graded"),
        ("kim", 3, "graded"),
    ]
    sam3 = json.loads((tmp_path / "w3" / "sam.ipynb").read_text())
    sam4 = json.loads((tmp_path / "w4" / "sam.ipynb").read_text())
    answer_cells(sam4)[0]["metadata"] = answer_cells(sam3)[0]["metadata"]
    (tmp_path / "w4" / "sam.ipynb").write_text(json.dumps(sam4))
    report = grade(tmp_path / "w4", roster, SECRET, tmp_path / "g4b")
    assert report.line("sam").status == "graded (q1 answer cell missing)"
    assert [r.points for r in report.line("sam").results] == [0, 1, 1]
