"""Grading: re-derive each student's questions, check the answers, write the gradebook.

A student's questions are derived from the secret, the assignment title and the student
id (:func:`.assign.questions_for`); the title and the id are read from the submission's
sealed metadata, so grading needs neither to be given.

Submissions are matched to students by their sealed metadata, never by file name. A
file that is not a notebook, a notebook whose seal does not match (its student id or
question list was edited), two files for one student, a deleted answer cell: each is
named in the gradebook's ``status`` column (or in ``problems.txt`` when no student can
be named) and every other student is graded. Input files are only read.

Output, all LF text, the same bytes on every run: ``gradebook.csv`` (roster order:
the id, the roster's other columns, one points column per question, total, out of,
status), ``feedback/<id>.md`` per student and ``problems.txt``.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exercises import GENERATORS
from .assign import Question, parse_exercises, questions_for
from .roster import Roster
from .seeds import TeachError, check_secret, same_tag, submission_tag


@dataclass
class Result:
    """One question's grade: points (None: not graded), the answer as read, feedback."""

    points: int | None
    answer: str
    feedback: str


@dataclass
class StudentGrade:
    """One roster row's line: points per question (None where not graded) and status."""

    student: str
    columns: tuple[tuple[str, str], ...]
    status: str
    results: list[Result] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    file: str = ""
    notes: list[str] = field(default_factory=list)
    """What was wrong with a graded notebook's cells (deleted, duplicated, reordered)."""

    @property
    def total(self) -> int:
        return sum(r.points or 0 for r in self.results)


@dataclass
class GradeReport:
    """What :func:`grade` found and wrote."""

    students: list[StudentGrade]
    problems: list[str]
    kinds: list[str]
    gradebook: Path
    feedback_dir: Path

    def line(self, student: str) -> StudentGrade:
        return next(s for s in self.students if s.student == student)


@dataclass
class _Submission:
    file: str
    student: str = ""  # whom the seal says the file was assigned to
    claimed: str = ""  # the student id the metadata names
    title: str = ""
    kinds: list[str] = field(default_factory=list)
    cells: list[Any] = field(default_factory=list)
    problem: str = ""  # why it cannot be graded


def _read(folder: Path, name: str, secret: bytes, roster: Roster) -> _Submission:
    sub = _Submission(file=name)
    path = folder / name
    try:
        nb = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        sub.problem = "not a notebook (not JSON text)"
        return sub
    except OSError as e:
        sub.problem = f"cannot be read ({e.strerror})"
        return sub
    meta = nb.get("metadata") if isinstance(nb, dict) else None
    info = meta.get("pynest") if isinstance(meta, dict) else None
    if not isinstance(info, dict):
        sub.problem = "not a pynest assignment (no pynest metadata)"
        return sub
    claimed, title, questions = info.get("student"), info.get("assignment"), info.get("questions")
    kinds = (
        [q.get("kind") for q in questions if isinstance(q, dict)]
        if isinstance(questions, list)
        else []
    )
    if not (
        isinstance(claimed, str)
        and isinstance(title, str)
        and kinds
        and all(isinstance(k, str) for k in kinds)
    ):
        sub.problem = "its pynest metadata was edited (student, assignment or questions unreadable)"
        sub.claimed = claimed if isinstance(claimed, str) else ""
        return sub
    sub.claimed, sub.title, sub.kinds = claimed, title, [str(k) for k in kinds]
    cells = nb.get("cells")
    sub.cells = cells if isinstance(cells, list) else []
    tag = info.get("tag")
    if claimed.isascii() and same_tag(submission_tag(secret, claimed, title, sub.kinds), tag):
        sub.student = claimed
        return sub
    owner = next(
        (s for s in roster.students if same_tag(submission_tag(secret, s, title, sub.kinds), tag)),
        "",
    )
    if owner:
        sub.student = owner
        sub.problem = f"metadata edited: names student {claimed!r}, but was assigned to {owner!r}"
    else:
        sub.problem = (
            f"metadata edited: the seal does not match (names student {claimed!r}, "
            f"assignment {title!r}, {len(sub.kinds)} questions)"
        )
    return sub


def _source(cell: dict[str, Any]) -> str | None:
    src = cell.get("source")
    if isinstance(src, list) and all(isinstance(s, str) for s in src):
        return "".join(src)
    return src if isinstance(src, str) else None


_LABEL_RE = re.compile(r"\s*ANSWER\s*([:=])(.*)", re.IGNORECASE)
MAX_ANSWER_CHARS = 1000
"""Longer answer lines are read as they are, never parsed as a Python string."""


