"""H_TLB_INVALIDATE IS=3 RIC=2 on the real kvm model: kvmhv_emulate_tlbie_all_lpid.

Hand-checked against 4.20.1 ``arch/powerpc/kvm/book3s_hv_nested.c``. The IS=3 loop takes
``nested_guests[i]`` without a reference (:894-899) and calls
``kvmhv_emulate_tlbie_lpid`` (:857-886), which locks ``gp->tlb_lock`` (:862) and for
RIC=2 calls ``kvmhv_flush_nested`` (:880). That re-reads the L1's entry (:586); if it is
0, ``kvmhv_remove_nested`` (:588) clears the slot and drops the slot's reference (:531);
with no other holder the count is 0 and ``kvmhv_release_nested`` (:536) frees the struct
(kfree :514). Then :885 unlocks the mutex inside the freed struct.

To reach that path with the guest still in L0's table the L1 must store the zero entry
without the IS=2 flush a Linux L1's ``kvmhv_set_ptbl_entry`` issues right after (no
Linux L1 issues IS=3 H_TLB_INVALIDATE; any L1 may). So the tests store the entry into
L1 memory themselves and then make the hcall the way an L1 would, through ``do_hcall``.
"""

import pytest

from pynest.kvm.hcalls import H_CEDE, H_SUCCESS, H_TLB_INVALIDATE, do_hcall
from pynest.kvm.host import L0
from pynest.kvm.l1 import L1, h_tlbie_p1_enc
from pynest.kvm.nested import get_nested, lifecycle_violations, put_nested
from pynest.kvm.program import Hcall, Program
from pynest.mmu import constants as C
from pynest.scenarios import CODE_EA

IS3 = 3 << 10  # RB: IS = 3, invalidate all LPIDs


def world(n_l2s=1, table="array"):
    l0 = L0(nested_table=table)
    vm = l0.create_l1(256 << 20)
    l1 = L1(vm)
    assert l1.nested_init() == H_SUCCESS
    l2s = []
    for _ in range(n_l2s):
        l2 = l1.create_l2(16 << 20)
        l1.l2_map(l2, CODE_EA, 0x40_0000, C.PAGE_4K, "x")
        l1.load_program(l2, Program((Hcall(H_CEDE),), entry=CODE_EA))
        assert l1.run_l2(l2).stopped == "ceded"  # now L0 has a nested guest for it
        l2s.append(l2)
    return l0, vm, l1, l2s


def zero_entry_in_l1_memory(l1, lpid):
    """The L1 stores 0/0 into row ``lpid`` of its partition table, and nothing else."""
    row = (l1.ptcr & C.PTCR_PATB) + 16 * lpid
    l1.vm.space.write_u64(row, 0)
    l1.vm.space.write_u64(row + 8, 0)


def tlbie_all(vm, ric):
    return do_hcall(vm, H_TLB_INVALIDATE, h_tlbie_p1_enc(ric, 0, 1), 0, IS3)


@pytest.mark.parametrize("table", ["array", "dynamic"])
def test_is3_ric2_frees_the_guest_then_unlocks_its_tlb_lock(table):
    l0, vm, l1, (l2,) = world(table=table)
    gp = vm.nested.find(l2.l1_lpid)
    assert gp.refcnt == 1 and not gp.tlb_locked  # the slot's reference only
    shadow = gp.shadow_lpid
    zero_entry_in_l1_memory(l1, l2.l1_lpid)
    mark = l0.events.mark()
    assert tlbie_all(vm, 2) == H_SUCCESS
    # the kernel's order: re-read 0, remove (refcnt 0), release, *then* the unlock
    kinds = [e.kind for e in l0.events.since(mark)]
    lifecycle = [k for k in kinds if k in ("ptbl-cache", "nested-remove", "nested-free")]
    assert lifecycle == ["ptbl-cache", "nested-remove", "nested-free"]
    assert kinds.index("nested-free") < kinds.index("use-after-free") < kinds.index("hcall-return")
    assert l0.events.count("use-after-free") == 1 and l0.events.count("nested-free") == 1
    free = l0.events.last("nested-free")
    assert free.detail == "kfree with its tlb_lock still held"
    uaf = l0.events.last("use-after-free")
    assert (uaf.lpid, uaf.l1_lpid, uaf.shadow_lpid) == (vm.lpid, l2.l1_lpid, shadow)
    assert uaf.detail == (
        "kvmhv_emulate_tlbie_lpid (4.20.1 book3s_hv_nested.c:885): "
        "mutex_unlock(&gp->tlb_lock) on a nested guest that kvmhv_release_nested already freed"
    )
    # the guest is gone exactly as the kernel leaves it
    assert gp.freed and gp.refcnt == 0 and not gp.tlb_locked
    assert vm.nested.find(l2.l1_lpid) is None and vm.nested.max_nested_lpid == -1
    assert shadow not in l0.lpids.inuse and l0.ptab.raw(shadow) == (0, 0)
    assert gp.shadow_pgtable is None
    (bad,) = lifecycle_violations(l0)
    assert bad.kind == "use-after-free" and bad.lpid == vm.lpid and ":885" in bad.text


