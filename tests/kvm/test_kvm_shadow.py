"""Nested page faults, shadow PTEs, R/C on the L1's behalf, invalidation, copy."""

import pytest

from pynest.kvm import shadow as S
from pynest.kvm.constants import EFAULT, EINVAL, ENOENT, RMAP_NESTED_IS_SINGLE_ENTRY
from pynest.kvm.hcalls import (
    H_CEDE,
    H_COPY_TOFROM_GUEST,
    H_NO_MEM,
    H_NOT_FOUND,
    H_PARAMETER,
    H_SUCCESS,
    H_TLB_INVALIDATE,
    do_hcall,
)
from pynest.kvm.host import L0
from pynest.kvm.l1 import L1, h_tlbie_p1_enc
from pynest.kvm.nested import get_nested, put_nested
from pynest.kvm.program import Hcall, Load, Program, Store
from pynest.kvm.radix import rmap_head, shadow_leaves
from pynest.mmu import constants as C

DATA = 0x1000_0000


def world(backing=None, page_size=C.PAGE_64K, set_rc=True, perms="rwx", ops=None, kernel="4.20"):
    l0 = L0(kernel=kernel)
    vm = l0.create_l1(1 << 30 if backing == C.PAGE_1G else 256 << 20, backing=backing)
    l1 = L1(vm)
    assert l1.nested_init() == 0
    l2 = l1.create_l2(16 << 20, page_size=page_size, set_rc=set_rc, perms=perms)
    l1.l2_map(l2, 0, 0x300000, perms="x")
    l1.l2_map(l2, DATA, 0x200000, perms="rw")
    ops = ops or (Store(DATA + 8, 0x1234), Load(DATA + 8), Hcall(H_CEDE))
    l1.load_program(l2, Program(tuple(ops)))
    return l0, vm, l1, l2


def gp_of(vm, l2):
    gp = get_nested(vm, l2.l1_lpid, False)
    put_nested(gp)
    return gp


def test_first_run_flow_and_shadow_pte_bits():
    l0, vm, l1, l2 = world()
    res = l1.run_l2(l2)
    assert res.stopped == "ceded"
    # the L1 saw: the code page missing (HISI), the data page missing (HDSI), the cede
    assert res.returns == (0xE20, 0xE00, 0xC00)
    assert l2.regs.gpr[3] == H_CEDE
    gp = gp_of(vm, l2)
    leaves = {a: (pte, sh) for a, _s, pte, sh in shadow_leaves(gp)}
    # data page: L1 PTE rwx + R + C, host PTE rwx + R + C (instantiated for the write):
    # V|L | host RPN | R | C | rwx -- the intersection keeps everything
    host = vm.mem_base + l2.l1_gpa_base + 0x200000
    assert leaves[0x200000] == (C.PTE_V | C.PTE_L | host | 0x100 | 0x80 | 0x7, 16)
    # code page: C removed (_PAGE_DIRTY only when the L1 PTE has C *and* this is a write)
    code = vm.mem_base + l2.l1_gpa_base + 0x300000
    assert leaves[0x300000] == (C.PTE_V | C.PTE_L | code | 0x100 | 0x7, 16)
    assert rmap_head(vm, (l2.l1_gpa_base + 0x200000) >> 16) == (
        (0x200000 | l2.l1_lpid << 52) | RMAP_NESTED_IS_SINGLE_ENTRY
    )
    # the shadow LPID's real PATE names the shadow tree and the L2's process table
    dw0, dw1 = l0.ptab.raw(gp.shadow_lpid)
    assert dw0 & C.RPDB_MASK == gp.shadow_pgtable.root and dw1 == l2.prtab.dw1 | C.PATE1_GR


def test_second_run_needs_no_l1_help():
    l0, vm, l1, l2 = world()
    l1.run_l2(l2)
    l1.load_program(l2, Program((Load(DATA + 8), Hcall(H_CEDE))))
    mark = l0.events.mark()
    res = l1.run_l2(l2)
    assert res.returns == (0xC00,)
    assert l0.events.filter("nested-fault", start=mark) == []
    assert l2.regs.gpr[3] == H_CEDE


def test_rc_bits_are_set_on_the_l1s_behalf():
    """kvmhv_handle_nested_set_rc (5.0 R/C rule): first the L1 must set R itself, then
    L0 does it."""
    l0, vm, l1, l2 = world(set_rc=False, ops=(Load(DATA), Hcall(H_CEDE)), kernel="5.0")
    res = l1.run_l2(l2)
    assert res.stopped == "ceded"
    handled = [e.detail for e in l0.events.filter("l1-handle", trap=0xE00)]
    assert "set R/C in its PTE" in handled
    rc = l0.events.filter("rc-update")
    assert rc, "L0 set R in its PTE for the L1 and in the shadow PTE"
    assert l2.tree.lookup(0x200000).pte & C.PTE_R


