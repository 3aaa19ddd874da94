"""Each row of pynest.kvm.versions held against the model: the same world under the
kernel before and the kernel from the row's version on, and the difference the row names."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pynest.errors import ConfigError
from pynest.kvm import guest_state as G
from pynest.kvm import versions as V
from pynest.kvm.guest_state import HvGuestState, PtRegs
from pynest.kvm.hcalls import (
    H_BAD_MODE,
    H_CEDE,
    H_COPY_TOFROM_GUEST,
    H_ENTER_NESTED,
    H_FUNCTION,
    H_PARAMETER,
    H_SUCCESS,
    H_TLB_INVALIDATE,
    do_hcall,
)
from pynest.kvm.host import L0, L1_LPCR
from pynest.kvm.l1 import L1, TLBIEL_INVAL_SET_LPID, h_tlbie_p1_enc
from pynest.kvm.program import Hcall, Load, Program, Store
from pynest.mmu import constants as C

DATA = 0x2000_0000
TESTED = set()


def held(key):
    TESTED.add(key)
    return V.row(key)


def world(
    kernel, *, set_rc=True, backing=None, page_size=C.PAGE_64K, ops=None, fetch=True, data=C.PAGE_4K
):
    l0 = L0(kernel=kernel)
    vm = l0.create_l1(512 << 20, backing=backing)
    l1 = L1(vm)
    assert l1.nested_init() == 0
    l2 = l1.create_l2(16 << 20, page_size=page_size, set_rc=set_rc)
    l1.l2_map(l2, 0x10000, 0x300000, perms="x")
    l1.l2_map(l2, DATA, 0x200000, data, perms="rw")
    ops = ops or (Store(DATA + 8, 0x1234), Load(DATA + 8), Hcall(H_CEDE))
    l1.load_program(l2, Program(tuple(ops), entry=0x10000, fetch=fetch))
    return l0, vm, l1, l2


def test_the_table_is_complete_and_ordered():
    keys = [b.key for b in V.BEHAVIOURS]
    assert len(set(keys)) == len(keys)
    kernels = {*V.L0_KERNELS, *V.L1_KERNELS}
    for b in V.BEHAVIOURS:
        # a modelled kernel has the row and one does not (5.13's row is run under 5.14)
        assert any(V.has(k, b.key) for k in kernels), b.key
        assert any(not V.has(k, b.key) for k in kernels) or b.since == "4.20", b.key
        assert b.patch.startswith("KVM: PPC: Book3S")
        assert b.behaviour and b.before and "(" in b.function
        assert b.key in V.table_text()
    assert V.has("5.0", "nested-rc") and not V.has("4.20", "nested-rc")
    assert V.has("4.20", "set-ptbl-flush") and V.has("5.19", "h-copy-tofrom-guest")
    assert V.version_key("4.20") < V.version_key("5.0") < V.version_key("5.19")


@pytest.mark.parametrize("bad", ["4.19", "5.2", 5.0, None, "latest"])
def test_unknown_kernels_are_refused(bad):
    with pytest.raises(ConfigError, match="kernel must be one of"):
        L0(kernel=bad)
    with pytest.raises(ConfigError, match="no versioned behaviour"):
        V.row("nope")


@pytest.mark.parametrize("l1_kernel", ["4.20", "5.0", "5.19"])
def test_set_ptbl_flush_every_release_flushes(l1_kernel):
    """kvmhv_set_ptbl_entry (pseries): store, then H_TLB_INVALIDATE RIC=2 IS=2."""
    held("set-ptbl-flush")
    l0 = L0()
    l1 = L1(l0.create_l1(256 << 20), kernel=l1_kernel)
    assert l1.nested_init() == 0
    mark = l0.events.mark()
    l2 = l1.create_l2(16 << 20)
    calls = [e for e in l0.events.since(mark) if e.kind == "hcall"]
    assert [e.hcall_nr for e in calls] == [H_TLB_INVALIDATE]
    assert calls[0].detail == (
        f"r4={h_tlbie_p1_enc(2, 0, 1):#x} r5={l2.l1_lpid:#x} r6={TLBIEL_INVAL_SET_LPID:#x}"
    )
    assert h_tlbie_p1_enc(2, 0, 1) == 0x90000
    mark = l0.events.mark()
    assert l1.set_ptbl_entry(l2.l1_lpid, 0, 0) == H_SUCCESS
    assert [e.hcall_nr for e in l0.events.since(mark) if e.kind == "hcall"] == [H_TLB_INVALIDATE]


def test_nested_rc_4_20_never_tells_the_l1_about_a_store():
    """The dirty-tracking bug: under 4.20 the shadow PTE takes C from L0's PTE, so the L2's
    store completes without SET_RC and the L1's PTE stays clean; 5.0 reflects SET_RC and the
    L1 sets C, so its dirty log sees the page."""
    held("nested-rc")
    results = {}
    for kernel in ("4.20", "5.0"):
        l0, vm, l1, l2 = world(kernel, set_rc=False)
        res = l1.run_l2(l2)
        assert res.stopped == "ceded"
        handled = [e.detail for e in l0.events.filter("l1-handle", trap=0xE00)]
        pte = l2.tree.lookup(0x200000).pte
        results[kernel] = (
            "set R/C in its PTE" in handled,
            bool(pte & C.PTE_C),
            l1.get_dirty_log(l2),
        )
    assert results["4.20"] == (False, False, [])
    assert results["5.0"][:2] == (True, True) and 0x200000 in results["5.0"][2]


def test_nested_rc_after_a_harvest_the_next_store_is_missed_only_by_4_20():
    held("nested-rc")
    for kernel, seen in (("4.20", []), ("5.0", [0x200000])):
        l0, vm, l1, l2 = world(kernel, set_rc=True)
        assert l1.run_l2(l2).stopped == "ceded"
        assert 0x200000 in l1.get_dirty_log(l2)  # the L1 created the PTE with C
        l1.load_program(l2, Program((Store(DATA, 7), Hcall(H_CEDE)), entry=0x10000))
        assert l1.run_l2(l2).stopped == "ceded"
        assert l0.mem.read_u64(vm.mem_base + l2.l1_gpa_base + 0x200000) == 7
        assert [a for a in l1.get_dirty_log(l2) if a == 0x200000] == seen, kernel


def test_rmap_gfn_aligned_for_a_2m_shadow_pte():
    """A 2M shadow PTE faulted at an inner address: 4.20 files the rmap under the faulting
    64K frame, 5.0 under the first frame of the 2M page."""
    held("rmap-gfn-aligned")
    inner = 0x12345
    keys = {}
    for kernel in ("4.20", "5.0"):
        ops = (Load(DATA + inner), Hcall(H_CEDE))
        l0, vm, l1, l2 = world(
            kernel, backing=C.PAGE_2M, page_size=C.PAGE_2M, ops=ops, fetch=False, data=C.PAGE_2M
        )
        assert l1.run_l2(l2).stopped == "ceded"
        l1_gpa = l2.tree.lookup(0x200000).ra  # L1 real of L2 real 0x200000
        data_keys = {g for g in vm.rmap if (l1_gpa >> 16) <= g < (l1_gpa + C.PAGE_2M) >> 16}
        keys[kernel] = data_keys
        shift = vm.page_shift
        assert keys[kernel] == {((l1_gpa + inner) if kernel == "4.20" else l1_gpa) >> shift}, kernel
    assert keys["4.20"] != keys["5.0"]


def test_nested_mmio_is_einval_in_4_20_and_h_too_hard_in_5_0():
    held("nested-mmio")
    out = {}
    for kernel in ("4.20", "5.0"):
        ops = (Load(DATA), Hcall(H_CEDE))
        l0, vm, l1, l2 = world(kernel, ops=ops, fetch=False)
        device = vm.mem_size  # an L1 real address past its memslot: a device QEMU emulates
        l2.tree.map(0x200000, device, C.PAGE_64K, "rw", r=True, c=True)
        res = l1.run_l2(l2, max_entries=1)
        errors = [e.detail for e in l0.events.filter("error")]
        out[kernel] = (res.returns, "emulated MMIO passthrough?" in errors)
    assert out["4.20"] == ((0xE00,), True)  # -EINVAL ends the run; the L1 gets the HDSI
    assert out["5.0"] == ((0,), False)  # H_TOO_HARD: r3 = 0, the L1 re-enters


def test_h_copy_tofrom_guest_is_userspaces_in_4_20():
    held("h-copy-tofrom-guest")
    for kernel, want in (("4.20", H_FUNCTION), ("5.0", H_SUCCESS)):
        l0, vm, l1, l2 = world(kernel)
        assert l1.run_l2(l2).stopped == "ceded"
        buf = l1.alloc.alloc(8)
        mark = l0.events.mark()
        rc = do_hcall(vm, H_COPY_TOFROM_GUEST, l2.l1_lpid, l2.pid, DATA + 8, buf, 0, 8)
        assert rc == want, kernel
        kinds = [e.kind for e in l0.events.since(mark)]
        assert ("userspace" in kinds) == (kernel == "4.20")
        assert ("copy" in kinds) == (kernel == "5.0")


def test_unknown_hcalls_go_to_userspace_in_every_kernel():
    for kernel in V.L0_KERNELS:
        l0 = L0(kernel=kernel)
        vm = l0.create_l1(256 << 20)
        mark = l0.events.mark()
        assert do_hcall(vm, 0xF810) == H_FUNCTION
        assert [e.kind for e in l0.events.since(mark)] == ["hcall", "userspace", "hcall-return"]


def _l1_reads_back(vm, l1):
    hv_gpa, regs_gpa = l1.buffers[0]
    return HvGuestState.from_bytes(vm.read_guest(hv_gpa, 232)), PtRegs.from_bytes(
        vm.read_guest(regs_gpa, 368)
    )


@pytest.mark.parametrize(
    ("l1_ts", "l2_ts", "refused"),
    [
        (0, 0, False),
        (0, G.MSR_TS_T, True),
        (0, G.MSR_TS_S, True),
        (0, G.MSR_TS_MASK, True),
        (G.MSR_TS_S, 0, True),
        (G.MSR_TS_S, G.MSR_TS_T, False),
        (G.MSR_TS_S, G.MSR_TS_S, False),
        (G.MSR_TS_MASK, 0, True),  # reserved L1 TS: the kernel's WARN_ON_ONCE
    ],
)
def test_nested_tm_sanitise_h_bad_mode_only_from_5_14(l1_ts, l2_ts, refused):
    """5.14 checks the L2 MSR[TS] against the L1's after the vcpu_token check and before
    kvmhv_get_nested; 4.20 and 5.0 run the L2 and hand the L1 back TS = Suspended when
    the L2's TS was non-zero."""
    held("nested-tm-sanitise")
    for kernel in V.L0_KERNELS:
        l0, vm, l1, l2 = world(kernel)
        v = vm.vcpus[0]
        v.msr |= l1_ts
        l2.regs.msr |= l2_ts
        before = len(vm.nested)
        res = l1.run_l2(l2, max_entries=1)
        if V.has(kernel, "nested-tm-sanitise") and refused:
            assert res.returns == (H_BAD_MODE,), kernel
            assert not l0.events.filter("enter") and len(vm.nested) == before
            assert v.msr & G.MSR_TS_MASK == l1_ts  # nothing switched, nothing changed
            continue
        assert res.returns[0] > 0 and l0.events.filter("enter"), kernel
        _, regs = _l1_reads_back(vm, l1)
        assert regs.msr & G.MSR_TS_MASK == l2_ts  # the L2's TS as it ran
        assert v.msr & G.MSR_TS_MASK == (G.MSR_TS_S if l2_ts else 0), kernel