def test_a_vcpu_holding_a_reference_keeps_the_guest_alive_past_the_unlock():
    # vcpu 1 is inside H_ENTER_NESTED for the L2 (kvmhv_enter_nested_guest :236 holds a
    # reference until :300): the remove drops the slot's reference to 1, nothing is freed
    l0, vm, l1, (l2,) = world()
    held = get_nested(vm, l2.l1_lpid, False)
    vm.vcpus[1].nested = held
    assert held.refcnt == 2
    zero_entry_in_l1_memory(l1, l2.l1_lpid)
    assert tlbie_all(vm, 2) == H_SUCCESS
    assert l0.events.count("use-after-free") == 0 and l0.events.count("nested-free") == 0
    assert not held.freed and held.refcnt == 1 and vm.nested.find(l2.l1_lpid) is None
    assert held.shadow_lpid in l0.lpids.inuse
    assert lifecycle_violations(l0) == []
    vm.vcpus[1].nested = None  # H_ENTER_NESTED returns: kvmhv_put_nested frees it
    put_nested(held)
    assert held.freed and l0.events.count("use-after-free") == 0
    assert lifecycle_violations(l0) == []


def test_is2_ric2_takes_a_reference_and_is_safe():
    # the same zeroed entry flushed with IS=2 (kvmhv_emulate_priv_tlbie :946-949): the
    # put after the unlock frees it
    l0, vm, l1, (l2,) = world()
    gp = vm.nested.find(l2.l1_lpid)
    zero_entry_in_l1_memory(l1, l2.l1_lpid)
    mark = l0.events.mark()
    assert l1.flush_lpid(l2.l1_lpid, ric=2) == H_SUCCESS
    kinds = [e.kind for e in l0.events.since(mark)]
    assert kinds.index("nested-remove") < kinds.index("nested-put") < kinds.index("nested-free")
    assert gp.freed and l0.events.count("use-after-free") == 0
    assert lifecycle_violations(l0) == []


def test_is3_without_a_zero_entry_or_without_ric2_frees_nothing():
    l0, vm, l1, (l2,) = world()
    gp = vm.nested.find(l2.l1_lpid)
    assert tlbie_all(vm, 2) == H_SUCCESS  # the entry is still valid: re-read, kept
    assert not gp.freed and vm.nested.find(l2.l1_lpid) is gp
    zero_entry_in_l1_memory(l1, l2.l1_lpid)
    for ric in (0, 1):  # RIC 0 drops the shadow tree, RIC 1 does nothing; no re-read
        assert tlbie_all(vm, ric) == H_SUCCESS
        assert not gp.freed and vm.nested.find(l2.l1_lpid) is gp and not gp.tlb_locked
    assert l0.events.count("use-after-free") == 0 and lifecycle_violations(l0) == []


def test_the_loop_goes_on_after_a_freed_guest():
    # three L2s, entries 1 and 3 zeroed: 1 and 3 are freed (one use after free each, in
    # lpid order); 2 is flushed and kept; max_nested_lpid walks down from 3 to 2
    l0, vm, l1, l2s = world(3)
    gps = [vm.nested.find(l2.l1_lpid) for l2 in l2s]
    assert [g.l1_lpid for g in gps] == [1, 2, 3] and vm.nested.max_nested_lpid == 3
    zero_entry_in_l1_memory(l1, 1)
    zero_entry_in_l1_memory(l1, 3)
    assert tlbie_all(vm, 2) == H_SUCCESS
    assert [g.freed for g in gps] == [True, False, True]
    assert [e.l1_lpid for e in l0.events.filter("use-after-free")] == [1, 3]
    assert [lpid for lpid, _g in vm.nested.items()] == [2]
    assert vm.nested.max_nested_lpid == 2
    assert [v.kind for v in lifecycle_violations(l0)] == ["use-after-free", "use-after-free"]


def test_lifecycle_checker_reports_a_broken_table():
    l0, vm, l1, (l2,) = world()
    gp = vm.nested.find(l2.l1_lpid)
    gp.tlb_locked = True
    gp.refcnt = 0
    vm.nested.max_nested_lpid = 5
    kinds = sorted(v.kind for v in lifecycle_violations(l0))
    assert kinds == ["max_nested_lpid", "slot", "tlb_lock"]
    gp.tlb_locked, gp.refcnt, vm.nested.max_nested_lpid = False, 1, 1
    vm.vcpus[0].nested = gp
    gp.freed = True
    assert sorted(v.kind for v in lifecycle_violations(l0)) == ["refcnt", "slot"]
