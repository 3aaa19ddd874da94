"""Named, seeded worlds that notebooks and tests share.

* :func:`one_l1` -- an L0 with one L1 that has registered its partition table;
* :func:`two_l2s` -- that L1 running two L2s, each with code and data mapped and a
  program that stores, loads and cedes;
* :func:`migrated_l1` -- the same L1 just after migration to a fresh L0: its memory
  (partition table and L2 trees included) and ``l1_ptcr`` arrive, but L0 has no nested
  guests, no shadow tables and no backing yet;
* :func:`radix_reference` and :func:`radix_host` -- MMU-only worlds (tables in memory and
  the CPU contexts that use them) for the radix notebooks and ``pynest walk``.

:data:`SCENARIOS` names them all.

Every builder takes a ``seed`` and uses only ``random.Random(seed)``. Also here:
:func:`direct_translate`, the three-stage translation L2 EA -> L2 real -> L1 real ->
host real computed from the tables without shadow state, and the isolation invariant
(:func:`isolation_violations`, from :mod:`pynest.kvm.host`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .errors import PynestError, check_int
from .kvm.hcalls import H_CEDE
from .kvm.host import L0, L1Vm, isolation_violations
from .kvm.l1 import L1, L2Guest, L2Space
from .kvm.l2 import Hcall, Load, Program, Spin, Store
from .kvm.shadow import TREE_ADDR_MASK
from .memory import PhysicalMemory
from .mmu import constants as C
from .mmu.builder import Allocator, GuestSpace, PartitionTable, ProcessTable, RadixTree
from .mmu.xlate import CpuState

__all__ = [
    "SCENARIOS",
    "MmuWorld",
    "World",
    "direct_translate",
    "isolation_violations",
    "migrated_l1",
    "one_l1",
    "radix_host",
    "radix_reference",
    "two_l2s",
]

CODE_EA = 0x0000_0000_0001_0000
DATA_EA = 0x0000_0000_1000_0000


@dataclass
class World:
    """An L0 and what runs on it; ``seed`` names the world."""

    seed: int
    l0: L0
    vm: L1Vm
    l1: L1
    l2s: list[L2Guest] = field(default_factory=list)
    data: dict[int, list[int]] = field(default_factory=dict)  # l2 lpid -> data EAs

    def run_all(self) -> dict[int, str]:
        """Run every L2 once; returns lpid -> why it stopped."""
        return {l2.lpid: self.l1.run_l2(l2).stopped for l2 in self.l2s}


def one_l1(
    seed: int = 0,
    *,
    page_shift: int = 16,
    nested_table: str = "array",
    backing: int | None = None,
    kernel: str = "4.20",
    l0_kernel: str = "4.20",
) -> World:
    """An L0 running Linux ``l0_kernel`` with one L1 (256 MiB, Linux ``kernel``) whose
    KVM has called ``kvmhv_nested_init`` (kernels: :mod:`pynest.kvm.versions`).

    Nothing here is random: ``seed`` only names the world (:func:`two_l2s` and
    :func:`migrated_l1` draw their L2s from it)."""
    check_int("seed", seed, bits=64)
    l0 = L0(page_shift=page_shift, nested_table=nested_table, kernel=l0_kernel)
    vm = l0.create_l1(256 << 20, backing=backing)
    l1 = L1(vm, kernel=kernel)
    rc = l1.nested_init()
    if rc:
        raise PynestError(f"H_SET_PARTITION_TABLE failed with {rc}")
    return World(seed, l0, vm, l1)


def add_l2(w: World, rng: random.Random, page_size: int) -> L2Guest:
    """One more L2 in ``w``'s L1 (16 MiB, L1 pages of ``page_size``): code at
    ``CODE_EA``, three data pages near ``DATA_EA`` and a program that stores to each,
    loads each back and cedes, all drawn from ``rng``."""
    l1 = w.l1
    l2 = l1.create_l2(16 << 20, page_size=page_size, pid=rng.randrange(1, 16))
    code_gpa = 0x0040_0000 + rng.randrange(0, 8) * C.PAGE_64K
    l1.l2_map(l2, CODE_EA, code_gpa, C.PAGE_4K, "x")
    eas = []
    for i in range(3):
        ea = DATA_EA + rng.randrange(0, 256) * C.PAGE_4K + i * (1 << 20)
        gpa = 0x0080_0000 + rng.randrange(0, 64) * C.PAGE_4K + i * (1 << 20)
        l1.l2_map(l2, ea, gpa, C.PAGE_4K, "rw")
        eas.append(ea)
    ops: list = []
    for ea in eas:
        ops.append(Store(ea + 8 * rng.randrange(0, 512), rng.getrandbits(64)))
    for ea in eas:
        ops.append(Load(ea))
    ops += [Spin(rng.randrange(1, 4)), Hcall(H_CEDE)]
    l1.load_program(l2, Program(tuple(ops), entry=CODE_EA))
    w.l2s.append(l2)
    w.data[l2.lpid] = eas
    return l2


def two_l2s(
    seed: int = 0, *, page_size: int = C.PAGE_64K, run: bool = False, **kw: object
) -> World:
    """:func:`one_l1` plus two L2s with code at 0x10000 and three data pages each
    (random EAs/values from ``seed``); ``run=True`` also runs both once."""
    w = one_l1(seed, **kw)  # type: ignore[arg-type]
    rng = random.Random(seed)
    for _ in range(2):
        add_l2(w, rng, page_size)
    if run:
        w.run_all()
    return w


def migrated_l1(seed: int = 0, **kw: object) -> World:
    """The :func:`two_l2s` world (already run once) after migration to a fresh L0.

    The destination L0 receives the L1's memory contents and its ``l1_ptcr`` (restored
    as state, not by an hcall), but no nested-guest structs, shadow trees or backing
    mappings: the next H_ENTER_NESTED for each L2 creates them again, from the L1's
    partition table (the case the review's "someone else beat us to it" race is about).
    """
    src = two_l2s(seed, run=True, **kw)  # type: ignore[arg-type]
    old_vm = src.vm
    l0 = L0(page_shift=src.l0.page_shift, nested_table=src.l0.nested_table)
    vm = l0.create_l1(old_vm.mem_size, backing=old_vm.backing)
    lo, hi = old_vm.allotment
    for addr, value in src.l0.mem.written():
        if lo <= addr < hi:
            l0.mem.write_u64(vm.mem_base + addr - lo, value)
    vm.l1_ptcr = old_vm.l1_ptcr
    vm.programs = dict(old_vm.programs)
    l0.events.append("set-ptcr", "L0", lpid=vm.lpid, detail=f"restored l1_ptcr {vm.l1_ptcr:#x}")
    l1 = src.l1
    l1.vm = vm
    for l2 in l1.l2s.values():
        l2.tree.space = vm.space
        l1.load_program(l2, vm.programs[l2.lpid])  # type: ignore[arg-type]
    return World(seed, l0, vm, l1, src.l2s, src.data)


def direct_translate(l1: L1, l2: L2Guest, ea: int, pid: int | None = None) -> int | None:
    """Host real address of L2 effective address ``ea`` by the three stages, without
    L0's shadow tables: the L2's process tree (via its process table), the L1's tree
    for the L2, L0's tree for the L1. None when any stage has no mapping.

    Each stage takes what the hardware gives it: the process tree the EA less its
    quadrant bits (QEMU 7.2 ``R_EADDR_MASK``); each 52-bit partition-scoped tree only
    bits 0-51 of the guest real address, as its level indexes start at bit 51 and the
    leaf adds only the offset below the page size (QEMU 7.2 ``ppc_radix64_walk_tree``;
    for the L1's tree the 4.20 kernel's ``kvmppc_mmu_walk_radix_tree``, which L0 calls
    with ``n_gpa`` still holding bits 52-59). So RPN bits 52-56 of a process PTE select
    nothing, as in the real shadow path."""
    check_int("ea", ea, bits=64)
    pid = l2.pid if pid is None else pid
    peek = L2Space(l1, l2, fault_in=False)
    dummy = Allocator(0, 1)
    try:
        prtb = l2.prtab.base if l2.prtab is not None else 0
        dw0 = peek.read_u64(prtb + 16 * pid)
        if not dw0 & C.RPDB_MASK:
            return None
        proc = RadixTree(peek, dummy, root=dw0 & C.RPDB_MASK).lookup(ea & C.EA_NOQUAD_MASK)
        if proc is None:
            return None
        l1_tree = RadixTree(l1.vm.slot_space, dummy, root=l2.tree.root)
        stage2 = l1_tree.lookup(proc.ra & TREE_ADDR_MASK)
        if stage2 is None:
            return None
        stage3 = l1.vm.pgtable.lookup(stage2.ra & TREE_ADDR_MASK)
        return None if stage3 is None else stage3.ra
    except PynestError:
        return None


# ----------------------------------------------------------------------------- MMU worlds
@dataclass
class MmuWorld:
    """Memory with radix tables and the CPU contexts that translate through them.

    ``contexts`` maps a short name ("hv", "guest", ...) to the :class:`CpuState` of a
    thread using the tables; ``mappings`` lists, per context, (EA, address the process
    tree maps it to -- guest real for a guest --, page size, permissions) of its pages.
    """

    name: str
    description: str
    mem: PhysicalMemory
    contexts: dict[str, CpuState]
    mappings: dict[str, list[tuple[int, int, int, str]]] = field(default_factory=dict)


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
    mem = PhysicalMemory(4 << 30)
    alloc = Allocator(0x100000, 0x4000000)
    ptab = PartitionTable.create(mem, alloc)
    host = RadixTree(mem, alloc)
    host.map(0, 0, C.PAGE_1G, "rwx", r=True, c=True)
    prtab = ProcessTable.create(mem, alloc)
    ptab.set_entry(0, host, prtab)
    guest_base, guest_size = 0x8000000, 64 << 20
    part = RadixTree(mem, alloc)
    for gra in range(0, guest_size, C.PAGE_2M):
        part.map(gra, guest_base + gra, C.PAGE_2M, "rwx")
    gspace = GuestSpace(mem, part)
    galloc = Allocator(0x100000, 0x800000)
    gprtab = ProcessTable.create(gspace, galloc)
    ptab.set_entry(5, part, gprtab)

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


SCENARIOS = {
    "radix-reference": (radix_reference, "MMU: the fact sheet's hand-checked worked examples"),
    "radix-host": (radix_host, "MMU: hypervisor processes and a guest, pages of every size"),
    "one-l1": (one_l1, "KVM: an L0 with one L1 that has registered its partition table"),
    "two-l2s": (two_l2s, "KVM: that L1 running two L2s with code and data mapped"),
    "migrated-l1": (migrated_l1, "KVM: the two-L2 L1 just after migration to a fresh L0"),
}
"""Every named world: name -> (builder, one-line description)."""
