"""Small seeded radix worlds: few tables, so a learner can walk them by hand (notebook 01).

:func:`hv_process_world` builds what a radix hypervisor (Linux on POWER9 bare metal) has
for one process: a partition table whose entry 0 points at a 1 GiB identity partition
tree (QEMU translates the process-table entry's address through it) and at a process
table; one process-scoped tree with a handful of pages of different sizes and rights.
Everything comes from ``random.Random(seed)``: the same seed builds the same bytes at
the same addresses on every run.

The tables are built with :mod:`pynest.mmu.builder`, the same code every notebook uses;
:func:`memory_dump` lists the non-zero doublewords, OSTEP style, so a question can show
the whole world.
"""

from __future__ import annotations

import random

from ..mmu import constants as C
from ..mmu.builder import RadixTree
from ..mmu.xlate import CpuState
from .radix import MmuWorld, Page, radix_hypervisor

PERMS = ("rw", "r", "rwx", "rx", "rw", "x")
"""EAA letter sets the generator picks from (w means the read/write bit); read/write
twice as likely as the others."""


def hv_process_world(seed: int) -> MmuWorld:
    """A radix hypervisor running process PID (1..15) with four to five pages.

    Layout (host real): partition table at 0x100000 (PATS 0, 256 LPIDs), LPID 0's
    identity tree and the process table after it, then the process tree's tables; the
    pages' real addresses lie at 0x1000000 and up. The process maps, in one 1 GiB
    region chosen by the seed: two 4K pages in one 2M region (so its level-3 table has
    a valid and many invalid entries), one 64K page, one 2M page; sometimes a 1G page
    elsewhere.
    """
    rng = random.Random(seed)
    h = radix_hypervisor(8 << 30, 0x100000, 0x800000)
    mem, alloc, ptab, prtab = h.mem, h.alloc, h.ptab, h.prtab
    pid = rng.randrange(1, 16)
    proc = RadixTree(mem, alloc)
    prtab.set_entry(pid, proc)

    gig = rng.randrange(0, 4) << 30  # the 1 GiB region of EAs used
    regions = rng.sample(range(0, 512), 3)  # three distinct 2 MiB regions inside it
    ra_pool = rng.sample(range(0x1000000 >> 21, (1 << 30) >> 21), 4)  # distinct 2M real areas
    pages: list[Page] = []

    def add(ea: int, ra: int, size: int, perms: str) -> None:
        rc = rng.random() < 0.5
        proc.map(ea, ra, size, perms, r=rc, c=rc and "w" in perms)
        pages.append(Page(ea, ra, size, perms))

    base = gig + (regions[0] << 21)
    first, second = rng.sample(range(0, 512), 2)
    add(
        base + first * C.PAGE_4K,
        (ra_pool[0] << 21) + rng.randrange(512) * C.PAGE_4K,
        C.PAGE_4K,
        rng.choice(PERMS),
    )
    add(
        base + second * C.PAGE_4K,
        (ra_pool[0] << 21) + rng.randrange(512) * C.PAGE_4K,
        C.PAGE_4K,
        rng.choice(PERMS),
    )
    add(
        gig + (regions[1] << 21) + rng.randrange(32) * C.PAGE_64K,
        (ra_pool[1] << 21) + rng.randrange(32) * C.PAGE_64K,
        C.PAGE_64K,
        rng.choice(PERMS),
    )
    add(gig + (regions[2] << 21), ra_pool[2] << 21, C.PAGE_2M, rng.choice(PERMS))
    if rng.random() < 0.5:
        other = ((gig >> 30) + 1 + rng.randrange(3)) << 30
        add(other, 1 << 30, C.PAGE_1G, rng.choice(PERMS))
    pages.sort(key=lambda p: p.ea)
    cpu = CpuState(ptcr=ptab.ptcr, pidr=pid)
    return MmuWorld(
        "hv-process",
        f"a radix hypervisor running PID {pid} with {len(pages)} pages (seed {seed})",
        mem,
        {"hv": cpu},
        {"hv": pages},
        seed=seed,
        table_range=(0x100000, alloc.next),
    )


def memory_dump(world: MmuWorld) -> list[tuple[int, int]]:
    """(address, doubleword) of every non-zero doubleword holding a table, by address."""
    lo, hi = world.table_range
    return sorted((a, v) for a, v in world.mem.written() if lo <= a < hi and v)


def dump_text(world: MmuWorld) -> str:
    """:func:`memory_dump` as lines ``0x0000000000221400: 0x8000000000222009``."""
    return "\n".join(f"  {a:#08x}: {v:#018x}" for a, v in memory_dump(world))
