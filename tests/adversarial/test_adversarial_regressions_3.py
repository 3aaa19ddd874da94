"""Regressions found by the second adversarial campaign (issue 13: page-size mixes,
tree surgery, hostile buffer placement, churn, footprint and baseline checks), each
with the input that found it; and hand-checked vectors for the campaign's own checks
(the footprint check and the end-of-run baseline), so that a check that cannot fail
would show here."""

from __future__ import annotations

import pytest

from pynest import scenarios as W
from pynest.errors import PynestError
from pynest.kvm.host import L0
from pynest.kvm.l1 import L2Space
from pynest.mmu import constants as C

from .adversarial_machine import STATS, AdversarialL1, FootprintViolation, l0_resources

_MB = 1 << 20


def _machine(world: tuple[int, int] = (16, C.PAGE_64K), l2_page: int = C.PAGE_64K):
    """An AdversarialL1 built as its ``initialize`` rule would, outside hypothesis."""
    STATS.reset()
    m = AdversarialL1()
    m.build(seed=0, table="array", kernel="4.20", l0_kernel="4.20", world=world, l2_page=l2_page)
    return m


# ----------------------------------------------------------------------------- the checks
def test_footprint_check_names_writes_outside_the_callers_claim():
    """Hand vectors: the caller's allotment, its PATE, its tables pass; the neighbour's
    memory, the neighbour's PATE, a table of the neighbour's tree and a free table
    address are each reported."""
    m = _machine()
    vm, other = m.vm, m.other_vm
    gp = next(iter(vm.nested.values()))
    pte = m.l0.ptab.base + 16 * vm.lpid
    ok = [vm.mem_base, vm.mem_base + vm.mem_size - 8, pte, m.l0.ptab.base + 16 * gp.shadow_lpid]
    ok += [vm.pgtable.root + 8, gp.shadow_pgtable.tables[-1]]
    assert m._footprint(vm, ok, {}, set()) == []
    bad = [
        other.mem_base + 0x1000,
        m.l0.ptab.base + 16 * other.lpid,
        other.pgtable.root,
        m.l0.table_alloc.end - 8,
    ]
    found = m._footprint(vm, bad, {}, set())
    assert len(found) == 4, found
    assert any("memory of LPID" in f for f in found) and any("PATE of LPID" in f for f in found)
    assert any("not one of the caller's trees" in f for f in found)
    assert any("not in any allocated table" in f for f in found)
    # a table freed during the call was the caller's: writing it before the free is fine
    assert m._footprint(vm, [other.pgtable.root], {other.pgtable.root: 8 << 13}, set()) == []


def test_read_footprint_names_reads_of_the_neighbour():
    """Hand vectors for reads: the caller's memory and tables, L0's partition table pass;
    a read straddling into the neighbour's memory and one of the neighbour's shadow
    tables are reported."""
    m = _machine()
    vm, other = m.vm, m.other_vm
    gp = next(iter(other.nested.values()))
    ok = [(vm.mem_base, 4096), (vm.pgtable.root, 8 << 13), (m.l0.ptab.base, 16)]
    assert m._read_footprint(vm, ok) == []
    bad = [(other.mem_base - 8, 16), (gp.shadow_pgtable.root + 64, 8)]
    found = m._read_footprint(vm, bad)
    assert len(found) == 2 and "memory of LPID" in found[0] + found[1], found
    assert any("a table of LPID" in f for f in found)


def test_footprint_check_fails_an_hcall_that_reads_the_neighbour(monkeypatch):
    """A patched hcall that reads the neighbour's memory raises FootprintViolation."""
    from pynest.kvm import hcalls as H

    m = _machine()
    raw = H.do_hcall

    def nosy(vm, nr, *args, vcpu=0):  # noqa: ANN001, ANN202
        m.l0.mem.read(m.other_vm.mem_base + 0x100, 16)
        return raw(vm, nr, *args, vcpu=vcpu)

    monkeypatch.setattr("pynest.kvm.l1.do_hcall", nosy)
    with pytest.raises(FootprintViolation, match="read 0x"):
        m.l1.hcall(H.H_CEDE)


def test_footprint_check_fails_an_hcall_that_writes_the_neighbour(monkeypatch):
    """The guarded hcall raises FootprintViolation when L0 (here a patched H_CEDE
    handler) writes a doubleword of the other L1 during the hcall."""
    from pynest.kvm import hcalls as H

    m = _machine()
    target = m.other_vm.mem_base + 0x2000
    raw = H.do_hcall

    def hostile(vm, nr, *args, vcpu=0):  # noqa: ANN001, ANN202
        m.l0.mem.write_u64(target, 0xBAD)
        return raw(vm, nr, *args, vcpu=vcpu)

    monkeypatch.setattr("pynest.kvm.l1.do_hcall", hostile)
    with pytest.raises(FootprintViolation, match="memory of LPID"):
        m.l1.hcall(H.H_CEDE)


