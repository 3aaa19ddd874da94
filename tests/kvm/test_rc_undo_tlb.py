"""Issue 13 J: a walk that needs partition-scoped R/C leaves no TLB entry caching the C
it wanted, and a smaller entry for the same EA is kept (the first fix removed the entry
the walk filled instead of the smaller one, which let the next store complete with C=0
in the shadow PTE and in L0's PTE; since issue 14 the walk faults before filling)."""

import pytest

from pynest.kvm import shadow as S
from pynest.kvm.hcalls import H_CEDE
from pynest.kvm.host import L0, L1_LPCR
from pynest.kvm.l1 import L1
from pynest.kvm.program import Hcall, Load, Program, Store
from pynest.mmu import constants as C
from pynest.mmu.xlate import CpuState

EA = 0x1000_0000
GPA = 0x0080_0000  # L2 real, 64K aligned


def _world():
    """A 4.20 L0 (64K pages), an L1 that leaves R/C of its L2 PTEs to be set on demand,
    and an L2 whose kernel maps EA with a 4K page."""
    l0 = L0(kernel="4.20")
    vm = l0.create_l1(256 << 20)
    l1 = L1(vm)
    assert l1.nested_init() == 0
    l2 = l1.create_l2(16 << 20, page_size=C.PAGE_64K, set_rc=False)
    l1.l2_map(l2, EA, GPA, C.PAGE_4K, "rw")
    return l0, vm, l1, l2


def _run(l1, l2, op):
    l1.load_program(l2, Program((op, Hcall(H_CEDE)), fetch=False))
    res = l1.run_l2(l2)
    assert res.stopped == "ceded", res
    return res


def _cpu(l0, gp, l2):
    return CpuState(
        ptcr=l0.ptcr, lpidr=gp.shadow_lpid, pidr=l2.pid, lpcr=L1_LPCR, msr=C.MSR_GUEST_KERNEL
    )


def _stale_c(l0, gp):
    """TLB entries for EA that cache a partition-scoped PTE with C the shadow PTE lacks."""
    shadow = gp.shadow_pgtable.find_leaf(GPA)[1]
    return [
        e
        for e in l0.tlb
        if e.lpid == gp.shadow_lpid
        and e.covers(EA)
        and e.part_pte is not None
        and e.part_pte & C.PTE_C
        and not shadow & C.PTE_C
    ]


def _shadow_pte(vm, l2):
    gp = vm.nested.find(l2.l1_lpid)
    found = gp.shadow_pgtable.find_leaf(GPA)
    assert found is not None
    return gp, found[1]


def _story():
    """The L2 loads EA through its 4K page (the TLB keeps a 4K entry whose cached
    shadow PTE has no C), then its kernel remaps EA as a 64K page without a tlbie:
    the 4K entry stays, and the store's walk fills a 64K entry for the same EA."""
    l0, vm, l1, l2 = _world()
    _run(l1, l2, Load(EA))
    gp, pte = _shadow_pte(vm, l2)
    assert not pte & C.PTE_C  # L0 backed the page on a read: its PTE (and so this) lacks C
    small = [e for e in l0.tlb if e.lpid == gp.shadow_lpid and e.covers(EA)]
    assert [e.page_size for e in small] == [C.PAGE_4K]
    tree = l1.process_tree(l2)
    tree.unmap(EA)
    tree.map(EA, GPA, C.PAGE_64K, "rw", r=True, c=True, replace=True)
    return l0, vm, l1, l2, gp


def test_store_after_rc_undo_sets_c_in_shadow_and_l0_pte():
    l0, vm, l1, l2, gp = _story()
    _run(l1, l2, Store(EA + 8, 0xD1D1))
    _gp, pte = _shadow_pte(vm, l2)
    assert pte & C.PTE_C, "the store completed with C=0 in the shadow PTE"
    l1_gpa = l2.l1_gpa_base + GPA
    _slot, l0_pte, _shift = vm.find_pte(l1_gpa)
    assert l0_pte & C.PTE_C, "the store completed with C=0 in L0's PTE for the L1 page"
    # the L1 saw the SET_RC fault (its PTE lacked R/C), set them, and L0 then set C
    rc_updates = [e for e in l0.events.filter("rc-update") if e.l1_lpid == l2.l1_lpid]
    assert {e.detail.split(" in ")[1].split(" @")[0] for e in rc_updates} == {
        "L0 PTE of the L1",
        "shadow PTE",
    }
    assert l0.mem.read_u64(vm.mem_base + l1_gpa + 8) == 0xD1D1


def test_the_faulting_walk_keeps_the_smaller_entry_and_fills_none():
    """hw_translate directly: the store's walk needs C in the shadow PTE; afterwards the
    smaller entry is still there, no 64K entry was filled, and memory is unchanged."""
    l0, vm, l1, l2, gp = _story()
    small_before = {e for e in l0.tlb if e.lpid == gp.shadow_lpid and e.covers(EA)}
    cpu = _cpu(l0, gp, l2)
    _slot, before = gp.shadow_pgtable.find_leaf(GPA)[:2]
    t = S.hw_translate(l0, cpu, EA, "store")
    assert t.fault is not None and t.fault.interrupt == "HDSI"
    assert t.fault.cause & C.DSISR_ATOMIC_RC and t.fault.cause & C.DSISR_ISSTORE
    after = {e for e in l0.tlb if e.lpid == gp.shadow_lpid and e.covers(EA)}
    assert after == small_before  # the 4K entry kept, no 64K entry left behind
    assert _stale_c(l0, gp) == []
    assert gp.shadow_pgtable.find_leaf(GPA)[1] == before  # no R/C was written


@pytest.mark.parametrize("extra", [C.PAGE_4K, C.PAGE_64K])
def test_a_filled_entry_with_no_smaller_neighbour_is_removed(extra):
    """Without a stale smaller entry (``extra`` is the L2's page size for EA) the rule
    is the same: the faulting store fills nothing, so the only entry for EA is the
    load's, and it caches no C (it cannot serve a store: a store through it re-walks)."""
    l0, vm, l1, l2 = _world()
    if extra == C.PAGE_64K:
        tree = l1.process_tree(l2)
        tree.unmap(EA)
        tree.map(EA, GPA, C.PAGE_64K, "rw", r=True, c=True, replace=True)
    _run(l1, l2, Load(EA))
    gp, _pte = _shadow_pte(vm, l2)
    cpu = _cpu(l0, gp, l2)
    S.hw_translate(l0, cpu, EA, "store")  # the first store: the walk faults
    before = [e for e in l0.tlb if e.lpid == gp.shadow_lpid and e.covers(EA)]
    t = S.hw_translate(l0, cpu, EA, "store")
    assert t.fault is not None and t.fault.cause & C.DSISR_ATOMIC_RC
    assert _stale_c(l0, gp) == []
    after = [e for e in l0.tlb if e.lpid == gp.shadow_lpid and e.covers(EA)]
    assert after == before and all(not e.part_pte & C.PTE_C for e in after)
