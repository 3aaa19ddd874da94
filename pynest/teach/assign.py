"""One notebook per student: the intro, each question, and an answer cell under it.

The notebook holds the question text (markdown) and one raw answer cell per question.
Its metadata (``metadata.pynest``) names the student, the title and, per question, the
kind, the number and a question id, sealed with a tag (:func:`.seeds.submission_tag`).
The seeds come from the title, the student and the number (:func:`questions_for`), so
every assignment is new for every student;
the seeds are not written anywhere and no code cell builds an exercise, so the notebook
cannot reveal an answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..exercises import GENERATORS, Exercise, generate
from .roster import Roster
from .seeds import TeachError, check_secret, question_id, question_seed, submission_tag

FORMAT = 1
"""Version of the metadata layout written by :func:`student_notebook`."""
ANSWER_LABEL = "ANSWER:"
"""What an answer cell starts with; the answer is the text after it."""
MAX_QUESTIONS = 100


def parse_exercises(spec: str | Sequence[tuple[str, int]]) -> list[str]:
    """The kinds of the questions, in order, from ``"translate:3,walk2d"`` (a count after
    a colon, 1 if none) or from ``[("translate", 3), ("walk2d", 1)]``."""
    if isinstance(spec, str):
        pairs: list[tuple[str, int]] = []
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            kind, _, written = part.partition(":")
            if written and not re.fullmatch(r"\s*[0-9]+\s*", written):
                raise TeachError(f"exercise count {written!r} of {kind.strip()!r} is not a number")
            pairs.append((kind.strip(), int(written) if written else 1))
    else:
        pairs = list(spec)
    kinds: list[str] = []
    for kind, count in pairs:
        name = kind.strip().lower().replace("_", "-") if isinstance(kind, str) else kind
        if name not in GENERATORS:
            raise TeachError(f"unknown exercise kind {kind!r}; choose from {', '.join(GENERATORS)}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise TeachError(f"the count of {kind!r} must be a whole number >= 1, got {count!r}")
        kinds += [name] * count
    if not kinds:
        raise TeachError("no exercises given: list kinds like 'translate:3,walk2d:2'")
    if len(kinds) > MAX_QUESTIONS:
        raise TeachError(f"{len(kinds)} questions is too many (at most {MAX_QUESTIONS})")
    return kinds


@dataclass(frozen=True)
class Question:
    """Question ``number`` (1-based) of a student, with the exercise it was built from."""

    number: int
    kind: str
    qid: str
    exercise: Exercise


def questions_for(
    secret: bytes, assignment: str, student: str, kinds: Sequence[str]
) -> list[Question]:
    """The student's questions in ``assignment`` (its title), re-derived from the secret
    (assigning and grading alike): another title gives the same student other variants."""
    out = []
    for number, kind in enumerate(kinds, start=1):
        seed = question_seed(secret, assignment, student, number)
        qid = question_id(secret, assignment, student, number)
        out.append(Question(number, kind, qid, generate(kind, seed)))
    return out


ANSWER_FORMS = (
    "Write numbers in hex (`0x...`) or decimal, faults as the interrupt and the level "
    "(like `HDSI L2`), access rights as letters (like `rw`); each question says what it "
    "asks for. Your questions are your own: a classmate's are different."
)
"""How to write an answer: every assignment notebook's intro says it."""


def _intro(title: str, student: str, count: int) -> str:
    return (
        f"# {title}\n\n"
        f"For **{student}**: {count} question{'s' if count != 1 else ''}, each followed "
        f"by an answer box (a plain-text cell) that starts with `{ANSWER_LABEL}`.\n\n"
        f"Click into an answer box, type your answer after `{ANSWER_LABEL}` on the same "
        "line (lines below it are yours for working; they are not graded), and save the "
        f"notebook. {ANSWER_FORMS}\n\n"
        "Keep the cells and their order as they are; only the answer cells are read."
    )


