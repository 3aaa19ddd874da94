"""The guest's two-dimensional walk: worlds, read counts, a 3-D construction, exercises.

Notebook 04 and :class:`pynest.widgets.walk2d_explorer.Walk2DExplorer` use:

* :func:`guest_world` -- one guest (MSR[HV]=0) whose process tree maps its pages with
  one page size and whose partition-scoped tree (built by "the hypervisor") maps guest
  real memory with another, so a walk has a chosen shape in both dimensions;
* :func:`tree_levels` -- how many levels a walk reads for a leaf of a given page size
  (1G: 2, 2M: 3, 64K and 4K: 4);
* :func:`walk_reads` -- the closed form ``(n+1)(m+1)...-1`` of a walk through nested
  trees, and :func:`guest_walk_reads` the full cold-walk count of the model (PATE,
  PRTE, tree), which the tests check against :func:`pynest.mmu.translate`;
* :func:`walk_3d` -- what a *third* dimension would cost: the model's own walker
  (:func:`pynest.mmu.walk.walk_tree`) composed three deep over a real L0/L1/L2 world
  (``pynest.scenarios.two_l2s``). No hardware does this; it is the count that shadow
  page tables avoid;
* the exercise generators of kind ``walk2d`` (:data:`GENERATORS`).

Every generator draws from its own ``random.Random``; one seed, one exercise.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from math import prod

from ..errors import ConfigError, FieldError
from ..memory import PhysicalMemory
from ..mmu import constants as C
from ..mmu.builder import Allocator, PartitionTable, ProcessTable, RadixTree, TranslatedSpace
from ..mmu.formats import page_size_text
from ..mmu.walk import walk_tree
from ..mmu.xlate import CpuState, Translation, translate
from .base import Exercise, NumberAnswer

__all__ = [
    "GENERATORS",
    "CellAnswer",
    "GuestWorld",
    "Walk3d",
    "access_cell",
    "guest_walk_reads",
    "guest_world",
    "kth_access",
    "tree_levels",
    "walk2d_count",
    "walk_3d",
    "walk_reads",
]

_LEVELS = {C.PAGE_4K: 4, C.PAGE_64K: 4, C.PAGE_2M: 3, C.PAGE_1G: 2}
_SIZE_NAMES = {page_size_text(s): s for s in C.PAGE_SIZES}

GUEST_HOST_BASE = 1 << 32
"""Host real address of guest real 0 in :func:`guest_world` (1 GiB aligned, so every
partition page size fits)."""


def tree_levels(page_size: int) -> int:
    """Levels a POWER9 walk reads to reach a leaf of ``page_size`` bytes.

    A 1 GiB leaf sits at level 1 (2 reads: root, leaf), 2 MiB at level 2 (3), 64 KiB and
    4 KiB at level 3 (4; a 64K leaf lives in a level-3 table of 2^5 entries).
    """
    try:
        return _LEVELS[page_size]
    except (KeyError, TypeError):
        raise FieldError(f"page size {page_size!r} is not 4K, 64K, 2M or 1G") from None


def walk_reads(*levels: int) -> int:
    """Table reads of one translation through nested trees, innermost (the address's
    own tree) first: ``(l1 + 1)(l2 + 1)...(lk + 1) - 1``.

    Why: translating through trees ``[a, *rest]`` reads ``a`` entries, each at an
    address that must itself go through ``rest`` (``walk_reads(*rest)`` reads), and the
    result goes through ``rest`` once more: ``a * (R + 1) + R = (a + 1)(R + 1) - 1``.
    One tree: ``a`` reads. Process 4 x partition 4: 24. Three trees of 4: 124.
    """
    for n in levels:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise FieldError(f"tree levels must be positive integers, got {n!r}")
    return prod(n + 1 for n in levels) - 1


def guest_walk_reads(proc_levels: int, part_levels: int) -> int:
    """Every read :func:`pynest.mmu.translate` makes for a cold guest walk (no TLB),
    when every partition-scoped translation has ``part_levels`` levels: 2 (PATE dw0 and
    dw1, host real) + ``part_levels + 1`` (the PRTE: its guest real address through
    the partition tree, then the entry) + ``walk_reads(proc_levels, part_levels)``."""
    return 2 + (part_levels + 1) + walk_reads(proc_levels, part_levels)


# ----------------------------------------------------------------------------- worlds
class _BackedGuestSpace(TranslatedSpace):
    """A guest's real memory whose partition-scoped tree is filled on first touch with
    ``page_size`` pages at ``GUEST_HOST_BASE + gra`` (the hypervisor backing a page the
    first time the guest's tables need it)."""

    def __init__(self, mem: PhysicalMemory, tree: RadixTree, page_size: int) -> None:
        self.mem = mem
        self.tree = tree
        self.page_size = page_size

    def back(self, gra: int) -> None:
        base = gra & -self.page_size
        if self.tree.lookup(base) is None:
            self.tree.map(base, GUEST_HOST_BASE + base, self.page_size, "rwx", r=True, c=True)

    def to_hra(self, gra: int, writing: bool = False) -> int:
        self.back(gra)
        found = self.tree.lookup(gra)
        assert found is not None
        return found.ra


@dataclass
class GuestWorld:
    """Memory, the guest CPU that translates through it, and its mapped pages.

    ``pages`` lists (EA, guest real address, size) of the process tree's leaves;
    ``eas`` a few addresses inside them worth translating (the explorer's examples).
    """

    seed: int
    mem: PhysicalMemory
    cpu: CpuState
    proc_page: int
    part_page: int
    pages: list[tuple[int, int, int]] = field(default_factory=list)
    eas: list[int] = field(default_factory=list)

    @property
    def lpid(self) -> int:
        return self.cpu.lpidr

    @property
    def pid(self) -> int:
        return self.cpu.pidr

    def translate(self, ea: int, access: str = "load") -> Translation:
        """The debugger's view of one access (no R/C written, no TLB)."""
        return translate(self.mem, self.cpu, ea, access, update_rc=False)


def guest_world(
    seed: int = 0, proc_page: int = C.PAGE_4K, part_page: int = C.PAGE_4K
) -> GuestWorld:
    """A guest (LPID 1..15, PID 1..15 from ``seed``) with two ``proc_page`` pages.

    The partition table and the partition-scoped tree are in host real memory below
    16 MiB; guest real ``gra`` lives at host real ``GUEST_HOST_BASE + gra``, mapped by
    ``part_page`` pages, backed only where something is (the guest's process table and
    tree at guest real 1 MiB and up, and the first 2 MiB of each data page).
    """
    tree_levels(proc_page)
    tree_levels(part_page)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise FieldError(f"seed must be an int, got {seed!r}")
    rng = random.Random(f"pynest-walk2d-world-{seed}")
    mem = PhysicalMemory(1 << 36)
    host_alloc = Allocator(0x100000, 0x1000000)
    ptab = PartitionTable.create(mem, host_alloc)
    part = RadixTree(mem, host_alloc)
    space = _BackedGuestSpace(mem, part, part_page)
    guest_alloc = Allocator(0x100000, 0x1000000)
    prtab = ProcessTable.create(space, guest_alloc)
    lpid = rng.randrange(1, 16)
    pid = rng.randrange(1, 16)
    ptab.set_entry(lpid, part, prtab)
    proc = RadixTree(space, guest_alloc)
    prtab.set_entry(pid, proc)
    pages: list[tuple[int, int, int]] = []
    eas: list[int] = []
    gras = rng.sample(range(1, 8), 2)  # distinct 1 GiB slots of guest real memory
    ea_slots = rng.sample(range(1, 64), 2)
    for i in range(2):
        ea = (ea_slots[i] << 30) + (rng.randrange(0, 512) << 21) & -proc_page
        ea &= -proc_page
        gra = (gras[i] << 30) + (rng.randrange(0, 256) << 21) & -proc_page
        gra &= -proc_page
        proc.map(ea, gra, proc_page, "rw", r=True, c=True)
        for off in range(0, min(proc_page, C.PAGE_2M), part_page):
            space.back(gra + off)
        pages.append((ea, gra, proc_page))
        eas.append(ea + (rng.randrange(0, min(proc_page, C.PAGE_2M)) & ~7))
    cpu = CpuState(ptcr=ptab.ptcr, lpidr=lpid, pidr=pid, msr=C.MSR_GUEST_KERNEL)
    return GuestWorld(seed, mem, cpu, proc_page, part_page, pages, eas)


# ----------------------------------------------------------------------------- the grid
ROWS = ("PATE", "PRTE", "L0", "L1", "L2", "L3", "data")
"""The process-scoped steps of a guest walk, in order."""
COLUMNS = ("P0", "P1", "P2", "P3", "entry")
"""The partition-scoped levels that translate a step's guest real address, then the
read of the step's own entry."""


def access_cell(step_tree: str, level: int, purpose: str) -> tuple[str, str]:
    """(row, column) of one memory read of a walk, from its WalkStep fields."""
    if step_tree == "partition-table":
        return "PATE", "entry"
    if step_tree == "process-table":
        return "PRTE", "entry"
    if step_tree == "process":
        return f"L{level}", "entry"
    if purpose.startswith("PRTE"):
        row = "PRTE"
    elif purpose.startswith("process L"):
        row = purpose.split()[1]
    else:
        row = "data"
    return row, f"P{level}"


def kth_access(t: Translation, k: int) -> tuple[str, str]:
    """(row, column) of the ``k``-th (1-based) memory read of translation ``t``."""
    steps = t.raw_steps
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(steps):
        raise FieldError(f"access number must be 1..{len(steps)}, got {k!r}")
    tree, level, _index, _addr, _hra, _raw, purpose = steps[k - 1]
    return access_cell(tree, level, purpose)


# ----------------------------------------------------------------------------- 3-D
@dataclass
class Walk3d:
    """The reads of an L2 access if hardware walked all three trees itself.

    ``steps`` are raw :class:`pynest.mmu.walk.WalkStep` tuples whose tree names say
    which tree: "L2 process", "L1 tree" (the L1's partition-scoped tree for the L2, in
    L1 memory) or "L0 tree" (L0's tree for the L1). ``prte_reads`` counts the reads
    for the L2's process-table entry, ``tree_reads`` the rest; ``ra`` is the host real
    address reached.
    """

    ea: int
    ra: int
    steps: list[tuple] = field(default_factory=list)
    prte_reads: int = 0

    @property
    def memory_reads(self) -> int:
        return len(self.steps)

    @property
    def tree_reads(self) -> int:
        return len(self.steps) - self.prte_reads

    def per_tree(self) -> dict[str, int]:
        """Reads per tree."""
        out: dict[str, int] = {}
        for s in self.steps:
            out[s[0]] = out.get(s[0], 0) + 1
        return out


def walk_3d(world: object, l2: object, ea: int) -> Walk3d:
    """Translate L2 effective address ``ea`` the way a three-dimensional MMU would.

    Hardware only walks two dimensions (ISA v3.0B; QEMU ``ppc_radix64_xlate``): this
    composes pynest's walker, :func:`pynest.mmu.walk.walk_tree`, three deep over the
    tables of a :func:`pynest.scenarios.two_l2s` world. Every L2 real address (the
    PRTE's, each process-table entry's, the data's) goes through the L1's tree for the
    L2, which is in L1 real memory, so each of *its* entry addresses and its result go
    through L0's tree for the L1. The PATE reads are left out (they do not depend on
    the trees). Raises ConfigError when a stage has no mapping (run the L2s first).
    """
    from ..mmu.walk import WalkFault

    vm = world.l1.vm  # type: ignore[attr-defined]
    mem = vm.l0.mem
    l0_root = vm.pgtable.root
    l1_root = l2.tree.root  # type: ignore[attr-defined]
    steps: list[tuple] = []

    def l1_to_host(gra: int, purpose: str) -> int:
        return walk_tree(mem, steps, gra, l0_root, C.ROOT_NLS, 52, "L0 tree", purpose)[2]

    def l2_to_host(gra: int, purpose: str) -> int:
        l1_ra = walk_tree(
            mem,
            steps,
            gra,
            l1_root,
            C.ROOT_NLS,
            52,
            "L1 tree",
            purpose,
            lambda pa, _lv: l1_to_host(pa, purpose),
        )[2]
        return l1_to_host(l1_ra, purpose)

    try:
        prtb = l2.prtab.base  # type: ignore[attr-defined]
        pid = l2.pid  # type: ignore[attr-defined]
        prte_hra = l2_to_host(prtb + 16 * pid, f"PRTE[{pid}]")
        prte0 = mem.load64(prte_hra)
        steps.append(("process-table", 0, pid, prtb + 16 * pid, prte_hra, prte0, ""))
        prte_reads = len(steps)
        gra = walk_tree(
            mem,
            steps,
            ea & C.EA_NOQUAD_MASK,
            prte0 & C.RPDB_MASK,
            prte0 & C.RPDS_MASK,
            52,
            "L2 process",
            "",
            lambda pa, lv: l2_to_host(pa, f"process L{lv} entry"),
        )[2]
        ra = l2_to_host(gra, "data")
    except WalkFault as wf:
        raise ConfigError(
            f"L2 EA {ea:#x} does not translate in three stages: {wf.reason}"
        ) from None
    return Walk3d(ea, ra, steps, prte_reads)


# ----------------------------------------------------------------------------- answers
_CELL_RE = re.compile(r"\b(pate|prte|l[0-3]|data)\b")
_COL_RE = re.compile(r"\b(p[0-3]|entry|itself|own|partition\s*(?:level\s*)?([0-3]))\b")


@dataclass(frozen=True)
class CellAnswer:
    """One cell of the 2-D grid: a row (PATE, PRTE, L0..L3, data) and a column (the
    partition-scoped level P0..P3, or ``entry`` for the step's own read).

    Accepted: ``L2 P1``, ``l2 entry``, ``PRTE partition level 3``, ``data P2``.
    """

    row: str
    column: str

    def check(self, given: object) -> tuple[bool, str]:
        if not isinstance(given, str):
            return False, "Answer with a row and a column, e.g. 'L2 P1' or 'PRTE entry'."
        text = given.strip().lower()
        rows = _CELL_RE.findall(text)
        col_m = _COL_RE.search(text)
        if not rows or col_m is None:
            return False, (
                "Not understood: name the row (PATE, PRTE, L0..L3, data) and the column "
                "(P0..P3 for a partition-scoped level, 'entry' for the step's own read), "
                "e.g. 'L2 P1'."
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
        question = (
            intro + f"\nThe walk makes {t.memory_reads} reads. Read number {k}: which "
            "process-scoped step does it serve (PATE, PRTE, L0..L3, data), and is it a "
            "partition-scoped level (P0..P3) translating that step's guest real address, or "
            "the step's own entry? Answer like 'L2 P1' or 'PRTE entry'."
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
        return Exercise("walk2d", seed, question, CellAnswer(row, col), solution, hint)
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
