"""The two-dimensional walk exercises (notebook 04, kind ``walk2d``: :data:`GENERATORS`),
asked in the guest worlds of :mod:`pynest.scenarios.guest`.

Every generator draws from its own ``random.Random``; one seed, one exercise.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..mmu import constants as C
from ..mmu.formats import page_size_text
from ..mmu.xlate import Translation
from ..scenarios.guest import (
    ROWS,
    access_cell,
    guest_world,
    kth_access,
    tree_levels,
    walk_reads,
)
from .base import Exercise, NumberAnswer, other_examples

__all__ = ["GENERATORS", "CellAnswer", "walk2d_count"]

_SIZE_NAMES = {page_size_text(s): s for s in C.PAGE_SIZES}


# ----------------------------------------------------------------------------- answers
_CELL_RE = re.compile(r"\b(pate|prte|l[0-3]|data)\b")
_CELL_EXAMPLES = ("L2 P1", "PRTE entry", "L0 P3")
_COL_RE = re.compile(r"\b(p[0-3]|entry|itself|own|partition\s*(?:level\s*)?([0-3]))\b")


@dataclass(frozen=True)
class CellAnswer:
    """One cell of the 2-D grid: a row (PATE, PRTE, L0..L3, data) and a column (the
    partition-scoped level P0..P3, or ``entry`` for the step's own read).

    Accepted: ``L2 P1``, ``l2 entry``, ``PRTE partition level 3``, ``data P2``.
    """

    row: str
    column: str

    def examples(self, n: int = 1) -> str:
        """``n`` cells of the answer's form that are not the answer, quoted."""
        return other_examples(_CELL_EXAMPLES, lambda c: self.check(c)[0], n)

    def _examples(self) -> str:
        return f"{self.examples()} (the form only, not this answer)"

    def check(self, given: object) -> tuple[bool, str]:
        if not isinstance(given, str):
            return False, f"Answer with a row and a column, like {self._examples()}."
        text = given.strip().lower()
        rows = _CELL_RE.findall(text)
        col_m = _COL_RE.search(text)
        if not rows or col_m is None:
            return False, (
                "Not understood: name the row (PATE, PRTE, L0..L3, data) and the column "
                "(P0..P3 for a partition-scoped level, 'entry' for the step's own read), "
                f"like {self._examples()}."
            )
        row = rows[0].upper() if rows[0] != "data" else "data"
        col_text = col_m.group(1)
        if col_m.group(2) is not None:
            column = f"P{col_m.group(2)}"
        elif col_text.startswith("p"):
            column = col_text.upper()
        else:
            column = "entry"
        if (row, column) == (self.row, self.column):
            return True, f"Correct: {self}."
        if row != self.row:
            return False, f"No: the read serves another step than {row}; count the reads per row."
        return False, f"Right row ({row}), wrong column: it is not {self._col_text(column)}."

    @staticmethod
    def _col_text(column: str) -> str:
        return "the entry itself" if column == "entry" else f"partition level {column[1]}"

    @property
    def form(self) -> str:
        return "a row and a column of the grid, as <row> P<n> or <row> entry"

    def __str__(self) -> str:
        return f"{self.row} {self.column} ({self.row}: {self._col_text(self.column)})"


# ----------------------------------------------------------------------------- exercises
def _rng(seed: int) -> random.Random:
    return random.Random(f"pynest-walk2d-{seed}")


def _shape_text(proc: int, part: int) -> str:
    return (
        f"The guest's process-scoped tree maps the page with a {page_size_text(proc)} leaf "
        f"({tree_levels(proc)} levels); the hypervisor's partition-scoped tree maps every "
        f"guest real address it needs with {page_size_text(part)} pages "
        f"({tree_levels(part)} levels)."
    )


def _count_breakdown(t: Translation) -> str:
    rows: dict[str, int] = {}
    for s in t.raw_steps:
        row, _col = access_cell(s[0], s[1], s[6])
        rows[row] = rows.get(row, 0) + 1
    return "\n".join(f"  {row:<5} {rows.get(row, 0):3} reads" for row in ROWS if rows.get(row))


def walk2d_count(seed: int = 0) -> Exercise:
    """ "How many memory reads?" for a guest walk of seeded tree shapes, or what a third
    dimension would cost, or which cell the k-th read is in."""
    rng = _rng(seed)
    proc = rng.choice(C.PAGE_SIZES)
    part = rng.choice(C.PAGE_SIZES)
    n, m = tree_levels(proc), tree_levels(part)
    case = rng.choice(("cold", "cold", "tree", "kth", "kth", "nested"))
    if case == "nested":
        k = tree_levels(rng.choice(C.PAGE_SIZES))
        value = walk_reads(n, m, k)
        question = (
            f"Suppose hardware walked three dimensions: an L2's process tree of {n} levels, "
            f"the L1's partition tree for the L2 with {m} levels (in L1 memory), and L0's "
            f"tree for the L1 with {k} levels. Every L2 real address goes through the L1's "
            "tree, every L1 real address through L0's. How many table reads does one "
            "translation take, not counting the PATE and PRTE?"
        )
        inner = walk_reads(m, k)
        answer = NumberAnswer(
            value,
            "number of reads",
            {
                walk_reads(n, m): "that is two dimensions: the L1 tree's own entries are at "
                "L1 real addresses, which need L0's tree too.",
                n * m * k: "each level multiplies (levels + 1), not levels: an address's own "
                "read counts as well.",
                walk_reads(n, m) + walk_reads(m, k): "the dimensions nest, they do not add.",
            },
            "a count is a number",
        )
        solution = (
            f"One L2 real address through the L1 tree costs walk_reads({m}, {k}) = "
            f"({m}+1)({k}+1)-1 = {inner} reads.\nThe L2 process walk reads {n} entries, each "
            f"after translating its address ({inner} + 1 each), then translates the data "
            f"address once more ({inner}):\n  {n} * ({inner} + 1) + {inner} = "
            f"({n}+1)({m}+1)({k}+1) - 1 = {value}."
        )
        return Exercise("walk2d", seed, question, answer, solution)
    world = guest_world(rng.randrange(1000), proc, part)
    ea = world.eas[0]
    t = world.translate(ea)
    assert t.ok, str(t)
    intro = (
        f"A guest (MSR[HV]=0, LPID {world.lpid}, PID {world.pid}) loads from EA {ea:#x}. "
        f"{_shape_text(proc, part)} No TLB and no walk caches help."
    )
    if case == "kth":
        k = rng.randrange(1, t.memory_reads + 1)
        row, col = kth_access(t, k)
        answer = CellAnswer(row, col)
        question = (
            intro + f"\nThe walk makes {t.memory_reads} reads. Read number {k}: which "
            "process-scoped step does it serve (PATE, PRTE, L0..L3, data), and is it a "
            "partition-scoped level (P0..P3) translating that step's guest real address, or "
            f"the step's own entry? Answer like {answer.examples(2)}."
        )
        trace = "\n".join(f"  {i:2}. {s}" for i, s in enumerate(t.steps, 1))
        solution = (
            f"Reads per step:\n{_count_breakdown(t)}\nThe walk in order:\n{trace}\n"
            f"Read {k} is {row} {col}."
        )
        hint = (
            f"PATE: 2 reads; every later step first spends {m} reads in the partition tree, "
            "then reads its own entry."
        )
        return Exercise("walk2d", seed, question, answer, solution, hint)
    total = t.memory_reads
    tree = walk_reads(n, m)
    if case == "tree":
        value = tree
        question = intro + (
            "\nCount only the reads of the two trees: the process tree's entries, the "
            "partition-scoped reads that translate their addresses, and the partition "
            "walk of the data address (leave out the PATE and the PRTE with its "
            "translation). How many?"
        )
        mistakes = {
            total: "that counts the PATE and PRTE too.",
            n * m: "each process entry costs m partition reads plus its own read.",
            n + m: "that is two separate walks; in 2-D every process entry needs a partition walk.",
        }
    else:
        value = total
        question = intro + (
            "\nHow many memory reads does the MMU make for this one load, from the "
            "partition-table entry (2 doublewords) to the last partition-scoped read of "
            "the data's guest real address?"
        )
        mistakes = {
            tree: f"that is the two trees only ({n}+1)({m}+1)-1; add the PATE (2) and the "
            f"PRTE ({m} + 1).",
            tree + 2: f"the PRTE's guest real address needs the partition tree too: {m} + 1.",
            n + m + 2: "in 2-D every process-scoped entry address is translated first.",
        }
    mistakes.pop(value, None)
    answer = NumberAnswer(value, "number of reads", mistakes, "a count is a number")
    solution = (
        f"n = {n} process levels, m = {m} partition levels.\n"
        f"  PATE dw0 + dw1 (host real):            2\n"
        f"  PRTE: m partition reads + the entry:   {m} + 1 = {m + 1}\n"
        f"  each of the n process entries: m + 1: {n} * {m + 1} = {n * (m + 1)}\n"
        f"  the data guest real address: m:        {m}\n"
        f"  trees only: (n+1)(m+1) - 1 = {tree}; everything: {total}\n"
        f"The model's reads per step:\n{_count_breakdown(t)}"
    )
    hint = "every guest real address (PRTE, each process entry, the data) costs m reads first."
    return Exercise("walk2d", seed, question, answer, solution, hint)


GENERATORS: dict[str, Callable[[int], Exercise]] = {"walk2d": walk2d_count}
"""The exercise generators of this module, by kind."""
