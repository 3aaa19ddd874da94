"""Guest worlds and the two-dimensional walk (notebook 04, the walk2d explorer).

* :func:`guest_world` -- one guest (MSR[HV]=0) whose process tree maps its pages with
  one page size and whose partition-scoped tree (built by "the hypervisor") maps guest
  real memory with another, so a walk has a chosen shape in both dimensions;
* :func:`tree_levels` -- how many levels a walk reads for a leaf of a given page size
  (1G: 2, 2M: 3, 64K and 4K: 4);
* :func:`walk_reads` -- the closed form ``(n+1)(m+1)...-1`` of a walk through nested
  trees, and :func:`guest_walk_reads` the full cold-walk count of the model (PATE,
  PRTE, tree), which the tests check against :func:`pynest.mmu.translate`;
* :data:`ROWS`, :data:`COLUMNS`, :func:`access_cell` -- the grid a 2-D walk fills;
* :func:`walk_3d` -- what a *third* dimension would cost: the model's own walker
  (:func:`pynest.mmu.walk.walk`) composed three deep over a real L0/L1/L2 world
  (:func:`pynest.scenarios.two_l2s`). No hardware does this; it is the count that
  shadow page tables avoid.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from math import prod

from ..errors import ConfigError, FieldError
from ..memory import PhysicalMemory
from ..mmu import constants as C
from ..mmu.builder import Allocator, PartitionTable, ProcessTable, RadixTree, TranslatedSpace
from ..mmu.formats import RadixRoot, page_size_text
from ..mmu.walk import WalkFault, walk
from ..mmu.xlate import CpuState, Translation
from .radix import MmuWorld

_LEVELS = {C.PAGE_4K: 4, C.PAGE_64K: 4, C.PAGE_2M: 3, C.PAGE_1G: 2}


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


def guest_world(seed: int = 0, proc_page: int = C.PAGE_4K, part_page: int = C.PAGE_4K) -> MmuWorld:
    """A guest (LPID 1..15, PID 1..15 from ``seed``) with two ``proc_page`` pages, as
    an :class:`~pynest.scenarios.radix.MmuWorld` with one context, "guest", its two
    example EAs in ``eas`` and ``partition_page`` = ``part_page``.

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
    pages: list[tuple[int, int, int, str]] = []
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
        pages.append((ea, gra, proc_page, "rw"))
        eas.append(ea + (rng.randrange(0, min(proc_page, C.PAGE_2M)) & ~7))
    cpu = CpuState(ptcr=ptab.ptcr, lpidr=lpid, pidr=pid, msr=C.MSR_GUEST_KERNEL)
    return MmuWorld(
        name="guest",
        description=(
            f"a guest with {page_size_text(proc_page)} process pages over "
            f"{page_size_text(part_page)} partition pages"
        ),
        mem=mem,
        contexts={"guest": cpu},
        mappings={"guest": pages},
        seed=seed,
        eas=eas,
        partition_page=part_page,
    )


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
    composes pynest's walker, :func:`pynest.mmu.walk.walk`, three deep over the
    tables of a :func:`pynest.scenarios.two_l2s` world. Every L2 real address (the
    PRTE's, each process-table entry's, the data's) goes through the L1's tree for the
    L2, which is in L1 real memory, so each of *its* entry addresses and its result go
    through L0's tree for the L1. The PATE reads are left out (they do not depend on
    the trees). Raises ConfigError when a stage has no mapping (run the L2s first).
    """
    vm = world.l1.vm  # type: ignore[attr-defined]
    mem = vm.l0.mem
    l0_root = RadixRoot(rpdb=vm.pgtable.root, rpds=C.ROOT_NLS, tree_bits=52)
    l1_root = RadixRoot(rpdb=l2.tree.root, rpds=C.ROOT_NLS, tree_bits=52)  # type: ignore[attr-defined]
    steps: list[tuple] = []

    def l1_to_host(gra: int, purpose: str) -> int:
        return walk(mem, steps, gra, l0_root, "L0 tree", purpose)[2]

    def l2_to_host(gra: int, purpose: str) -> int:
        l1_ra = walk(
            mem,
            steps,
            gra,
            l1_root,
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
        gra = walk(
            mem,
            steps,
            ea & C.EA_NOQUAD_MASK,
            RadixRoot(rpdb=prte0 & C.RPDB_MASK, rpds=prte0 & C.RPDS_MASK, tree_bits=52),
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