def student_notebook(
    secret: bytes, student: str, title: str, kinds: Sequence[str]
) -> dict[str, Any]:
    """The assignment notebook of ``student``, as the dict of an nbformat 4 file: the
    questions of ``title`` (:func:`questions_for`), sealed for that title."""
    questions = questions_for(secret, title, student, kinds)
    cells = [_cell(_intro(title, student, len(questions)), False, {"role": "intro"})]
    for q in questions:
        meta: dict[str, Any] = {"kind": q.kind, "number": q.number, "id": q.qid}
        text = f"## Question {q.number} ({q.kind})\n\n```text\n{q.exercise.question}\n```"
        cells += [
            _cell(text, False, {**meta, "role": "question"}),
            _cell(f"{ANSWER_LABEL} ", True, {**meta, "role": "answer"}, "raw"),
        ]
    pynest = {
        "format": FORMAT,
        "assignment": title,
        "student": student,
        "questions": [{"number": q.number, "kind": q.kind, "id": q.qid} for q in questions],
        "tag": submission_tag(secret, student, title, kinds),
    }
    return notebook(cells, pynest=pynest)


def notebook(cells: list[dict[str, Any]], **metadata: Any) -> dict[str, Any]:
    """An nbformat 4.4 notebook of ``cells`` for the python3 kernel, ``metadata`` added to
    the notebook's own."""
    kernel = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return {
        "cells": cells,
        "metadata": {"kernelspec": kernel, "language_info": {"name": "python"}, **metadata},
        "nbformat": 4,
        "nbformat_minor": 4,
    }


def _cell(
    source: str, editable: bool, pynest: dict[str, Any], cell_type: str = "markdown"
) -> dict[str, Any]:
    """A cell that runs nothing: markdown, or raw for an answer (always shown as a text box,
    never rendered). nbformat 4.4: no cell id, so equal inputs give equal files."""
    meta: dict[str, Any] = {"deletable": False, "pynest": pynest}
    if not editable:
        meta["editable"] = False
    return {"cell_type": cell_type, "metadata": meta, "source": source}


def notebook_text(nb: dict[str, Any]) -> str:
    """A notebook as its file holds it (the layout Jupyter writes: indent 1, keys sorted)."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write_notebook(path: Path, nb: dict[str, Any]) -> None:
    """Write ``nb`` to ``path`` as :func:`notebook_text` (UTF-8, LF line ends)."""
    path.write_text(notebook_text(nb), encoding="utf-8", newline="\n")


def notebook_name(student: str) -> str:
    """The file name of a student's notebook (ids are plain names: see roster)."""
    return f"{student}.ipynb"


def check_title(title: object) -> str:
    """``title`` without surrounding spaces, if it is one printable line (at most 200)."""
    if not isinstance(title, str) or not title.strip():
        raise TeachError("the assignment needs a title, e.g. 'Week 3: radix walks'")
    title = title.strip()
    if not title.isprintable() or len(title) > 200:
        raise TeachError("the title must be one line of at most 200 printable characters")
    return title


def assign(
    roster: Roster,
    exercises: str | Sequence[tuple[str, int]],
    title: str,
    secret: bytes,
    out_dir: str | Path,
    overwrite: bool = False,
) -> list[Path]:
    """Write one notebook per usable roster row into ``out_dir``; returns the paths.

    Rows with a problem (see :mod:`.roster`) get no notebook. An existing file is not
    replaced unless ``overwrite``."""
    check_secret(secret)
    kinds = parse_exercises(exercises)
    title = check_title(title)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise TeachError(f"{str(out)!r} is a file, not a folder for the notebooks")
    targets = [(s, out / notebook_name(s)) for s in roster.students]
    if not overwrite:
        taken = [p.name for _, p in targets if p.exists()]
        if taken:
            raise TeachError(
                f"{len(taken)} notebook(s) already in {str(out)!r} (first: {taken[0]}); "
                "choose another folder or replace them (--overwrite, overwrite=True)"
            )
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for student, path in targets:
        write_notebook(path, student_notebook(secret, student, title, kinds))
        written.append(path)
    return written
