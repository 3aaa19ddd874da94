"""The class roster: a CSV file with a student id column; other columns are kept.

A row whose id is empty, not ASCII, not a plain name (letters, digits, ``.``, ``_``,
``-``, ``@``) or shared with another row is kept with its problem: it is neither
assigned nor graded, and the gradebook says why on its line. Every other row goes on.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .seeds import TeachError

ID_COLUMNS = ("id", "student_id", "student")
"""Column names taken as the student id, in this order (case-insensitive)."""
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


@dataclass(frozen=True)
class RosterRow:
    """One roster line: its row number in the file (the header is row 1), the id as
    written, the other columns, and why it cannot be used ("" when it can)."""

    row: int
    student: str
    columns: tuple[tuple[str, str], ...]
    problem: str = ""


@dataclass(frozen=True)
class Roster:
    """The rows in file order, the name of the id column and the other columns' names."""

    rows: tuple[RosterRow, ...]
    id_column: str
    extra_columns: tuple[str, ...]

    @property
    def students(self) -> list[str]:
        """The usable ids, in roster order."""
        return [r.student for r in self.rows if not r.problem]


def _id_problem(student: str) -> str:
    if not student:
        return "empty student id"
    if not student.isascii():
        return f"student id {student!r} is not ASCII"
    if not _ID_RE.fullmatch(student):
        return (
            f"student id {student!r} is not a plain name (letters, digits, . _ - @; "
            "at most 64 characters, starting with a letter or digit)"
        )
    return ""


def roster_from_rows(
    rows: Iterable[Mapping[str, str]],
    id_column: str = "id",
    source: str = "roster",
    line_numbers: Iterable[int] | None = None,
) -> Roster:
    """A :class:`Roster` from dicts (one per student), each with ``id_column``;
    ``line_numbers`` are the rows' lines in the file (default: 2, 3, ...)."""
    rows = list(rows)
    if not rows:
        raise TeachError(f"{source} has no students")
    names: list[str] = []
    for row in rows:
        names += [k for k in row if k not in names]
    if id_column not in names:
        raise TeachError(f"{source} has no {id_column!r} column (columns: {', '.join(names)})")
    extra = tuple(n for n in names if n != id_column)
    ids = [str(row.get(id_column) or "").strip() for row in rows]
    numbers = list(line_numbers) if line_numbers is not None else list(range(2, len(rows) + 2))
    counts = Counter(s.lower() for s in ids)  # Amy and amy would share a file name
    out = []
    for i, row, student in zip(numbers, rows, ids, strict=True):
        problem = _id_problem(student)
        if not problem and counts[student.lower()] > 1:
            where = [
                str(j) for j, s in zip(numbers, ids, strict=True) if s.lower() == student.lower()
            ]
            same = (
                ""
                if all(s == student for s in ids if s.lower() == student.lower())
                else (" (ids that differ only in case are the same: they share a file name)")
            )
            problem = f"student id {student!r} is on rows {', '.join(where)}{same}"
        columns = tuple((n, str(row.get(n) or "")) for n in extra)
        out.append(RosterRow(row=i, student=student, columns=columns, problem=problem))
    return Roster(rows=tuple(out), id_column=id_column, extra_columns=extra)


def read_roster(path: str | Path) -> Roster:
    """The roster in the CSV file at ``path`` (UTF-8, header line first; the id column is
    the first of :data:`ID_COLUMNS` present)."""
    name = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except OSError as e:
        raise TeachError(f"cannot read the roster {name!r}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise TeachError(f"the roster {name!r} is not UTF-8 text") from None
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = [h.strip() for h in reader.fieldnames or []]
        if not header:
            raise TeachError(
                f"the roster {name!r} is empty (expected a header line like 'id,name')"
            )
        twice = sorted({h for h in header if header.count(h) > 1})
        if twice:
            raise TeachError(f"the roster {name!r} has two columns named {twice[0]!r}")
        raw, lines = [], []
        for r in reader:
            values = [*r.values()][: len(header)]
            raw.append({h: (v or "") for h, v in zip(header, values, strict=True)})
            lines.append(reader.line_num)
    except csv.Error as e:
        raise TeachError(f"the roster {name!r} is not CSV: {e}") from None
    lower = {h.lower(): h for h in header}
    column = next((lower[c] for c in ID_COLUMNS if c in lower), None)
    if column is None:
        raise TeachError(
            f"the roster {name!r} has no student id column: name one of its columns "
            f"{' or '.join(ID_COLUMNS)} (columns: {', '.join(header)})"
        )
    return roster_from_rows(raw, column, f"the roster {name!r}", lines)