def test_nested_tm_sanitise_a_transactional_l1_is_refused_before_any_read():
    """MSR_TM_TRANSACTIONAL(L1 MSR): H_BAD_MODE comes before the hv_guest_state read, so
    even an unreadable r4 gets it from 5.14; 4.20 answers H_PARAMETER for the read."""
    held("nested-tm-sanitise")
    for kernel, want in (("4.20", H_PARAMETER), ("5.0", H_PARAMETER), ("5.14", H_BAD_MODE)):
        l0, vm, l1, l2 = world(kernel)
        vm.vcpus[0].msr |= G.MSR_TS_T
        assert do_hcall(vm, H_ENTER_NESTED, vm.mem_size, 0) == want, kernel


@pytest.mark.parametrize(
    ("asked", "runs_5_14"),
    [
        (G.LPCR_TC, 0),
        (0x0080_0000, 0),  # AIL = 1 (reserved)
        (0x0100_0000, 0),  # AIL = 2 (KVM does not support it)
        (G.LPCR_AIL_3, G.LPCR_AIL_3),
        (G.LPCR_AIL_3 | G.LPCR_TC | G.LPCR_LD, G.LPCR_AIL_3 | G.LPCR_LD),
        (G.LPCR_ILE | G.LPCR_TC | 0x0100_0000, G.LPCR_ILE),
    ],
)
def test_nested_lpcr_filter_tc_and_ail_1_2_from_5_13(asked, runs_5_14):
    """kvmppc_filter_lpcr_hv on the composed L2 LPCR; before 5.13 the L1's choice stands
    and its hv_guest_state lpcr comes back as it wrote it."""
    held("nested-lpcr-filter")
    mask = G.LPCR_TC | G.LPCR_AIL | G.LPCR_LD | G.LPCR_ILE
    for kernel in V.L0_KERNELS:
        l0, vm, l1, l2 = world(kernel)
        l2.lpcr = asked
        assert l1.run_l2(l2).stopped == "ceded"
        (enter, *_) = l0.events.filter("enter")
        ran = int(enter.detail.split()[1], 16)
        hv, _ = _l1_reads_back(vm, l1)
        if V.has(kernel, "nested-lpcr-filter"):
            assert ran & mask == runs_5_14, kernel
            assert hv.lpcr == ran == G.filter_lpcr_hv(G.compose_l2_lpcr(L1_LPCR, asked))
        else:
            assert ran & mask == asked & mask, kernel
            assert hv.lpcr == asked
        assert ran & ~mask == L1_LPCR & ~mask  # L0's own bits for the L1, in every kernel


