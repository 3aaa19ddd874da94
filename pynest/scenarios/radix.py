"""Radix (MMU-only) worlds: tables in memory and the CPU contexts that use them.

:func:`radix_reference` (the fact sheet's hand-checked worked examples) and
:func:`radix_host` (hypervisor processes and a guest, pages of every size), for the
radix notebooks and ``pynest walk``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import NamedTuple

from ..errors import check_int
from ..memory import PhysicalMemory
from ..mmu import constants as C
from ..mmu.builder import Allocator, GuestSpace, PartitionTable, ProcessTable, RadixTree
from ..mmu.xlate import CpuState, Translation, translate


class Page(NamedTuple):
    """One page of a context: ``ea`` maps to ``ra`` (guest real for a guest) for ``size``
    bytes with ``perms``."""

    ea: int
    ra: int
    size: int
    perms: str


@dataclass
class MmuWorld:
    """Memory with radix tables and the CPU contexts that translate through them: the
    one record of every MMU-only world (radix, quadrant, hv-process and guest worlds).

    ``contexts`` maps a short name ("hv", "guest", ...) to the :class:`CpuState` of a
    thread using the tables; ``mappings`` lists, per context, (EA, address the process
    tree maps it to -- guest real for a guest --, page size, permissions) of its pages
    (a :class:`Page` or a plain 4-tuple). ``seed`` names a seeded world;
    ``table_range`` is the host real range holding every table, when it is one range;
    ``eas`` a few addresses of the first context worth translating (an explorer's
    examples); ``partition_page`` the page size of a guest world's partition-scoped
    leaves (0: not a guest world).
    """

    name: str
    description: str
    mem: PhysicalMemory
    contexts: dict[str, CpuState]
    mappings: dict[str, list[tuple[int, int, int, str]]] = field(default_factory=dict)
    seed: int = 0
    table_range: tuple[int, int] = (0, 0)
    eas: list[int] = field(default_factory=list)
    partition_page: int = 0

    @property
    def cpu(self) -> CpuState:
        """The first context (the only one of a one-process world)."""
        return next(iter(self.contexts.values()))

    @property
    def lpid(self) -> int:
        """The first context's LPIDR."""
        return self.cpu.lpidr

    @property
    def pid(self) -> int:
        """The first context's PIDR."""
        return self.cpu.pidr

    @property
    def pages(self) -> list[Page]:
        """The first context's pages, as :class:`Page` records."""
        return [Page(*m) for m in next(iter(self.mappings.values()), [])]

    def translate(self, ea: int, access: str = "load") -> Translation:
        """The debugger's view of one access by the first context (no R/C written, no
        TLB)."""
        return translate(self.mem, self.cpu, ea, access, update_rc=False)


# The hand-checked image of the fact sheet's worked examples (radix-mmu.md section 7),
# each doubleword as it stands there; confirmed on QEMU 7.2 powernv9.
RADIX_REFERENCE_IMAGE = {
    0x100000: 0xC0000000001100AD,  # PATE[0].dw0: HR | 52-bit tree | RPDB 0x110000 | 13
    0x100008: 0x0000000000200000,  # PATE[0].dw1: process table 0x200000, PRTS 0
    0x110000: 0x8000000000120009,  # LPID 0 partition root[0] -> 0x120000
    0x120000: 0xC000000000000187,  # 1 GiB identity leaf, R|C, RWX
    0x200050: 0x40000000002100AD,  # PRTE[5]
    0x210000: 0x8000000000220009,
    0x220000: 0x8000000000221009,
    0x221400: 0x8000000000222009,
    0x221408: 0xC000000004000104,  # 2 MiB read-only leaf -> 0x4000000
    0x222000: 0xC000000003000186,  # 4 KiB leaf -> 0x3000000, R|C, read/write
    0x100070: 0xC0000000001300AD,  # PATE[7].dw0
    0x100078: 0x0000000000010000,  # PATE[7].dw1: process table at guest real 0x10000
    0x130000: 0x8000000000140009,
    0x140000: 0x8000000000141009,
    0x141000: 0xC000000000800187,  # guest real 0 -> 0x800000, 2 MiB
    0x141008: 0xC000000000A00187,  # guest real 0x200000 -> 0xA00000, 2 MiB
    0x810030: 0x40000000000200AD,  # guest PRTE[3] (guest real 0x10030)
    0x820000: 0x8000000000030009,
    0x830000: 0x8000000000031009,
    0x831488: 0x8000000000032009,
    0x832A28: 0xC000000000201186,  # 4 KiB leaf -> guest real 0x201000
}


class HostTables(NamedTuple):
    """A radix hypervisor's own tables in host real memory."""

    mem: PhysicalMemory
    alloc: Allocator  # where the host's tables go
    ptab: PartitionTable
    host: RadixTree  # LPID 0's partition-scoped tree
    prtab: ProcessTable  # LPID 0's process table


def radix_hypervisor(mem_size: int, table_start: int, table_end: int) -> HostTables:
    """Host memory of ``mem_size`` bytes with, allocated in this order from
    ``[table_start, table_end)``: the partition table, LPID 0's partition tree (one
    identity 1G leaf with R and C: QEMU 7.2 translates process-table addresses through
    it) and LPID 0's process table, PATE[0] naming both."""
    mem = PhysicalMemory(mem_size)
    alloc = Allocator(table_start, table_end)
    ptab = PartitionTable.create(mem, alloc)
    host = RadixTree(mem, alloc)
    host.map(0, 0, C.PAGE_1G, "rwx", r=True, c=True)
    prtab = ProcessTable.create(mem, alloc)
    ptab.set_entry(0, host, prtab)
    return HostTables(mem, alloc, ptab, host, prtab)