def test_teardown_catches_a_table_left_behind():
    """The end-of-run baseline check: a table L0 still holds after every L1 was
    destroyed fails the run; without it the run passes and L0 is back to baseline."""
    m = _machine()
    m.teardown()
    assert STATS.resources[-1][2]["table bytes"] == m.baseline["table bytes"]
    m = _machine()
    m.l0.table_alloc.alloc(4096)  # a leak
    with pytest.raises(AssertionError, match="table bytes"):
        m.teardown()


# ----------------------------------------------------------------------------- the finds
def test_regression_destroy_l1_frees_l0s_partition_tree_for_it():
    """Found by the end-of-run baseline check (at e4944d9): ``L0.destroy_l1`` released
    the nested guests and the LPID but kept L0's partition-scoped tree for the L1
    (``kvm->arch.pgtable``): 76,032 table bytes per destroyed two_l2s L1, never reused.
    4.20 ``kvmppc_core_destroy_vm_hv`` calls ``kvmppc_free_radix`` (book3s_64_mmu_radix.c:
    ``kvmppc_free_pgtable_radix`` then ``pgd_free``) before the PATE is cleared."""
    l0 = L0()
    base = l0_resources(l0)
    for _ in range(3):
        w = W.two_l2s(0, run=True)
        vm = l0.create_l1(256 * _MB)
        # the same tree shape in this L0: back every page the world's L1 backed
        for m in w.vm.pgtable.mappings():
            vm.instantiate_page(m.addr, writing=True)
        assert l0.table_alloc.in_use > base["table bytes"]
        l0.destroy_l1(vm)
        after = l0_resources(l0)
        assert after["table bytes"] == base["table bytes"], after
        assert after["LPIDs free"] == base["LPIDs free"]


@pytest.mark.parametrize(
    "world", [(12, C.PAGE_64K), (12, C.PAGE_2M), (16, C.PAGE_2M), (12, C.PAGE_1G)]
)
def test_regression_thp_collapse_then_a_larger_shadow_page_in_the_same_2m(world):
    """Found by the campaign at e4944d9 (round 0 of ``fuzz.py --seed 7``, issue 13 A):
    a 4K L0 backing the L1 with 64K pages; the L1 maps an arena 2M region with 4K
    leaves, the L2 stores there (4K shadow PTEs, a 2^9 shadow table), the L1 collapses
    the region into one 2M leaf invalidating only one old page, and the L2's store to
    another 64K of the region wanted a 64K shadow PTE in that table: ConfigError out of
    H_ENTER_NESTED. 4.20 ``kvmppc_create_pte`` replaces a lower-level table by the new
    leaf (``kvmppc_unmap_free_pmd_entry_table``); a 4K L0 now refuses 64K backing
    (the world falls back to 4K). Each world runs the same rules (64K L0s with 64K
    leaves); both stores land."""
    m = _machine(world, l2_page=C.PAGE_64K)
    if world == (12, C.PAGE_64K):
        assert m.vm.backing == C.PAGE_4K  # refused, fell back to L0's PAGE_SIZE
    small = C.PAGE_4K if world[0] == 12 else C.PAGE_64K  # a 64K L0 shadows no 4K page
    m.arena_map(pick=0, region=0, size=small, first=0, count=4, touch=None)
    m.arena_touch(pick=0, touches=[(0, 1)], store=True, value=0x1111)
    m.arena_collapse(pick=0, region=0, inval="one", touch=None)
    m.arena_touch(pick=0, touches=[(0, 0x30000 // 8)], store=True, value=0x2222)
    l2 = m._live(0)
    peek = m.vm.read_guest
    assert peek(128 * _MB + 0x30000, 8) == (0x2222).to_bytes(8, "big")
    assert peek(128 * _MB + 0x8, 8) == (0x1111).to_bytes(8, "big")
    assert l2.regs.nip == W.CODE_EA + 8  # both ops ran; the L2 ceded
    m.isolation()
    m.teardown()


def test_regression_l1_tree_pde_with_unaligned_nlb_gives_a_pynest_error():
    """Found by ``fuzz.py --seed 8`` (round 4) on the fixed tree: the L1's tree
    surgery turned a leaf into a directory (its R bit, 0x100, lands in NLB), and the
    L1's own page-in of an L2 page (L2Space.to_hra -> map_l2_page -> lookup) raised a
    bare AssertionError (RadixTree.map follows entry & PDE_NLB, find_leaf masks NLB to
    the table size). An L1 helper may refuse its own garbage, with a PynestError that
    says what is wrong; it must not assert (fixed in 07f55f7: a ConfigError naming the
    L2 and the address). Minimal form: root entry 0 of the L1's tree for the L2 gets
    NLB | 0x100 (NLS still 9), then the L1 touches L2 page 0x20000."""
    w = W.one_l1(0)
    l2 = w.l1.create_l2(4 << 20)
    w.l1.map_l2_page(l2, 0)
    root = l2.tree.root
    pde = int.from_bytes(w.vm.read_guest(root, 8), "big")
    w.vm.write_guest(root, (pde | 0x100).to_bytes(8, "big"))
    with pytest.raises(PynestError, match="0x20000"):
        L2Space(w.l1, l2).to_hra(0x20000)