@given(st.integers(0, 2**64 - 1))
def test_filter_lpcr_hv_touches_only_tc_and_ail(lpcr):
    out = G.filter_lpcr_hv(lpcr)
    assert out & ~(G.LPCR_TC | G.LPCR_AIL) == lpcr & ~(G.LPCR_TC | G.LPCR_AIL)
    assert not out & G.LPCR_TC
    assert out & G.LPCR_AIL in (0, G.LPCR_AIL_3)
    assert (out & G.LPCR_AIL == G.LPCR_AIL_3) == (lpcr & G.LPCR_AIL == G.LPCR_AIL_3)
    assert G.filter_lpcr_hv(out) == out


def test_5_14_otherwise_behaves_like_5_0():
    """Outside the two sanitisations the model's 5.14 L0 is its 5.0: the same run gives
    the same event log (a plain LPCR and TS = 0 pass both checks unchanged)."""
    logs = {}
    for kernel in ("5.0", "5.14"):
        l0, vm, l1, l2 = world(kernel, set_rc=False)
        assert l1.run_l2(l2).stopped == "ceded"
        assert l1.get_dirty_log(l2)
        logs[kernel] = [(e.kind, e.trap, e.ea, e.detail) for e in l0.events]
    assert logs["5.0"] == logs["5.14"]
    for b in V.BEHAVIOURS:
        if V.version_key(b.since) <= V.version_key("5.0"):
            assert V.has("5.14", b.key)


def test_every_row_is_held():
    """Runs last in this file (pytest keeps definition order)."""
    assert TESTED == {b.key for b in V.BEHAVIOURS}