def add_radix_guest(
    h: HostTables, lpid: int, base: int, size: int, table_start: int, table_end: int
) -> tuple[ProcessTable, GuestSpace, Allocator]:
    """Guest ``lpid``: a partition tree mapping guest real ``[0, size)`` to host real
    ``base`` onwards with 2M rwx leaves, and a process table in the guest's own real
    memory, allocated from ``[table_start, table_end)``; PATE[lpid] names both.
    Returns (process table, the guest real space, its table allocator)."""
    part = RadixTree(h.mem, h.alloc)
    for gra in range(0, size, C.PAGE_2M):
        part.map(gra, base + gra, C.PAGE_2M, "rwx")
    space = GuestSpace(h.mem, part)
    galloc = Allocator(table_start, table_end)
    gprtab = ProcessTable.create(space, galloc)
    h.ptab.set_entry(lpid, part, gprtab)
    return gprtab, space, galloc


def radix_reference() -> MmuWorld:
    """The worked examples of the fact sheet: a hypervisor process (PID 5) with a 4K and
    a 2M page, and a guest (LPID 7, PID 3) whose one 4K page needs the 2-D walk."""
    mem = PhysicalMemory(256 << 20)
    for addr, value in RADIX_REFERENCE_IMAGE.items():
        mem.write_u64(addr, value)
    ptcr = 0x100000
    return MmuWorld(
        "radix-reference",
        "the hand-checked worked examples (hypervisor PID 5; guest LPID 7 PID 3)",
        mem,
        {
            "hv": CpuState(ptcr=ptcr, pidr=5),
            "guest": CpuState(ptcr=ptcr, lpidr=7, pidr=3, msr=C.MSR_GUEST_KERNEL),
            "hv-quadrant1": CpuState(ptcr=ptcr, lpidr=7, pidr=3),
        },
        {
            "hv": [
                (0x10000000, 0x3000000, C.PAGE_4K, "rw"),
                (0x10200000, 0x4000000, C.PAGE_2M, "r"),
            ],
            "guest": [(0x12345000, 0x201000, C.PAGE_4K, "rw")],
            "hv-quadrant1": [(0x4000000012345000, 0x201000, C.PAGE_4K, "rw")],
        },
    )


def radix_host(seed: int = 0) -> MmuWorld:
    """A radix hypervisor with two processes and one guest, pages of every size.

    PIDs 1 and 2 of the host and PID 1 of the guest (LPID 5, 64 MiB of guest real
    memory at host real 0x8000000) each map a few 4K, 64K, 2M and 1G pages at EAs and
    real addresses drawn from ``seed``.
    """
    check_int("seed", seed, bits=64)
    rng = random.Random(seed)
    h = radix_hypervisor(4 << 30, 0x100000, 0x4000000)
    mem, alloc, ptab, prtab = h.mem, h.alloc, h.ptab, h.prtab
    guest_size = 64 << 20
    gprtab, gspace, galloc = add_radix_guest(h, 5, 0x8000000, guest_size, 0x100000, 0x800000)

    contexts: dict[str, CpuState] = {}
    mappings: dict[str, list[tuple[int, int, int, str]]] = {}
    sizes = (C.PAGE_4K, C.PAGE_64K, C.PAGE_2M)
    plans = [
        ("hv-pid1", prtab, 1, mem, alloc, (0x40000000, 1 << 32), False),
        ("hv-pid2", prtab, 2, mem, alloc, (0x40000000, 1 << 32), False),
        ("guest-pid1", gprtab, 1, gspace, galloc, (0x800000, guest_size), True),
    ]
    for name, table, pid, space, talloc, (ra_lo, ra_hi), guest in plans:
        tree = RadixTree(space, talloc)
        table.set_entry(pid, tree)
        done: list[tuple[int, int, int, str]] = []
        for i, size in enumerate(sizes * 2 + ((C.PAGE_1G,) if not guest else ())):
            ea = (0x10000000 * (i + 1) + rng.randrange(0, 64) * C.PAGE_2M) & -size
            ra = rng.randrange(ra_lo, ra_hi - size) & -size
            perms = rng.choice(["rw", "r", "rx", "rwx"])
            if size == C.PAGE_1G:
                ea, ra = 0x7000000000, 0x80000000
            tree.map(ea, ra, size, perms)
            done.append((ea, ra, size, perms))
        if guest:
            contexts[name] = CpuState(ptcr=ptab.ptcr, lpidr=5, pidr=pid, msr=C.MSR_GUEST_KERNEL)
        else:
            contexts[name] = CpuState(ptcr=ptab.ptcr, pidr=pid)
        mappings[name] = done
    return MmuWorld(
        "radix-host",
        "a radix hypervisor (PIDs 1, 2) and a guest (LPID 5, PID 1); pages of every size",
        mem,
        contexts,
        mappings,
    )


def pate_lookup(ptcr: int, lpid: int) -> Translation:
    """Let the model look PATE[lpid] up: a guest (or, for LPID 0, the hypervisor) of that
    LPID translates EA 0 with this PTCR in empty memory. The first step read is the PATE;
    a fault before any read is the bad-PTCR/LPID HDSI."""
    mem = PhysicalMemory(1 << 30)
    if lpid == 0:
        cpu = CpuState(ptcr=ptcr)
    else:
        cpu = CpuState(ptcr=ptcr, lpidr=lpid, msr=C.MSR_GUEST_KERNEL)
    return translate(mem, cpu, 0, "load", update_rc=False)
