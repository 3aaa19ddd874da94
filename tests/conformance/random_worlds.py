"""Seeded random radix worlds for the QEMU comparison.

Each world is built with :mod:`pynest.mmu.builder` in 1 GiB of memory: a partition table
(PATS 0, 1 or 4), LPID 0's partition tree, a host process table with trees for a few
PIDs, and a guest LPID whose partition tree identity-maps the guest's table region
(0x2000000-0x2100000) so that QEMU 7.2's hypervisor quadrant 1/2 shortcut and the
architected walk read the same bytes. Pages of every size (4K, 64K, 2M, 1G) with random
permissions, attributes and R/C are mapped to random real addresses; then a few random
bits of random table doublewords (and sometimes the PTCR) are corrupted so that every
kind of fault shows up. Cases pick an EA near a mapping (inside or just past it), a
quadrant, a mode (hypervisor, hypervisor problem state, guest), AMR/IAMR key-0 bits and
an access type.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pynest.errors import PynestError
from pynest.memory import PhysicalMemory
from pynest.mmu import (
    MSR_DR,
    MSR_GUEST_KERNEL,
    MSR_HV_KERNEL,
    MSR_PR,
    PAGE_1G,
    PAGE_2M,
    PAGE_4K,
    PAGE_64K,
    Allocator,
    GuestSpace,
    PartitionTable,
    ProcessTable,
    RadixTree,
)

RAM = 1 << 30
HOST_TABLES = (0x100000, 0x2000000)
GUEST_TABLES = (0x2000000, 0x2100000)
GUEST_CODE = 0x20FF000  # ld/std + sc 1 for guest-mode data cases (guest real = host real)
SIZES = (PAGE_4K, PAGE_64K, PAGE_2M, PAGE_1G)


@dataclass(frozen=True)
class Case:
    ea: int
    access: str
    msr: int
    pidr: int
    lpidr: int
    amr: int
    iamr: int


@dataclass
class World:
    seed: int
    mem: PhysicalMemory
    ptcr: int
    cases: list[Case]


def _perms(rng: random.Random) -> str:
    return "".join(ch for ch in "prwx" if rng.random() < 0.5)


def build_world(seed: int, cases: int = 6) -> World:
    rng = random.Random(seed)
    mem = PhysicalMemory(RAM)
    alloc = Allocator(*HOST_TABLES)
    ptab = PartitionTable.create(mem, alloc, rng.choice([0, 0, 1, 4]))
    host = RadixTree(mem, alloc)
    if rng.random() < 0.9:
        perms = rng.choice(["rw", "r", "rx", "x", ""]) if rng.random() < 0.15 else "rwx"
        host.map(0, 0, PAGE_1G, perms, r=rng.random() < 0.7, c=rng.random() < 0.5)
    prtab = ProcessTable.create(mem, alloc, rng.choice([0, 0, 1]))
    ptab.set_entry(0, host, prtab)

    guest_lpid = rng.choice([1, 7, 200])
    if guest_lpid >= ptab.num_lpids:
        guest_lpid = 1
    gpart = RadixTree(mem, alloc)
    gsize = rng.choice([PAGE_4K, PAGE_2M, PAGE_1G])
    if gsize == PAGE_1G:
        gpart.map(0, 0, PAGE_1G, "rwx", r=rng.random() < 0.5, c=rng.random() < 0.5)
    elif gsize == PAGE_2M:
        for a in range(GUEST_TABLES[0], GUEST_TABLES[0] + (16 << 20), PAGE_2M):
            perms = "rwx" if a == GUEST_TABLES[0] else rng.choice(["rwx", "rwx", "r", "rw"])
            gpart.map(a, a, PAGE_2M, perms, r=rng.random() < 0.5, c=rng.random() < 0.5)
    else:
        for a in range(*GUEST_TABLES, PAGE_4K):
            gpart.map(a, a, PAGE_4K, "rwx")
    galloc = Allocator(*GUEST_TABLES)
    gspace = GuestSpace(mem, gpart)
    gprtab = ProcessTable.create(gspace, galloc, 0)
    ptab.set_entry(guest_lpid, gpart, gprtab)

    targets: list[tuple[bool, int, int]] = []  # (guest tree?, pid, ea)
    owners = [
        (False, rng.choice([1, 2, 5, 300]), prtab, alloc, mem),
        (False, 0, prtab, alloc, mem),
        (True, rng.choice([1, 3]), gprtab, galloc, gspace),
        (True, 0, gprtab, galloc, gspace),
    ]
    for guest, pid, table, talloc, space in owners:
        if pid >= table.num_pids:
            continue
        tree = RadixTree(space, talloc)
        table.set_entry(pid, tree)
        for _ in range(rng.randint(1, 5)):
            size = rng.choice(SIZES)
            ea = rng.randrange(0, 1 << 40) & -size
            ra = rng.randrange(0x4000000, RAM) & -size if size < PAGE_1G else 0
            try:
                tree.map(ea, ra, size, _perms(rng), r=rng.random() < 0.5, c=rng.random() < 0.5,
                         att=rng.choice([0, 0, 0, 0x20, 0x10]))  # fmt: skip
            except PynestError:
                continue  # the random page collides with an earlier one
            targets.append((guest, pid, (ea + rng.randrange(0, size)) & ~7))
            targets.append((guest, pid, (ea + size + rng.randrange(0, PAGE_4K)) & ~7))

    words = [a for a, _ in mem.written() if a < GUEST_CODE or a >= GUEST_CODE + PAGE_4K]
    for _ in range(rng.choice([0, 0, 0, 1, 2])):
        a = rng.choice(words)
        mem.write_u64(a, mem.read_u64(a) ^ (1 << rng.randrange(64)))
    if rng.random() < 0.1:
        a = rng.choice(words)
        mem.write_u64(a, (mem.read_u64(a) & ~0x1F) | rng.randrange(32))
    ptcr = ptab.ptcr
    if rng.random() < 0.05:
        ptcr ^= 1 << rng.randrange(12, 28)

    out = []
    for _ in range(cases):
        guest, pid, ea = rng.choice(targets) if targets else (False, 0, 0)
        quadrant = (1 if pid else 2) if guest else (0 if pid else 3)
        msr = MSR_HV_KERNEL | (MSR_PR if rng.random() < 0.25 else 0)
        if guest and rng.random() < 0.6:
            msr = MSR_GUEST_KERNEL
            quadrant = 0 if pid else 3
        if rng.random() < 0.1:
            quadrant = rng.randrange(4)
        ea = (ea & 0x000F_FFFF_FFFF_FFF8) | (quadrant << 62)
        if rng.random() < 0.05:
            ea |= 1 << rng.randrange(52, 62)  # EA bits 2:11: a segment interrupt
        if pid == 0 or rng.random() < 0.1:
            pid = rng.choice([0, 1, 2, 3, 5, 300])
        access = rng.choice(["load", "store", "fetch"])
        if msr & MSR_PR and access != "fetch":
            access = "fetch"  # problem-state data cases would need the harness code mapped
        if access != "fetch" and not msr & MSR_PR and rng.random() < 0.15:
            msr &= ~MSR_DR  # real-mode data access (guest: partition-scoped only)
            ea = rng.randrange(0x4000000, 0x8000000) & ~7 | (rng.choice([0, 0, 0, 1, 3]) << 62)
        out.append(
            Case(ea, access, msr, pid, guest_lpid,
                 rng.choice([0, 0, 1 << 63, 1 << 62, 3 << 62]), rng.choice([0, 0, 1 << 62]))
        )  # fmt: skip
    return World(seed, mem, ptcr, out)
