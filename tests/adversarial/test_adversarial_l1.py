"""An L1 that does anything it can must not get out of its memory, nor crash L0.

Regression tests: each one is a bug an adversarial run found, with the input that found it.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pynest import scenarios as W
from pynest.errors import ConfigError
from pynest.kvm.constants import TREE_ADDR_MASK
from pynest.kvm.hcalls import H_CEDE, H_ENTER_NESTED, H_SUCCESS, H_TLB_INVALIDATE
from pynest.kvm.l1 import h_tlbie_p1_enc
from pynest.kvm.l2 import MAX_RESUMES
from pynest.kvm.nested import get_nested, put_nested
from pynest.kvm.program import Hcall, Load, Program, Spin, Store
from pynest.kvm.radix import create_shadow_pte, shadow_leaves
from pynest.kvm.tlbie import emulate_tlbie_tlb_addr
from pynest.memory import PhysicalMemory
from pynest.mmu import constants as C
from pynest.mmu.builder import Allocator, RadixTree
from pynest.mmu.tlb import TlbEntry

AP_OF_SHIFT = {12: 0, 16: 5, 21: 1, 30: 2}


def test_regression_tlbie_epn_above_52_bits_finds_the_low_52_bits():
    """H_TLB_INVALIDATE IS=0 with EPN bits above the 52 a tree translates raised
    AddressError out of the hcall. The kernel's lookup (__find_linux_pte, pgd_index)
    uses only the low 52 bits: EPN G | 1<<52 invalidates the shadow PTE of G."""
    w = W.two_l2s(0, run=True)
    l2 = w.l2s[0]
    gp = w.vm.nested.find(l2.l1_lpid)
    before = shadow_leaves(gp)
    gpa, _slot, _pte, shift = before[-1]
    for high in (1 << 52, 0xFFF << 52):
        rb = gpa | high | AP_OF_SHIFT[shift] << 5
        assert w.l1.hcall(H_TLB_INVALIDATE, h_tlbie_p1_enc(0, 0, 1), l2.l1_lpid, rb) == H_SUCCESS
    assert [leaf[0] for leaf in shadow_leaves(gp)] == [leaf[0] for leaf in before[:-1]]
    # the highest EPN with a 1G AP: the page loop's address wraps like an unsigned long
    rb = 0xFFFF_FFFF_C000_0000 | AP_OF_SHIFT[30] << 5
    assert w.l1.hcall(H_TLB_INVALIDATE, h_tlbie_p1_enc(0, 0, 1), l2.l1_lpid, rb) == H_SUCCESS
    assert W.isolation_violations(w.l0) == []


def test_regression_l2_nip_wraps_at_2_pow_64():
    """An L2 whose program sits at the top of the address space stepped its NIP to
    2**64, and the next fetch raised FieldError out of H_ENTER_NESTED. The NIA wraps
    (to 0 here, where the program has nothing: the L1 gets an emulation assist)."""
    w = W.two_l2s(0)
    l2 = w.l2s[0]
    w.l1.load_program(l2, Program((Spin(1), Hcall(H_CEDE)), entry=2**64 - 4))
    res = w.l1.run_l2(l2)
    assert res.returns == (0xE40,) and res.stopped == "ran past its program"
    assert l2.regs.nip == 0
    assert W.isolation_violations(w.l0) == []


def test_regression_store_to_execute_only_page_ends_at_the_hdec_deadline():
    """An L2 storing to the page it executes from, which its L1 maps execute-only,
    ping-pongs in L0 as in the kernel (the fetch's fault inserts an execute-only shadow
    PTE, the store's PROTFAULT removes it: __kvmhv_nested_page_fault's "inval" path).
    Time did not pass on exits, so H_ENTER_NESTED never returned. Now each exit costs a
    tick (the L1's HDEC deadline ends the run with 0x980) and an absurd deadline ends
    with a modelled signal (r3 = 0) after MAX_RESUMES re-entries."""
    w = W.one_l1(0)
    l1 = w.l1
    l2 = l1.create_l2(16 << 20)
    l1.l2_map(l2, W.CODE_EA, 0x400000, C.PAGE_4K, "rwx")
    l1.map_l2_page(l2, 0x400000)  # the L1 maps the code page execute-only
    l2.tree.set_pte_bits(0x400000, clear_bits=C.PTE_EAA_READ | C.PTE_EAA_RW)
    l1.load_program(l2, Program((Store(W.CODE_EA + 8, 1), Hcall(H_CEDE)), entry=W.CODE_EA))
    res = l1.run_l2(l2, slice_ticks=300, max_entries=2)
    assert res.returns == (0x980, 0x980) and res.stopped == "max_entries reached"
    assert w.l0.events.count("shadow-remove") > 100  # the ping-pong happened
    # a deadline that never comes: MAX_RESUMES re-entries, then H_INTERRUPT (r3 = 0)
    l1._write_state(l2, 0, 2**63)
    hv_gpa, regs_gpa = l1.buffers[0]
    mark = w.l0.events.mark()
    assert l1.hcall(H_ENTER_NESTED, hv_gpa, regs_gpa) == 0
    assert w.l0.events.last("hcall-return").detail == "H_INTERRUPT"
    assert len(w.l0.events.filter("resume", start=mark)) == MAX_RESUMES
    assert W.isolation_violations(w.l0) == []


def _l2_page_above_52_bits(seed=0):
    """An L2 whose process PTE gives guest real 1<<52 | 0xA00000 (a PTE's RPN has
    room for it; the 52-bit partition tree indexes only the low bits)."""
    w = W.two_l2s(seed, run=True)
    l1, l2 = w.l1, w.l2s[0]
    ea, gpa = 0x2000_0000, 0xA0_0000
    l1.l2_map(l2, ea, 1 << 52 | gpa, C.PAGE_4K, "rw")
    l1.map_l2_page(l2, gpa)
    l1.load_program(l2, Program((Store(ea, 5), Load(ea, rt=7), Hcall(H_CEDE)), entry=W.CODE_EA))
    return w, l2, gpa


def test_regression_l2_guest_real_address_above_52_bits():
    """The nested page fault for such an address raised AddressError out of
    H_ENTER_NESTED while building the shadow PTE. The kernel's n_gpa keeps bits 52-59,
    but the L1-tree walk, the shadow tree's index macros and the rmap use the low 52."""
    w, l2, gpa = _l2_page_above_52_bits()
    assert w.l1.run_l2(l2).stopped == "ceded" and l2.regs.gpr[7] == 5
    gp = w.vm.nested.find(l2.l1_lpid)
    assert gp.shadow_pgtable.lookup(gpa) is not None
    assert W.isolation_violations(w.l0) == []


def test_regression_unmapping_such_a_page_leaves_no_tlb_entry():
    """The L2's TLB entry for that access was tagged with guest real 1<<52 | 0xA00000,
    so the partition-scoped tlbie for 0xA00000 (L1 unmaps the page; L0 removes the
    shadow PTE) missed it: the L2 kept reaching a host page nothing mapped for it. A
    partition-scoped tlbie now compares the 52 bits the partition tree indexes."""
    w, l2, gpa = _l2_page_above_52_bits()
    w.l1.run_l2(l2)
    gp = w.vm.nested.find(l2.l1_lpid)
    hpa = gp.shadow_pgtable.lookup(gpa).ra
    assert [e for e in w.l0.tlb if e.lpid == gp.shadow_lpid and e.rpn == hpa]
    assert w.l1.unmap_l2_page(l2, gpa) == H_SUCCESS
    assert gp.shadow_pgtable.lookup(gpa) is None
    assert not [e for e in w.l0.tlb if e.lpid == gp.shadow_lpid and e.rpn == hpa]


def test_regression_l1_unmapping_a_root_level_leaf_says_why():
    """The L1 scribbled a leaf into the root of its tree for an L2 (a 512G page no AP
    names); L1.unmap_l2_page raised a bare KeyError from the AP lookup."""
    w = W.two_l2s(0, run=True)
    l2 = w.l2s[0]
    w.vm.space.write_u64(l2.tree.root, C.PTE_V | C.PTE_L | 0x187)  # PGD[0] is a leaf
    with pytest.raises(ConfigError, match="no tlbie AP names that size"):
        w.l1.unmap_l2_page(l2, 0x1000)


def test_regression_mappings_follow_only_hardware_shapes():
    """RadixTree.mappings() on a tree an L1 scribbled took minutes: it followed any
    directory with 0 < NLS <= bits left, so root entries pointing back at the root
    (NLS 13) multiplied the walk at every level. It now follows only POWER9 shapes, as
    the hardware walk does (a root-sized table below the root is a fault)."""
    mem = PhysicalMemory(64 << 20)
    tree = RadixTree(mem, Allocator(0x100000, 0x800000))
    tree.map(0x40000000, 0x200000, C.PAGE_2M, "rw")
    for i in range(100, 140):  # 40 loops back to the root
        mem.write_u64(tree.root + 8 * i, C.PTE_V | tree.root | C.ROOT_NLS)
    l1_table = tree.find_leaf(0x40000000)[0] & ~0xFFF  # the level-2 table of the leaf
    mem.write_u64(tree.root + 8 * 200, C.PTE_V | l1_table | 5)  # NLS 5 at level 1: a fault
    assert [(m.addr, m.ra, m.size) for m in tree.mappings()] == [(0x40000000, 0x200000, C.PAGE_2M)]


def test_isolation_check_reads_each_table_once():
    """A shadow tree whose level-1 table points at itself 512 times has 512^2 paths to
    its leaves; the check visits each (table, level) once."""
    w, _other = _with_other_l1()
    gp = w.vm.nested.find(w.l2s[0].l1_lpid)
    tree = gp.shadow_pgtable
    table = tree.alloc.alloc(8 << 9)
    tree.tables.append(table)
    for i in range(512):
        w.l0.mem.write_u64(table + 8 * i, C.PTE_V | table | 9)
    w.l0.mem.write_u64(table, C.PTE_V | C.PTE_L | w.vm.mem_base | 0x187)  # a 1G leaf...
    w.l0.mem.write_u64(tree.root + 8 * 9, C.PTE_V | table | 9)
    (bad,) = W.isolation_violations(w.l0)  # ...bigger than the L1's 256M allotment
    assert bad.size == C.PAGE_1G and bad.hpa == w.vm.mem_base & -C.PAGE_1G


# ----------------------------------------------------------------------------- the check fires
def _with_other_l1(seed=0):
    w = W.two_l2s(seed, run=True)
    other = w.l0.create_l1(256 << 20)
    assert W.isolation_violations(w.l0) == []
    return w, other


def test_isolation_check_fires_on_a_shadow_pte_into_another_l1():
    w, other = _with_other_l1()
    gp = w.vm.nested.find(w.l2s[0].l1_lpid)
    gp.shadow_pgtable.map(0x5000000, other.mem_base, C.PAGE_64K, "rw")  # a planted bug
    (bad,) = W.isolation_violations(w.l0)
    assert (bad.where, bad.lpid, bad.hpa) == ("shadow tree", gp.shadow_lpid, other.mem_base)
    assert bad.addr == 0x5000000
    assert "outside the owner's allotment" in str(bad)


def test_isolation_check_fires_on_a_directory_entry_leaving_the_tree():
    """A shadow PDE pointing into L1 memory would let the L1 write L0's tree."""
    w, _other = _with_other_l1()
    gp = w.vm.nested.find(w.l2s[0].l1_lpid)
    root = gp.shadow_pgtable.root
    w.l0.mem.write_u64(root + 8 * 7, C.PTE_V | w.vm.mem_base | 9)  # PGD[7] -> L1 memory
    (bad,) = W.isolation_violations(w.l0)
    assert bad.hpa == w.vm.mem_base and "outside the tree's own tables" in bad.why
    # the same entry with a shape the hardware refuses maps nothing: no violation
    w.l0.mem.write_u64(root + 8 * 7, C.PTE_V | w.vm.mem_base | 5)
    assert W.isolation_violations(w.l0) == []


def test_isolation_check_fires_on_partition_table_entries():
    w, other = _with_other_l1()
    ptab = w.l0.ptab
    dw0, dw1 = ptab.raw(w.vm.lpid)
    ptab.write_raw(w.vm.lpid, C.PATE0_HR | other.pgtable.dw0, dw1)  # L1 given another tree
    (bad,) = W.isolation_violations(w.l0)
    assert bad.where == "PATE" and bad.lpid == w.vm.lpid and "did not build" in bad.why
    ptab.write_raw(w.vm.lpid, dw0, dw1)
    ptab.write_raw(77, dw0, 0)  # an LPID nobody owns
    (bad,) = W.isolation_violations(w.l0)
    assert bad.where == "PATE of an unowned" and bad.lpid == 77


def test_isolation_check_fires_on_tlb_entries():
    w, other = _with_other_l1()
    gp = w.vm.nested.find(w.l2s[0].l1_lpid)
    w.l0.tlb.insert(
        TlbEntry(
            lpid=gp.shadow_lpid,
            pid=1,
            epn=0x7000,
            page_size=C.PAGE_4K,
            rpn=other.mem_base,
            gra=0,
            proc_pte=0,
            part_pte=0,
        )
    )
    w.l0.tlb.insert(
        TlbEntry(
            lpid=300,
            pid=1,
            epn=0x7000,
            page_size=C.PAGE_4K,
            rpn=w.vm.mem_base,
            gra=0,
            proc_pte=0,
            part_pte=0,
        )
    )
    bad = W.isolation_violations(w.l0)
    assert [(b.where, b.lpid, b.hpa) for b in bad] == [
        ("TLB", gp.shadow_lpid, other.mem_base),
        ("TLB", 300, w.vm.mem_base),
    ]


def test_isolation_check_knows_a_guest_a_vcpu_still_runs():
    """A nested guest removed from the table while a vcpu runs it keeps its shadow LPID
    (and partition-table entry) until the vcpu's reference goes: not a violation."""
    w, _other = _with_other_l1()
    l2 = w.l2s[0]
    gp = get_nested(w.vm, l2.l1_lpid, False)
    w.vm.vcpus[1].nested = gp  # vcpu 1 is inside H_ENTER_NESTED for this guest
    w.l1.set_ptbl_entry(l2.l1_lpid, 0, 0)
    w.l1.flush_lpid(l2.l1_lpid)  # RIC=2: kvmhv_flush_nested removes it from the table
    assert w.vm.nested.find(l2.l1_lpid) is None and not gp.freed and gp.refcnt == 1
    assert w.l0.ptab.raw(gp.shadow_lpid)[0] != 0
    assert W.isolation_violations(w.l0) == []
    w.vm.vcpus[1].nested = None
    put_nested(gp)
    assert gp.freed and w.l0.ptab.raw(gp.shadow_lpid) == (0, 0)
    assert W.isolation_violations(w.l0) == []


# ----------------------------------------------------------------------------- tlbie page loop
def _kernel_page_loop(leaves: dict[int, int], epn: int, shift: int, page_shift: int) -> set[int]:
    """kvmhv_emulate_tlbie_tlb_addr's loop run page by page over {addr: shift} leaves
    (the reference): which leaf addresses are left."""
    left = dict(leaves)
    addr = (epn << 12) & ~((1 << shift) - 1) & (2**64 - 1)
    npages = 1 << (shift - page_shift) if shift >= page_shift else 0
    while True:
        a = addr & TREE_ADDR_MASK
        hit = next((x for x, s in left.items() if x <= a < x + (1 << s)), None)
        step = left.pop(hit) if hit is not None else page_shift
        npages -= 1 << (step - page_shift)
        addr = (addr + (1 << step)) & (2**64 - 1)
        if npages <= 0:
            return set(left)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    st.lists(st.tuples(st.integers(0, 63), st.sampled_from([16, 21, 30])), max_size=8),
    st.integers(0, 2**52 - 1),
    st.sampled_from([0, 5, 1, 2]),
    st.booleans(),
)
def test_tlbie_page_loop_removes_what_the_kernel_loop_removes(pages, epn_page, ap, high):
    """The model jumps over empty pages of the range; the result must be the kernel's
    page-by-page loop's, for every AP (smaller or larger than L0's 64K page)."""
    w = W.two_l2s(0, run=True)
    gp = w.vm.nested.find(w.l2s[0].l1_lpid)
    base = 0x4000_0000  # the leaves live in [1G, 5G) of L2 real
    for i, shift in pages:
        gpa = (base + i * C.PAGE_64K * 997) & -(1 << shift)
        hpa = w.vm.mem_base + (gpa & (w.vm.mem_size - 1) & -(1 << shift))
        create_shadow_pte(gp, C.PTE_V | C.PTE_L | hpa | 0x187, gpa, shift)
    leaves = {addr: shift for addr, _slot, _pte, shift in shadow_leaves(gp)}
    epn = (base + epn_page % (4 << 30)) >> 12 | ((0xABC << 40) if high else 0)
    want = _kernel_page_loop(leaves, epn, {0: 12, 5: 16, 1: 21, 2: 30}[ap], w.vm.page_shift)
    assert emulate_tlbie_tlb_addr(w.vm, gp.l1_lpid, ap, epn) == 0
    assert {addr for addr, *_ in shadow_leaves(gp)} == want
