"""The three-stage translation L2 EA -> L2 real -> L1 real -> host real, from the tables
alone (no shadow state): what L0's shadow tables must agree with."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import PynestError, check_int
from ..kvm.constants import TREE_ADDR_MASK
from ..kvm.l1 import L1, L2Guest, L2Space
from ..mmu import constants as C
from ..mmu.formats import RadixRoot
from ..mmu.walk import find_leaf


def _leaf_ra(read_u64: Callable[[int], int], dw0: int, addr: int) -> int | None:
    """The real address the tree named by PATE/PRTE ``dw0`` gives ``addr`` (the
    hardware's shape rule and masking, :func:`pynest.mmu.walk.find_leaf`), or None."""
    leaf = find_leaf(read_u64, RadixRoot.decode(dw0), addr)
    if leaf is None:
        return None
    mask = (1 << leaf.shift) - 1
    return (leaf.pte & C.PTE_RPN & ~mask) | (addr & mask)


def direct_translate(l1: L1, l2: L2Guest, ea: int, pid: int | None = None) -> int | None:
    """Host real address of L2 effective address ``ea`` by the three stages, from the
    tables alone (no shadow state, none of the L1's bookkeeping): the L1's partition
    table (at ``l1_ptcr``) gives the L2's entry, whose dw1 names the L2's process table
    and dw0 the L1's tree for the L2; the PRTE for ``pid`` names the process tree; L0's
    tree for the L1 ends it. None when any stage has no mapping, or an entry lies past
    its table's size (PATS, PRTS).

    Each tree is walked as the hardware walks it, from the RPDB/RPDS/RTS of its entry
    (a root that is not 52 bits with 2^13 entries maps nothing). Each stage takes what
    the hardware gives it: the process tree the EA less its quadrant bits (QEMU 7.2
    ``R_EADDR_MASK``); each 52-bit partition-scoped tree only bits 0-51 of the guest
    real address, as its level indexes start at bit 51 and the leaf adds only the offset
    below the page size (QEMU 7.2 ``ppc_radix64_walk_tree``; for the L1's tree the 4.20
    kernel's ``kvmppc_mmu_walk_radix_tree``, which L0 calls with ``n_gpa`` still holding
    bits 52-59). So RPN bits 52-56 of a process PTE select nothing, as in the real
    shadow path."""
    check_int("ea", ea, bits=64)
    pid = l2.pid if pid is None else check_int("pid", pid, bits=20)
    vm = l1.vm
    l1_mem = vm.slot_space.read_u64
    try:
        if l2.l1_lpid >= 1 << ((vm.l1_ptcr & C.PTCR_PATS) + 8):
            return None  # kvmhv_update_ptbl_cache reads no entry past PATS
        pate = (vm.l1_ptcr & C.PTCR_PATB) + 16 * l2.l1_lpid
        pate0, pate1 = l1_mem(pate), l1_mem(pate + 8)
        if pid >= 1 << ((pate1 & C.PRTS_MASK) + 8):
            return None  # past the process table: QEMU 7.2 raises a storage interrupt
        l2_mem = L2Space(l1, l2, fault_in=False).read_u64
        prte0 = l2_mem((pate1 & C.PRTB_MASK) + 16 * pid)
        l2_ra = _leaf_ra(l2_mem, prte0, ea & C.EA_NOQUAD_MASK)
        if l2_ra is None:
            return None
        l1_ra = _leaf_ra(l1_mem, pate0, l2_ra & TREE_ADDR_MASK)
        if l1_ra is None:
            return None
        host = vm.pgtable.lookup(l1_ra & TREE_ADDR_MASK)
        return None if host is None else host.ra
    except PynestError:
        return None