@pytest.mark.parametrize(
    "backing, l1_page, shadow_size",
    [
        (None, C.PAGE_64K, C.PAGE_64K),
        (C.PAGE_2M, C.PAGE_64K, C.PAGE_64K),  # L0 2M, L1 64K -> 64K (sub-page of the 2M)
        (None, C.PAGE_2M, C.PAGE_64K),  # L0 64K, L1 2M -> 64K
        (C.PAGE_2M, C.PAGE_2M, C.PAGE_2M),
        (C.PAGE_1G, C.PAGE_2M, C.PAGE_2M),  # PMD_SHIFT < l1_shift? no: 21 == 21 -> PAGE
    ],
)
def test_shadow_page_is_the_smaller_size(backing, l1_page, shadow_size):
    l0, vm, l1, l2 = world(backing=backing, page_size=l1_page)
    l1.run_l2(l2)
    gp = gp_of(vm, l2)
    got = {a: 1 << sh for a, _s, _p, sh in shadow_leaves(gp)}
    data = 0x200000 & -shadow_size
    if backing == C.PAGE_1G and l1_page == C.PAGE_2M:
        # __kvmhv_nested_page_fault: shift 30 > l1_shift 21; PMD_SHIFT (21) < 21 is false
        # -> actual_shift = PAGE_SHIFT: a 64K shadow PTE
        assert got[data] == C.PAGE_64K
    else:
        assert got[data] == shadow_size
    # and the bytes landed in the right host page
    hpa = l0.events.filter("l2-access")[0].hpa
    assert hpa == vm.mem_base + l2.l1_gpa_base + 0x200008


def test_l1_4k_pages_on_a_64k_l0_are_refused():
    l0, vm, l1, l2 = world(page_size=C.PAGE_4K)
    res = l1.run_l2(l2, max_entries=4)
    err = l0.events.filter("error")
    assert err and "less than our own" in err[0].detail  # -EINVAL in the kernel
    assert res.returns[-1] in (0xE00, 0xE20)


def test_tlbie_single_page_removes_exactly_that_page():
    l0, vm, l1, l2 = world(ops=(Store(DATA, 1), Store(DATA + 0x10000, 2), Hcall(H_CEDE)))
    l1.l2_map(l2, DATA + 0x10000, 0x210000, perms="rw")
    l1.run_l2(l2)
    gp = gp_of(vm, l2)
    before = {a for a, *_ in shadow_leaves(gp)}
    assert {0x200000, 0x210000} <= before
    tlb_before = len(l0.tlb)
    assert l1.unmap_l2_page(l2, 0x200000) == H_SUCCESS
    after = {a for a, *_ in shadow_leaves(gp)}
    assert after == before - {0x200000}
    assert all(e.gra is None or e.gra != 0x200000 for e in l0.tlb if e.lpid == gp.shadow_lpid)
    assert len(l0.tlb) < tlb_before
    # the L2 touches it again: L0 finds no L1 mapping and reflects NOHPTE to the L1
    l1.load_program(l2, Program((Load(DATA), Hcall(H_CEDE))))
    res = l1.run_l2(l2)
    assert res.returns[0] == 0xE00 and res.stopped == "ceded"


@pytest.mark.parametrize(
    "instr, rb",
    [
        (h_tlbie_p1_enc(0, 0, 0), 0),  # R=0: HPT not supported
        (h_tlbie_p1_enc(0, 1, 1), 0),  # PRS=1
        (h_tlbie_p1_enc(3, 0, 1), 0x800),  # RIC=3
        (h_tlbie_p1_enc(0, 0, 1), 1 << 10),  # IS=1
        (h_tlbie_p1_enc(1, 0, 1), 0),  # IS=0 with RIC 1
        (h_tlbie_p1_enc(2, 0, 1), 0),  # IS=0 with RIC 2
        (h_tlbie_p1_enc(0, 0, 1), 3 << 5),  # AP 3: no page size
    ],
)
def test_tlbie_invalid_forms(instr, rb):
    _l0, vm, l1, l2 = world()
    assert do_hcall(vm, H_TLB_INVALIDATE, instr, l2.l1_lpid, rb) == H_PARAMETER


