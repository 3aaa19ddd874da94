"""A pynest assignment in nbgrader's format: one master for the gradebook, one handout per
student, graded by ``nbgrader autograde`` with the exercises' own checkers.

nbgrader releases one notebook to the whole class; pynest gives every student their own
questions. This layout joins the two inside an nbgrader course folder::

    nbgrader_config.py                     written only when the folder has none
    source/<aid>/<aid>.ipynb               the master: `nbgrader generate_assignment <aid>`
    pynest_keys/<aid>.key                  unseals the master's seeds (teacher only)
    handout/<student>/<aid>/<aid>.ipynb    what each student gets, and hands back

Every cell nbgrader tracks has the same grade id, type, lock and points in the master and
in every handout: per question an answer cell (an nbgrader autograded-answer cell holding
``ANSWER = "..."``, read as text by this module and by ``pynest grade`` alike, never run
for the grade) and a locked autograded test cell worth one point, as :func:`.grade.grade`
gives. Only the cells nbgrader does not track (the intro, the question text) differ, so
the gradebook that ``generate_assignment`` fills from the master grades any handout.
(nbgrader's gradebook holds code and markdown cells only, and a markdown answer would be
graded by hand: hence a code cell.)

The master's test cell holds, in nbgrader's hidden-tests block (between its begin and
end markers), every student's question id and *sealed* seed (:func:`.seeds.seal_seed`)
for its question, each under a token of the student id (:func:`.seeds.student_token`).
``generate_assignment`` keeps that block in the gradebook and strips it from the release;
``autograde`` restores it into each submission before running it, and
``generate_feedback`` shows it to the student as it is, which is why neither seeds nor
ids are in it in the clear: the key is in ``pynest_keys/``, which no nbgrader step
copies. A handout has no hidden block, seed, key, secret or code that builds an
exercise; the course secret is in no file this module writes.

At autograde nbgrader runs a submission with ``autograded/<student>/<aid>/`` as its
folder. The restored test cell (:func:`autograde_check`) takes the student from that
folder, which the teacher's collect step chose (nothing a student writes in the notebook
names it), unseals the student's seed with the key two folders up, reads the answer from
the notebook file, and checks it under :func:`.grade.question_result`, the rule of
``pynest grade``. Like every nbgrader test it runs in the kernel that also runs any code
cell a student adds; ``pynest grade`` runs nothing, and gives the same points.

The notebooks are plain data: nbgrader is not imported here (it is the optional
``teach`` extra).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..exercises import generate
from .assign import (
    ANSWER_FORMS,
    Question,
    check_title,
    notebook,
    parse_exercises,
    student_notebook,
    write_notebook,
)
from .grade import answer_cells, question_result
from .roster import Roster
from .seeds import (
    TeachError,
    assignment_key,
    check_secret,
    question_id,
    question_seed,
    seal_seed,
    student_token,
)

SCHEMA_VERSION = 3
"""nbgrader's cell metadata schema (nbgrader 0.9: ``nbgraderformat/v3.json``)."""
POINTS = 1
"""Points of a question's test cell: one, as ``pynest grade`` gives a right answer."""
HANDOUTS = "handout"
"""The folder (in the course folder) of the students' notebooks: nbgrader owns release/."""
KEYS = "pynest_keys"
"""The folder (in the course folder) of each assignment's key, ``<aid>.key`` (hex)."""
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_VISIBLE = (
    "# Question {number}: your teacher's grading (nbgrader autograde) checks the answer\n"
    "# above, {points} point. Nothing to run here."
)
_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def assignment_id(title: str) -> str:
    """nbgrader's id (folder and notebook name) for a title: ``"Week 3: radix walks"`` ->
    ``"week-3-radix-walks"`` (accents dropped, lower case, runs of other characters
    become ``-``, at most 64 characters)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:64].strip("-")
    return slug or "assignment"


def check_assignment_id(aid: object) -> str:
    """``aid`` if nbgrader can use it as a folder, notebook and grade-id prefix."""
    if not isinstance(aid, str) or not _ID_RE.fullmatch(aid):
        raise TeachError(
            f"assignment id {aid!r} must be a plain name: letters, digits, _ and -, at most "
            "64 characters, starting with a letter or digit (e.g. week-3)"
        )
    return aid


def _grade_ids(number: int) -> tuple[str, str]:
    return f"q{number}-answer", f"q{number}-test"


def _nbgrader_meta(grade_id: str, *, grade: bool, solution: bool, locked: bool) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": SCHEMA_VERSION,
        "solution": solution,
        "task": False,
    }
    if grade:
        meta["points"] = POINTS
    return meta


def _answer_meta(number: int) -> dict[str, Any]:
    return _nbgrader_meta(_grade_ids(number)[0], grade=False, solution=True, locked=False)


def _test_cell(number: int, source: str) -> dict[str, Any]:
    """The autograded test cell of question ``number``: locked, undeletable, one point."""
    meta = _nbgrader_meta(_grade_ids(number)[1], grade=True, solution=False, locked=True)
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {
            "deletable": False,
            "editable": False,
            "nbgrader": meta,
            "pynest": {"role": "test", "number": number},
        },
        "outputs": [],
        "source": source,
    }


def _visible(number: int) -> str:
    return _VISIBLE.format(number=number, points=f"{POINTS}")


def _hidden_test(
    title: str, aid: str, number: int, kind: str, secret: bytes, students: Sequence[str]
) -> str:
    """The test cell's source in the master: the visible comment, then the hidden block
    with every student's (sealed seed, question id) for question ``number`` of ``title``
    (the seeds of the handouts, which are sealed for that title), under the student's
    token (:func:`.seeds.student_token`)."""
    key = assignment_key(secret, aid)
    rows = "".join(
        f"        {json.dumps(student_token(key, s))}: "
        f"({seal_seed(key, s, number, question_seed(secret, title, s, number)):#018x}, "
        f"{json.dumps(question_id(secret, title, s, number))}),\n"
        for s in students
    )
    return (
        f"{_visible(number)}\n"
        f"{_HIDDEN[0]}\n"
        "from pynest.teach.nbgrader_layout import autograde_check\n"
        "\n"
        "autograde_check(\n"
        f"    {json.dumps(aid)},\n"
        f"    {number},\n"
        f"    {json.dumps(kind)},\n"
        "    {\n"
        f"{rows}"
        "    },\n"
        ")\n"
        f"{_HIDDEN[1]}"
    )


def _answer_prompt(number: int) -> str:
    return (
        f'# Question {number}: your answer between the quotes, as text (like "0x1234");\n'
        "# nothing here is run for the grade, the text is read.\n"
    )


def _answer_cell(number: int, source: str, pynest: dict[str, Any] | None) -> dict[str, Any]:
    """Question ``number``'s answer cell: an nbgrader autograded-answer cell (code,
    solution, not locked) holding ``ANSWER = "..."``, which both graders read as text."""
    meta: dict[str, Any] = {"deletable": False, "nbgrader": _answer_meta(number)}
    if pynest is not None:
        meta["pynest"] = pynest
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": meta,
        "outputs": [],
        "source": _answer_prompt(number) + source,
    }


def _handout_intro(title: str, student: str, aid: str, count: int) -> str:
    return (
        f"# {title}\n\n"
        f"For **{student}**: {count} question{'s' if count != 1 else ''}, each followed "
        'by an answer cell holding `ANSWER = ""`.\n\n'
        "Type your answer between the quotes, on that line, and save the notebook: the "
        "answer is read as text, so write the value itself, not code that computes it. "
        f"{ANSWER_FORMS}\n\n"
        "Under each answer is a locked cell for your teacher's grading (nbgrader); running "
        "it does nothing. Keep the cells and their order as they are, and hand back this "
        f"file, `{aid}.ipynb`, under its own name."
    )


def handout_notebook(
    secret: bytes, student: str, title: str, aid: str, kinds: Sequence[str]
) -> dict[str, Any]:
    """``student``'s notebook: the questions and sealed metadata of
    :func:`.assign.student_notebook` (so ``pynest grade`` grades it too), each answer in
    an nbgrader answer cell, and the question's test cell under it, as
    ``generate_assignment`` releases it (the visible line only)."""
    nb = student_notebook(secret, student, title, kinds)
    cells: list[dict[str, Any]] = []
    for cell in nb["cells"]:
        info = cell["metadata"]["pynest"]
        if info["role"] == "intro":
            cell["source"] = _handout_intro(title, student, aid, len(kinds))
        if info["role"] == "answer":
            number = info["number"]
            cells += [
                _answer_cell(number, 'ANSWER = ""', info),
                _test_cell(number, _visible(number)),
            ]
        else:
            cells.append(cell)
    nb["cells"] = cells
    return nb


def master_notebook(
    secret: bytes, students: Sequence[str], title: str, aid: str, kinds: Sequence[str]
) -> dict[str, Any]:
    """The nbgrader source notebook: per question a placeholder question, the answer cell
    with a solution region (between nbgrader's solution markers), and the test cell whose
    hidden block holds every one of ``students``' sealed seeds for that question."""
    intro = (
        f"# {title} (nbgrader master)\n\n"
        f"The source of nbgrader assignment `{aid}`, written by `pynest assign --format "
        f"nbgrader` for {len(students)} student(s). Run `nbgrader generate_assignment {aid}` "
        f"to fill the gradebook; hand out `{HANDOUTS}/<student>/{aid}/{aid}.ipynb` (each "
        "student's own questions), not nbgrader's release, which has none.\n\n"
        "The hidden tests below hold every student's seed for this assignment, sealed "
        f"with the key in `{KEYS}/{aid}.key`: keep that file to yourself (nbgrader never "
        "copies it); autograde needs it where pynest wrote it."
    )
    cells: list[dict[str, Any]] = [_plain("markdown", intro)]
    for number, kind in enumerate(kinds, start=1):
        question = (
            f"## Question {number} ({kind})\n\nEach student's own question is in their handout."
        )
        answer = _answer_cell(
            number,
            'ANSWER = ""\n### BEGIN SOLUTION\n'
            "# each student's worked answer: in the feedback files of pynest grade\n"
            "### END SOLUTION",
            None,
        )
        cells += [
            _plain("markdown", question),
            answer,
            _test_cell(number, _hidden_test(title, aid, number, kind, secret, students)),
        ]
    return notebook(cells)


def _plain(cell_type: str, source: str) -> dict[str, Any]:
    return {"cell_type": cell_type, "metadata": {}, "source": source}


CONFIG = """\
# nbgrader's configuration for this course folder, written by `pynest assign --format
# nbgrader` because there was none (edit freely: pynest never writes it again).
# Run the nbgrader commands in this folder; pynest's students' notebooks are in handout/.
c = get_config()  # noqa: F821 (nbgrader's config loader defines get_config)
"""


@dataclass(frozen=True)
class NbgraderAssignment:
    """What :func:`assign_nbgrader` wrote: the assignment id, the master, the key file,
    the handouts (roster order) and the config file (None when the course had one)."""

    assignment_id: str
    master: Path
    key: Path
    handouts: list[Path]
    config: Path | None


def assign_nbgrader(
    roster: Roster,
    exercises: str | Sequence[tuple[str, int]],
    title: str,
    secret: bytes,
    course_dir: str | Path,
    aid: str | None = None,
    overwrite: bool = False,
) -> NbgraderAssignment:
    """Write the nbgrader master and one handout per usable roster row into the nbgrader
    course folder ``course_dir`` (see the module docstring for the layout). ``aid`` is
    nbgrader's assignment id (default: :func:`assignment_id` of the title). The
    questions come from the title, as for :func:`.assign.assign` (the handouts are
    sealed for it and ``pynest grade`` reads it back), so they are the same whichever
    ``aid`` names the folder. Existing files are not replaced unless ``overwrite``;
    ``nbgrader_config.py`` never is."""
    check_secret(secret)
    kinds = parse_exercises(exercises)
    title = check_title(title)
    aid = check_assignment_id(assignment_id(title) if aid is None else aid)
    course = Path(course_dir)
    if course.exists() and not course.is_dir():
        raise TeachError(f"{str(course)!r} is a file, not an nbgrader course folder")
    students = roster.students
    if not students:
        raise TeachError("the roster has no usable student id: nothing to assign")
    master = course / "source" / aid / f"{aid}.ipynb"
    handouts = [course / HANDOUTS / s / aid / f"{aid}.ipynb" for s in students]
    if not overwrite:
        taken = [p for p in (master, *handouts) if p.exists()]
        if taken:
            raise TeachError(
                f"{len(taken)} notebook(s) of assignment {aid!r} already in {str(course)!r} "
                f"(first: {taken[0].relative_to(course).as_posix()}); choose another id "
                "or replace them (--overwrite, overwrite=True)"
            )
    course.mkdir(parents=True, exist_ok=True)
    config = course / "nbgrader_config.py"
    new_config = not config.exists()
    if new_config:
        config.write_text(CONFIG, encoding="utf-8", newline="\n")
    key = course / KEYS / f"{aid}.key"  # the same bytes every time: no overwrite check
    key.parent.mkdir(exist_ok=True)
    key.write_text(assignment_key(secret, aid).hex() + "\n", encoding="ascii", newline="\n")
    master.parent.mkdir(parents=True, exist_ok=True)
    write_notebook(master, master_notebook(secret, students, title, aid, kinds))
    for student, path in zip(students, handouts, strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_notebook(path, handout_notebook(secret, student, title, aid, kinds))
    return NbgraderAssignment(aid, master, key, handouts, config if new_config else None)


def autograde_check(
    assignment: str, number: int, kind: str, variants: Mapping[str, tuple[int, str]]
) -> None:
    """Check question ``number`` of the notebook being autograded (the master's hidden
    test calls this). nbgrader runs it in ``<course>/autograded/<student>/<assignment>/``:
    the student is that folder's parent's name, ``variants[student]`` their (sealed
    seed, question id), the key ``<course>/pynest_keys/<assignment>.key``, and the answer
    is read from ``<assignment>.ipynb`` there. A right answer prints the checker's
    feedback; anything else raises AssertionError with it, which nbgrader scores 0."""
    here = Path.cwd()
    student = here.parent.name
    outside = AssertionError(
        f"no variant for {student!r}: this test runs under nbgrader autograde, in "
        f"autograded/<student>/{assignment}/, for a student on the roster the "
        "assignment was made for (add late students with pynest assign --overwrite)"
    )
    if here.name != assignment or len(here.parents) < 3:
        raise outside
    key_file = here.parents[2] / KEYS / f"{assignment}.key"
    try:
        key = bytes.fromhex(key_file.read_text(encoding="ascii"))
    except (OSError, ValueError) as e:
        raise AssertionError(
            f"cannot read the assignment key {key_file} ({e}): this test runs under "
            f"nbgrader autograde, in <course>/autograded/<student>/{assignment}/, with the "
            f"key that pynest assign --format nbgrader wrote, <course>/{KEYS}/{assignment}.key"
        ) from None
    if student_token(key, student) not in variants:
        raise outside
    sealed, qid = variants[student_token(key, student)]
    seed = seal_seed(key, student, number, sealed)
    question = Question(number, kind, qid, generate(kind, seed))
    notebook = f"{assignment}.ipynb"
    try:
        nb = json.loads((here / notebook).read_bytes().decode("utf-8"))
    except (OSError, ValueError) as e:
        raise AssertionError(f"cannot read the submitted {notebook}: {e}") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    found, _ = answer_cells(cells if isinstance(cells, list) else [])
    result, _ = question_result(question, found)
    if not result.points:
        raise AssertionError(result.feedback)
    print(result.feedback)
