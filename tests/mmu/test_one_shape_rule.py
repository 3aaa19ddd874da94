"""One shape rule: RadixTree.lookup(), RadixTree.mappings() and translate() agree.

Hostile trees are written entry by entry along random paths: every level draws an
invalid entry, a leaf, or a directory with any NLS (0..31) and an NLB misaligned to its
table, so leaves appear at every level and the POWER9 shape rule
(:func:`pynest.mmu.walk.valid_level`) is what decides. The tree is LPID 0's process
tree and the access a hypervisor load, so translate() walks it host real and its
answer is the tree's alone.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pynest.memory import PhysicalMemory
from pynest.mmu import CpuState, translate
from pynest.mmu import constants as C
from pynest.mmu.builder import Allocator, PartitionTable, ProcessTable, RadixTree, make_pde
from pynest.mmu.walk import find_leaf, leaves, valid_level

ROOT = 0x10000  # the hostile tree's 2^13-entry root
AREAS = [0x100000 + j * 0x20000 for j in range(6)]  # where its directories point
PID = 1


def _world() -> tuple[PhysicalMemory, CpuState, RadixTree]:
    """LPID 0 with a valid partition tree (it maps the process table: the PRTE read
    goes through it) and PRTE[PID] naming the hostile tree at ROOT."""
    mem = PhysicalMemory(1 << 32)
    alloc = Allocator(0x1000_0000, 0x1100_0000)
    part = RadixTree(mem, alloc)
    prtab = ProcessTable.create(mem, alloc)
    part.map(prtab.base, prtab.base, C.PAGE_4K, "r")
    patb = PartitionTable.create(mem, alloc)
    patb.set_entry(0, part, prtab)
    tree = RadixTree(mem, Allocator(ROOT, AREAS[0]))  # tables of map() below the areas
    prtab.set_entry(PID, tree)
    return mem, CpuState(ptcr=patb.ptcr, pidr=PID), tree


def _entry(data: st.DataObject) -> int:
    kind = data.draw(st.sampled_from(["invalid", "leaf", "pde", "pde"]))
    if kind == "invalid":
        return data.draw(st.integers(1, (1 << 64) - 1)) & ~C.PTE_V
    if kind == "leaf":
        rpn = data.draw(st.integers(0, (1 << 40) - 1)) << 12 & C.PTE_RPN
        extra = data.draw(st.integers(0, 0x3F))  # EAA and ATT: read is always allowed
        return C.PTE_V | C.PTE_L | rpn | extra | C.PTE_EAA_READ
    nls = data.draw(st.one_of(st.sampled_from([5, 9, 13]), st.integers(0, 31)))
    misalign = data.draw(st.integers(0, 255)) << 8  # NLB granules below a 64K table
    return C.PTE_V | (data.draw(st.sampled_from(AREAS)) + misalign) | nls


def _grow(mem: PhysicalMemory, data: st.DataObject, addr: int) -> None:
    """Write entries where a walk for ``addr`` reads them, until it stops."""
    base, nls, remaining = ROOT, C.ROOT_NLS, C.RADIX_TREE_BITS
    for _level in range(5):
        if remaining - nls < 0:
            return
        slot = base + 8 * ((addr >> (remaining - nls)) & ((1 << nls) - 1))
        if slot + 8 > mem.size:
            return
        entry = mem.read_u64(slot)
        if not entry:
            entry = _entry(data)
            mem.write_u64(slot, entry)
        if not entry & C.PTE_V or entry & C.PTE_L:
            return
        remaining -= nls
        nls = entry & C.PDE_NLS
        base = entry & C.PDE_NLB & ~((8 << nls) - 1)


def _check_agreement(mem: PhysicalMemory, cpu: CpuState, tree: RadixTree, probes) -> None:
    maps = tree.mappings()
    assert [m.addr for m in maps] == sorted(m.addr for m in maps)
    for a in probes:
        found = tree.lookup(a)
        t = translate(mem, cpu, a, "load", update_rc=False)
        covering = [m for m in maps if m.addr <= a < m.addr + m.size]
        if found is None:
            assert t.fault is not None, (hex(a), t)
            assert (t.fault.interrupt, t.fault.stage) == ("DSI", "process"), t.fault
            assert t.fault.cause in (C.DSISR_NOPTE, C.DSISR_R_BADCONFIG)
            assert covering == []
        else:
            assert t.fault is None, (hex(a), t.fault, found)
            assert (t.ra, t.page_size) == (found.ra, found.size)
            assert covering == [
                type(found)(
                    found.addr, found.ra & -found.size, found.size, found.pte, found.pte_addr
                )
            ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_lookup_mappings_translate_agree_on_hostile_shapes(data: st.DataObject) -> None:
    mem, cpu, tree = _world()
    addr52 = st.integers(0, (1 << C.RADIX_TREE_BITS) - 1)
    # a few top-level slots, so paths share (and fight over) directories
    near = st.builds(
        lambda i, low: (i << 39) | low, st.integers(0, 3), st.integers(0, (1 << 39) - 1)
    )
    targets = data.draw(st.lists(st.one_of(near, addr52), min_size=1, max_size=8))
    for a in targets:
        _grow(mem, data, a)
    flips = data.draw(st.lists(st.integers(0, 51), max_size=4))
    probes = [*targets, *(a ^ (1 << b) for a in targets for b in flips)]
    _check_agreement(mem, cpu, tree, probes)
    for m in tree.mappings():  # every enumerated page translates, at both ends
        _check_agreement(mem, cpu, tree, [m.addr, m.addr + m.size - 1])


def test_level2_pde_to_a_2_13_table_is_no_mapping() -> None:
    """The issue's case: a level-2 PDE pointing at a 2^13-entry table. QEMU 7.2
    (ppc_radix64_is_valid_level) faults R_BADCONFIG at level 3; lookup and mappings
    must not report the 256-byte 'page' below it."""
    mem, cpu, tree = _world()
    ea = 0x1234_5678_9000
    tree.map(ea, 0x4000_0000, C.PAGE_4K, "rw")
    pgd_slot = ROOT + 8 * ((ea >> 39) & 0x1FFF)
    pud_slot = (mem.read_u64(pgd_slot) & C.PDE_NLB) + 8 * ((ea >> 30) & 511)
    pmd_slot = (mem.read_u64(pud_slot) & C.PDE_NLB) + 8 * ((ea >> 21) & 511)
    assert tree.find_leaf(ea)[0] & ~0xFFF == mem.read_u64(pmd_slot) & C.PDE_NLB
    big = AREAS[0]  # 64K aligned: 2^13 entries
    mem.write_u64(pmd_slot, make_pde(big, 13))
    # fill the big table's slot for ea (21 bits left, 13 of them index: shift 8)
    mem.write_u64(big + 8 * ((ea >> 8) & 0x1FFF), C.PTE_V | C.PTE_L | 0x5000_0000 | 0x6)
    assert not valid_level(3, 21, 13)
    assert tree.lookup(ea) is None
    assert tree.find_leaf(ea) is None
    assert tree.mappings() == []
    t = translate(mem, cpu, ea, "load", update_rc=False)
    assert t.fault is not None and t.fault.cause == C.DSISR_R_BADCONFIG and t.fault.level == 3


def test_find_leaf_and_leaves_hand_vectors() -> None:
    """Hand-built: a 2M leaf at level 2, a 64K page under a 2^5 table, an invalid
    entry, and a directory at level 3 (the walk faults at level 4)."""
    mem, cpu, tree = _world()
    tree.map(0x20_0000, 0x8000_0000, C.PAGE_2M, "r")
    tree.map(0x40_0000 + 0x10000, 0x9001_0000, C.PAGE_64K, "r")
    got = leaves(mem.nonzero_u64, tree.walk_root)
    assert [(x.addr, x.shift, x.level) for x in got] == [(0x20_0000, 21, 2), (0x41_0000, 16, 3)]
    assert find_leaf(mem.read_u64, tree.walk_root, 0x21_2345).pte & C.PTE_RPN == 0x8000_0000
    assert find_leaf(mem.read_u64, tree.walk_root, 0x60_0000) is None
    # a range selects pages overlapping it
    assert [x.addr for x in leaves(mem.nonzero_u64, tree.walk_root, 0x40_0000, 0x42_0000)] == [
        0x41_0000
    ]
    # turn the 64K leaf into a directory: a level-3 directory is no mapping
    slot = tree.find_leaf(0x41_0000)[0]
    mem.write_u64(slot, make_pde(AREAS[1], 9))
    mem.write_u64(AREAS[1], C.PTE_V | C.PTE_L | 0x7000_0000 | 0x6)
    assert tree.lookup(0x41_0000) is None
    assert [m.addr for m in tree.mappings()] == [0x20_0000]
    t = translate(mem, cpu, 0x41_0000, "load", update_rc=False)
    assert t.fault.cause == C.DSISR_R_BADCONFIG and t.fault.level == 4