def answer_text(source: str) -> str:
    """The answer in an answer cell: what follows the first ``ANSWER:`` (raw cells) or
    ``ANSWER =`` (nbgrader's code cells) on its line, or the next line with text when
    ``ANSWER:`` ends its line; without a label, the cell's first line with text. A Python
    string literal (``"0x10"``) gives its contents; surrounding spaces and backticks go.
    Other lines are the student's working and are not read."""
    lines = source.splitlines()
    for i, line in enumerate(lines):
        label = _LABEL_RE.match(line)
        if label:
            text = label.group(2).strip()
            if not text and label.group(1) == ":":
                text = next((ln.strip() for ln in lines[i + 1 :] if ln.strip()), "")
            return _unquoted(text)
    return _unquoted(next((ln.strip() for ln in lines if ln.strip()), ""))


def _unquoted(text: str) -> str:
    if text[:1] in ("'", '"') and len(text) <= MAX_ANSWER_CHARS:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            value = None
        if isinstance(value, str):
            return value.strip()
    return text.strip("`").strip()


def _spreadsheet_safe(text: str) -> str:
    """``text`` as a CSV field a spreadsheet shows and never runs as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def answer_cells(
    cells: list[Any],
) -> tuple[dict[tuple[int, str], list[dict[str, Any]]], list[int]]:
    """Answer cells by (number, id), and the numbers in the order the cells come."""
    found: dict[tuple[int, str], list[dict[str, Any]]] = {}
    order = []
    for cell in cells:
        meta = cell.get("metadata") if isinstance(cell, dict) else None
        info = meta.get("pynest") if isinstance(meta, dict) else None
        if not isinstance(info, dict) or info.get("role") != "answer":
            continue
        number, qid = info.get("number"), info.get("id")
        if isinstance(number, int) and isinstance(qid, str):
            found.setdefault((number, qid), []).append(cell)
            order.append(number)
    return found, order


def question_result(
    q: Question, found: dict[tuple[int, str], list[dict[str, Any]]]
) -> tuple[Result, str]:
    """The grade of question ``q`` from the answer cells found (:func:`answer_cells`),
    and a note: "" (graded), "unanswered", or what was wrong with its cells. One rule
    for :func:`grade` and for nbgrader's autograded test cells (:mod:`.nbgrader_layout`)."""
    cells = found.get((q.number, q.qid), [])
    if not cells:
        missing = "No answer cell: it was deleted or its metadata edited."
        return Result(0, "", missing), f"q{q.number} answer cell missing"
    if len(cells) > 1:
        many = f"{len(cells)} answer cells for this question."
        return Result(0, "", many), f"q{q.number} has {len(cells)} answer cells"
    source = _source(cells[0])
    if source is None:
        empty = "The answer cell holds no text."
        return Result(0, "", empty), f"q{q.number} answer cell unreadable"
    text = answer_text(source)
    if not text:
        return Result(0, "", "No answer was given."), "unanswered"
    ok, feedback = q.exercise.check(text)
    return Result(1 if ok else 0, text, feedback), ""


def _grade_one(line: StudentGrade, sub: _Submission, secret: bytes, kinds: list[str]) -> None:
    line.questions = questions_for(secret, sub.title, line.student, kinds)
    found, order = answer_cells(sub.cells)
    notes = []
    unanswered = 0
    for q in line.questions:
        result, note = question_result(q, found)
        line.results.append(result)
        if note == "unanswered":
            unanswered += 1
        elif note:
            notes.append(note)
    if order != sorted(order):
        notes.append("cells reordered")
    line.notes = notes
    shown = [*notes, *([f"{unanswered} unanswered"] if unanswered else [])]
    line.status = "graded" + (f" ({'; '.join(shown)})" if shown else "")


def _questions(kinds: list[str]) -> str:
    return f"{len(kinds)} question{'s' if len(kinds) != 1 else ''}: {' '.join(kinds)}"


def _feedback(line: StudentGrade, title: str) -> str:
    out = [f"# Feedback: {title}", "", f"Student: {line.student}", f"Status: {line.status}", ""]
    if line.results:
        out += [f"Total: {line.total} of {len(line.results)}", ""]
    for q, r in zip(line.questions, line.results, strict=True):
        verdict = "right" if r.points else "not right"
        out += [
            f"## Question {q.number} ({q.kind}): {r.points} point{'s' if r.points != 1 else ''}",
            "",
            "```text",
            q.exercise.question,
            "```",
            "",
            f"Your answer: {r.answer!r}" if r.answer else "Your answer: (none)",
            f"Verdict: {verdict}. {r.feedback}",
            "",
            "Worked answer:",
            "",
            "```text",
            q.exercise.reveal(),
            "```",
            "",
        ]
    return "\n".join(out).rstrip("\n") + "\n"