def test_tlbie_lpid_ric0_ric1_ric2_and_all():
    l0, vm, l1, l2 = world()
    l1.run_l2(l2)
    gp = gp_of(vm, l2)
    n = len(shadow_leaves(gp))
    assert n >= 2
    assert l1.flush_lpid(l2.l1_lpid, ric=1) == H_SUCCESS  # PWC: nothing cached
    assert len(shadow_leaves(gp)) == n
    assert l1.flush_lpid(l2.l1_lpid, ric=0) == H_SUCCESS  # the whole shadow tree
    assert shadow_leaves(gp) == [] and not gp.freed
    assert not [e for e in l0.tlb if e.lpid == gp.shadow_lpid]
    # RIC=2 with the entry still valid: re-read, guest kept
    assert l1.flush_lpid(l2.l1_lpid, ric=2) == H_SUCCESS and not gp.freed
    # IS=3 (all lpids), RIC=2 after the L1 zeroed the entry in its memory (without
    # kvmhv_set_ptbl_entry, whose own IS=2 flush would remove the guest first): it goes
    base = l1.ptcr & C.PTCR_PATB
    vm.space.write_u64(base + 16 * l2.l1_lpid, 0)
    vm.space.write_u64(base + 16 * l2.l1_lpid + 8, 0)
    assert not gp.freed
    assert do_hcall(vm, H_TLB_INVALIDATE, h_tlbie_p1_enc(2, 0, 1), 0, 3 << 10) == H_SUCCESS
    assert gp.freed and vm.nested.find(l2.l1_lpid) is None
    assert gp.shadow_lpid not in l0.lpids.inuse
    assert l0.events.last("use-after-free") is not None  # 4.20.1 :885, see test_tlbie_all_lpid


def test_destroy_l2_frees_its_shadow():
    l0, vm, l1, l2 = world()
    l1.run_l2(l2)
    gp = gp_of(vm, l2)
    assert l1.destroy_l2(l2) == H_SUCCESS
    assert gp.freed and l0.ptab.raw(gp.shadow_lpid) == (0, 0)


def test_l0_unmapping_an_l1_page_uses_the_rmap():
    l0, vm, l1, l2 = world(ops=(Store(DATA, 1), Store(DATA + 0x10000, 2), Hcall(H_CEDE)))
    l1.l2_map(l2, DATA + 0x10000, 0x210000, perms="rw")
    l1.run_l2(l2)
    gp = gp_of(vm, l2)
    vm.unmap_page(l2.l1_gpa_base + 0x200000)
    left = {a for a, *_ in shadow_leaves(gp)}
    assert 0x200000 not in left and 0x210000 in left
    assert l0.events.last("l0-unmap").l1_gpa == l2.l1_gpa_base + 0x200000


def test_walk_l1_tree_errors():
    _l0, vm, l1, l2 = world()
    l1.run_l2(l2)
    root = C.PATE0_HR | l2.tree.dw0
    assert S.walk_l1_tree(vm, root, 0x900000)[0] == -ENOENT
    assert S.walk_l1_tree(vm, root & ~C.RTS1_MASK, 0)[0] == -EINVAL  # not a 52-bit tree
    ret, gpte, _ = S.walk_l1_tree(vm, root, 0x200008)
    assert ret == 0 and gpte.raddr == l2.l1_gpa_base + 0x200008 and gpte.page_shift == 16
    bad = (root & ~C.RPDB_MASK) | (vm.mem_size & C.RPDB_MASK)  # root past L1 memory
    ret, _, addr = S.walk_l1_tree(vm, bad, 0)
    assert ret == -EFAULT and addr == vm.mem_size


def test_copy_tofrom_guest():
    l0, vm, l1, l2 = world(kernel="5.0")
    l1.run_l2(l2)
    rc, data = l1.copy_from_l2(l2, DATA + 8, 8)
    assert rc == H_SUCCESS and int.from_bytes(data, "big") == 0x1234
    src = l1.alloc.alloc(8)
    vm.write_guest(src, (0xABCD).to_bytes(8, "big"))
    assert do_hcall(vm, H_COPY_TOFROM_GUEST, l2.l1_lpid, l2.pid, DATA, 0, src, 8) == H_SUCCESS
    assert l1.copy_from_l2(l2, DATA, 8)[1] == (0xABCD).to_bytes(8, "big")
    buf = l1.alloc.alloc(8)
    cases = [
        ((l2.l1_lpid, l2.pid, DATA, buf, src, 8), H_PARAMETER),  # both directions
        ((l2.l1_lpid, l2.pid, DATA | 1 << 60, buf, 0, 8), H_PARAMETER),  # EA bits 0-11
        ((99, l2.pid, DATA, buf, 0, 8), H_PARAMETER),  # no such nested guest
        ((l2.l1_lpid, l2.pid, DATA + 0x50000, buf, 0, 8), H_NOT_FOUND),  # not in the shadow
        ((l2.l1_lpid, l2.pid, DATA, vm.mem_size, 0, 8), H_NOT_FOUND),  # L1 buffer outside
        ((l2.l1_lpid, l2.pid, DATA, buf, 0, 1 << 40), H_NO_MEM),  # kzalloc fails
    ]
    for args, rc in cases:
        assert do_hcall(vm, H_COPY_TOFROM_GUEST, *args) == rc, args
