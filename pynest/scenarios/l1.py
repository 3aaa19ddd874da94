"""L1/L2 worlds: an L0 running one L1 hypervisor, and the L2s that L1 runs.

:func:`one_l1` (the L1 has called ``kvmhv_nested_init``), :func:`two_l2s` (two L2s with
code and data mapped and a store/load/cede program), :func:`migrated_l1` (that L1 just
after migration to a fresh L0). Every builder takes a ``seed`` and uses only
``random.Random(seed)``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ..errors import ConfigError, PynestError, check_int
from ..kvm.hcalls import H_CEDE
from ..kvm.host import L0, L1Vm
from ..kvm.l1 import L1, L2Guest
from ..kvm.nested_table import NestedGuest
from ..kvm.program import Hcall, Load, Program, Spin, Store
from ..mmu import constants as C

CODE_EA = 0x0000_0000_0001_0000
DATA_EA = 0x0000_0000_1000_0000


@dataclass
class World:
    """An L0, one L1 (L0's view ``vm`` and the L1 kernel ``l1``) and its L2s: the one
    record of every L1/L2 world (``one_l1``, ``two_l2s``, the shadow, nested and copy
    worlds). ``seed`` names the world; ``data`` maps an L2's lpid to its data EAs."""

    seed: int
    l0: L0
    vm: L1Vm
    l1: L1
    l2s: list[L2Guest] = field(default_factory=list)
    data: dict[int, list[int]] = field(default_factory=dict)  # l2 lpid -> data EAs

    @property
    def l2(self) -> L2Guest:
        """The first L2 (the only one of a one-L2 world such as the shadow world)."""
        if not self.l2s:
            raise ConfigError("this world has no L2")
        return self.l2s[0]

    @property
    def gp(self) -> NestedGuest | None:
        """L0's nested-guest struct for :attr:`l2` (None before its first H_ENTER_NESTED)."""
        return self.vm.nested.find(self.l2.l1_lpid)

    @property
    def l1_page(self) -> int:
        """The page size the L1 maps :attr:`l2` with."""
        return self.l2.page_size

    @property
    def backing(self) -> int:
        """The page size L0 backs the L1's memory with."""
        return self.vm.backing

    def run_all(self) -> dict[int, str]:
        """Run every L2 once; returns lpid -> why it stopped."""
        return {l2.l1_lpid: self.l1.run_l2(l2).stopped for l2 in self.l2s}


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
    w.data[l2.l1_lpid] = eas
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
        l1.load_program(l2, vm.programs[l2.l1_lpid])  # type: ignore[arg-type]
    return World(seed, l0, vm, l1, src.l2s, src.data)