def grade(
    submissions: str | Path,
    roster: Roster,
    secret: bytes,
    out_dir: str | Path,
    exercises: str | Sequence[tuple[str, int]] | None = None,
    title: str | None = None,
) -> GradeReport:
    """Grade every file in the folder ``submissions`` (and its subfolders, as a course
    site's download has them; hidden ones like ``.ipynb_checkpoints`` skipped) against
    ``roster``; write the gradebook, the feedback files and ``problems.txt`` into
    ``out_dir``, which must be outside ``submissions``.

    ``exercises`` (as for :func:`.assign.assign`) and ``title``, when given, are the
    assignment every submission must be; otherwise both are taken from the first
    well-sealed submission in roster order."""
    check_secret(secret)
    folder, out = Path(submissions), Path(out_dir)
    if not folder.is_dir():
        raise TeachError(f"the submissions folder {str(folder)!r} does not exist")
    if out.exists() and not out.is_dir():
        raise TeachError(f"{str(out)!r} is a file, not a folder for the gradebook")
    if out.resolve().is_relative_to(folder.resolve()):
        raise TeachError(
            f"write the gradebook outside the submissions folder {str(folder)!r} "
            "(it would be read as a submission next time)"
        )
    kinds = parse_exercises(exercises) if exercises is not None else []
    files = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not any(n.startswith(".") for n in p.relative_to(folder).parts)
    )
    subs = [_read(folder, name, secret, roster) for name in files]
    ours = [s for s in subs if s.kinds]  # assignment notebooks, sealed or not
    if len(ours) > 1 and not any(s.student for s in ours):
        raise TeachError(
            f"none of the {len(ours)} assignment notebooks in {str(folder)!r} is sealed with "
            "this secret: is it the secret file that assign used?"
        )
    by_student: dict[str, list[_Submission]] = {}
    for s in subs:
        who = s.student or (s.claimed if s.claimed in roster.students else "")
        if who:
            by_student.setdefault(who, []).append(s)
    if not kinds or title is None:
        first = next(
            (
                by_student[s][0]
                for s in roster.students
                if len(by_student.get(s, [])) == 1 and not by_student[s][0].problem
            ),
            None,
        )
        if first is not None:
            kinds = kinds or first.kinds
            title = first.title if title is None else title
    title = title or ""
    lines = []
    for row in roster.rows:
        line = StudentGrade(row.student, row.columns, "")
        lines.append(line)
        mine = by_student.get(row.student, []) if not row.problem else []
        if row.problem:
            line.status = f"roster row {row.row}: {row.problem}; not graded"
        elif not mine:
            line.status = "no submission"
        elif len(mine) > 1:
            line.status = f"{len(mine)} submissions ({', '.join(s.file for s in mine)}); not graded"
        elif mine[0].problem:
            line.status = f"{mine[0].file}: {mine[0].problem}; not graded"
        elif mine[0].kinds != kinds or mine[0].title != title:
            line.status = (
                f"{mine[0].file}: a different assignment ({mine[0].title!r}, "
                f"{_questions(mine[0].kinds)}; grading {title!r}, {_questions(kinds)}); "
                "not graded"
            )
        else:
            line.file = mine[0].file
            _grade_one(line, mine[0], secret, kinds)
    graded = {s.file for who in roster.students for s in by_student.get(who, [])}
    problems = [f"{s.file}: {s.problem}" for s in subs if s.file not in graded]
    problems += [
        f"{s.file}: names student {s.claimed!r}, who is not on the roster"
        for s in subs
        if s.file not in graded and not s.problem
    ]
    problems.sort()
    for line in lines:
        if line.notes or not (line.results or line.status == "no submission"):
            problems.append(f"{line.student or '(empty id)'}: {line.status}")
    out.mkdir(parents=True, exist_ok=True)
    feedback_dir = out / "feedback"
    feedback_dir.mkdir(exist_ok=True)
    gradebook = out / "gradebook.csv"
    _write(gradebook, _csv(roster, lines, kinds))
    for line in lines:
        if line.student and not any(r.student == line.student and r.problem for r in roster.rows):
            _write(feedback_dir / f"{line.student}.md", _feedback(line, title))
    _write(out / "problems.txt", "".join(p + "\n" for p in problems))
    return GradeReport(lines, problems, list(kinds), gradebook, feedback_dir)


def _csv(roster: Roster, lines: list[StudentGrade], kinds: list[str]) -> str:
    questions = [f"q{i} {k}" for i, k in enumerate(kinds, 1)]
    rows = [[roster.id_column, *roster.extra_columns, *questions, "total", "out of", "status"]]
    for line in lines:
        points = [("" if r.points is None else str(r.points)) for r in line.results]
        points += [""] * (len(kinds) - len(points))
        total = str(line.total) if line.results else ""
        columns = [v for _, v in line.columns]
        rows.append([line.student, *columns, *points, total, str(len(kinds)), line.status])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(
        [_spreadsheet_safe(f) for f in row] for row in rows
    )
    return buf.getvalue()


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")


__all__ = ["GENERATORS", "GradeReport", "StudentGrade", "answer_text", "grade"]
