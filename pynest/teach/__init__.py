"""For teachers: per-student assignments from the exercise generators, graded by them.

>>> from pynest.teach import assign, grade, read_roster          # doctest: +SKIP
>>> roster = read_roster("roster.csv")                           # doctest: +SKIP
>>> assign(roster, "translate:2,walk2d", "Week 3", secret, "out/")  # doctest: +SKIP
>>> grade("submitted/", roster, secret, "graded/")               # doctest: +SKIP
>>> assign_nbgrader(roster, "translate:2", "Week 3", secret, "course/")  # doctest: +SKIP

Every student's seeds are an HMAC of the course secret, the assignment title and the
student id (:mod:`.seeds`), so each assignment brings every student new variants, a
student cannot compute a classmate's variant, and neither the
seeds nor anything that builds the exercise is written into the notebook. The grader
re-derives each question from the secret and checks the answer with the exercise's own
checker. :func:`assign_nbgrader` writes the same notebooks for an nbgrader course
(:mod:`.nbgrader_layout`), graded by ``nbgrader autograde`` with the same checkers.
Not imported by ``import pynest``; no view (matplotlib, ipywidgets) is imported, nor
nbgrader (the notebooks are plain data).
"""

from __future__ import annotations

from .assign import ANSWER_LABEL, assign, parse_exercises, student_notebook
from .grade import GradeReport, grade
from .nbgrader_layout import NbgraderAssignment, assign_nbgrader, autograde_check
from .roster import Roster, RosterRow, read_roster, roster_from_rows
from .seeds import TeachError, load_secret, question_id, question_seed, submission_tag

__all__ = [
    "ANSWER_LABEL",
    "GradeReport",
    "NbgraderAssignment",
    "Roster",
    "RosterRow",
    "TeachError",
    "assign",
    "assign_nbgrader",
    "autograde_check",
    "grade",
    "load_secret",
    "parse_exercises",
    "question_id",
    "question_seed",
    "read_roster",
    "roster_from_rows",
    "student_notebook",
    "submission_tag",
]
