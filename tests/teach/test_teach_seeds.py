"""The HMAC derivations of pynest.teach.seeds, the roster reader, and the CLI commands."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pynest import cli
from pynest.teach import (
    TeachError,
    load_secret,
    question_id,
    question_seed,
    read_roster,
    submission_tag,
)

SECRET = b"0123456789abcdef-course"
IDS = [f"s{i:03d}" for i in range(300)]
WEEK = "Week 1"


def test_every_student_and_question_gets_its_own_seed():
    seeds = {question_seed(SECRET, WEEK, s, n) for s in IDS for n in range(1, 11)}
    assert len(seeds) == len(IDS) * 10
    assert all(0 <= s < 1 << 64 for s in seeds)
    assert question_seed(SECRET, WEEK, "s001", 3) == question_seed(bytes(SECRET), WEEK, "s001", 3)


titles = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)


@given(titles, titles, st.sampled_from(IDS), st.integers(1, 100))
def test_every_assignment_gets_its_own_variants(title, other, student, number):
    """Question ``number`` of one student has another seed and id in another assignment
    (a practice sheet and the graded one, week 3 and week 5), and the same in the same one."""
    seed, qid = (
        question_seed(SECRET, title, student, number),
        question_id(SECRET, title, student, number),
    )
    assert seed == question_seed(SECRET, title, student, number)
    assert qid == question_id(SECRET, title, student, number)
    if other != title:
        assert seed != question_seed(SECRET, other, student, number)
        assert qid != question_id(SECRET, other, student, number)


def test_the_seed_message_is_unambiguous():
    """Title, student and number are separate fields of the HMAC message: moving a
    character from one to the next gives another seed."""
    assert question_seed(SECRET, "Week 1", "0", 1) != question_seed(SECRET, "Week 10", "", 1)
    assert question_seed(SECRET, "a", "b1", 2) != question_seed(SECRET, "a", "b", 12)
    assert question_seed(SECRET, 'x","y', "z", 1) != question_seed(SECRET, "x", 'y","z', 1)
    week3 = [question_seed(SECRET, "Week 3", s, 1) for s in IDS]
    week5 = [question_seed(SECRET, "Week 5", s, 1) for s in IDS]
    assert not set(week3) & set(week5)


def test_a_seed_depends_on_the_secret():
    other = SECRET + b"!"
    for s in IDS[:50]:
        assert question_seed(SECRET, WEEK, s, 1) != question_seed(other, WEEK, s, 1)
        assert question_id(SECRET, WEEK, s, 1) != question_id(other, WEEK, s, 1)
        assert submission_tag(SECRET, s, "t", ["translate"]) != submission_tag(
            other, s, "t", ["translate"]
        )


def test_what_a_student_sees_does_not_give_the_seed():
    """The question id and the tag are other HMACs: no prefix or plain hash of the
    student id, the question id or the tag is the seed."""
    for s in IDS[:50]:
        seed = question_seed(SECRET, WEEK, s, 1)
        qid = question_id(SECRET, WEEK, s, 1)
        tag = submission_tag(SECRET, s, "t", ["translate"])
        for text in (s, qid, tag, f"{s}1", f"{s}:1"):
            h = hashlib.sha256(text.encode()).digest()
            assert int.from_bytes(h[:8], "big") != seed
        assert f"{seed:x}"[:12] not in (qid, tag[:12])
        assert int(qid, 16) != seed >> 16


def test_the_tag_covers_student_title_and_kinds():
    tag = submission_tag(SECRET, "amy", "Week 1", ["translate", "walk2d"])
    assert tag != submission_tag(SECRET, "bea", "Week 1", ["translate", "walk2d"])
    assert tag != submission_tag(SECRET, "amy", "Week 2", ["translate", "walk2d"])
    assert tag != submission_tag(SECRET, "amy", "Week 1", ["walk2d", "translate"])
    assert tag != submission_tag(SECRET, "amy", "Week 1", ["translate"])
    # no ambiguity from joining: ("a,b", "c") and ("a", "b,c") differ
    assert submission_tag(SECRET, "a", "x,y", ["z"]) != submission_tag(SECRET, "a", "x", ["y,z"])


def test_a_short_or_missing_secret_is_refused(tmp_path):
    with pytest.raises(TeachError, match="at least 16"):
        question_seed(b"short", WEEK, "amy", 1)
    with pytest.raises(TeachError, match="must be bytes"):
        question_seed("a string secret!!", WEEK, "amy", 1)  # type: ignore[arg-type]
    with pytest.raises(TeachError, match="cannot read the secret file"):
        load_secret(tmp_path / "nope")
    (tmp_path / "s").write_bytes(SECRET + b"\n")
    assert load_secret(tmp_path / "s") == SECRET


# ------------------------------------------------------------------------ roster
def test_the_roster_keeps_columns_and_names_each_bad_row(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(
        "\ufeffName,Student_ID,group\n"
        "Amy,amy,A\n"
        "Bad,has space,B\n"
        "Slash,../etc,B\n"
        "Dup,bea,A\n"
        "Dup2,bea,B\n"
        "Short,cid\n",
        encoding="utf-8",
    )
    roster = read_roster(path)
    assert roster.id_column == "Student_ID"
    assert roster.extra_columns == ("Name", "group")
    assert roster.students == ["amy", "cid"]
    assert roster.rows[0].columns == (("Name", "Amy"), ("group", "A"))
    assert roster.rows[5].columns == (("Name", "Short"), ("group", ""))
    problems = [r.problem for r in roster.rows]
    assert "'has space' is not a plain name" in problems[1]
    assert "'../etc' is not a plain name" in problems[2]
    assert problems[3] == problems[4] == "student id 'bea' is on rows 5, 6"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"name,group\nAmy,A\n", "no student id column"),
        (b"", "is empty"),
        (b"id\n", "has no students"),
        (b"id\n\xff\xfe\n", "not UTF-8"),
        (b"id,name,name\namy,A,B\n", "two columns named 'name'"),
    ],
)
def test_an_unusable_roster_is_one_clear_error(tmp_path, content, says):
    path = tmp_path / "r.csv"
    path.write_bytes(content)
    with pytest.raises(TeachError, match=says):
        read_roster(path)


def test_rows_are_named_by_their_line_and_case_does_not_make_a_new_id(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("id\namy\n\nAmy\nbea\n\n\nbea\n")  # blank lines are skipped
    roster = read_roster(path)
    assert [r.row for r in roster.rows] == [2, 4, 5, 8]
    assert roster.rows[0].problem == (
        "student id 'amy' is on rows 2, 4 (ids that differ only in case are the same: they "
        "share a file name)"
    )
    assert roster.rows[3].problem == "student id 'bea' is on rows 5, 8"
    assert roster.students == []


# ------------------------------------------------------------------------ CLI
def test_assign_and_grade_from_the_command_line(tmp_path, capsys):
    (tmp_path / "roster.csv").write_text("id,name\namy,Amy\n,nobody\nbea,Bea\n")
    (tmp_path / "secret.txt").write_bytes(SECRET + b"\n")
    base = ["--secret-file", str(tmp_path / "secret.txt")]
    status = cli.main(
        ["assign", str(tmp_path / "roster.csv"), "--exercises", "translate:2,lpids",
         "--title", "Week 6", "--out", str(tmp_path / "out"), *base]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert status == 1  # a roster row was skipped, the others written
    assert out == f"2 notebook(s) written to {tmp_path / 'out'}\n"
    assert err == "pynest: roster row 3 skipped: empty student id\n"
    (tmp_path / "out" / "bea.ipynb").unlink()
    status = cli.main(
        ["grade", str(tmp_path / "out"), "--roster", str(tmp_path / "roster.csv"),
         "--out", str(tmp_path / "graded"), *base]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert status == 1
    assert out == (
        f"1 of 3 roster row(s) graded: {tmp_path / 'graded' / 'gradebook.csv'}\n"
        "no submission from 1: bea\n"
    )
    assert err == "pynest: (empty id): roster row 3: empty student id; not graded\n"
    rows = (tmp_path / "graded" / "gradebook.csv").read_text().splitlines()
    assert rows[0] == "id,name,q1 translate,q2 translate,q3 lpids,total,out of,status"
    assert rows[1] == "amy,Amy,0,0,0,0,3,graded (3 unanswered)"
    assert rows[3] == "bea,Bea,,,,,3,no submission"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["assign", "{d}/roster.csv", "--exercises", "nope", "--title", "t", "--out", "{d}/o"],
         "unknown exercise kind 'nope'"),
        (["assign", "{d}/missing.csv", "--exercises", "lpids", "--title", "t", "--out", "{d}/o"],
         "cannot read the roster"),
        (["assign", "{d}/roster.csv", "--title", "t", "--out", "{d}/o"],
         "the following arguments are required: --exercises"),
        (["grade", "{d}/nowhere", "--roster", "{d}/roster.csv", "--out", "{d}/g"],
         "the submissions folder"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_status_2(tmp_path, capsys, args, says):
    (tmp_path / "roster.csv").write_text("id\namy\n")
    (tmp_path / "secret.txt").write_bytes(SECRET)
    argv = [a.format(d=tmp_path) for a in args] + ["--secret-file", str(tmp_path / "secret.txt")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("pynest: error: ") and says in err and err.count("\n") == 1


def test_import_pynest_does_not_import_teach():
    code = "import sys, pynest; print(json.dumps(sorted(m for m in sys.modules if 'teach' in m)))"
    out = subprocess.run(
        [sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == []
    views = "('matplotlib', 'ipywidgets')"
    code = f"import sys, pynest.teach; print(json.dumps([m for m in {views} if m in sys.modules]))"
    out = subprocess.run(
        [sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == []
