"""The three-stage translation L2 EA -> L2 real -> L1 real -> host real, from the tables
alone (no shadow state): what L0's shadow tables must agree with."""

from __future__ import annotations

from ..errors import PynestError, check_int
from ..kvm.l1 import L1, L2Guest, L2Space
from ..kvm.shadow import TREE_ADDR_MASK
from ..mmu import constants as C
from ..mmu.builder import Allocator, RadixTree


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
