"""The later kernel's H_ENTER_NESTED sanitisations, in detail (versions rows
``nested-tm-sanitise``, Linux 5.14, and ``nested-lpcr-filter``, 5.13, both run by the
model's "5.14" L0): where each check sits in kvmhv_enter_nested_guest's order, a
property over every MSR[TS] pair and over LPCR values, and 4.20 unchanged."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pynest.kvm import guest_state as G
from pynest.kvm.guest_state import HvGuestState, PtRegs
from pynest.kvm.hcalls import (
    H_BAD_MODE,
    H_CEDE,
    H_ENTER_NESTED,
    H_NOT_AVAILABLE,
    H_P2,
    H_PARAMETER,
    do_hcall,
)
from pynest.kvm.host import L0, L1_LPCR
from pynest.kvm.l1 import L1
from pynest.kvm.l2 import NR_CPUS
from pynest.kvm.program import Hcall, Program, Spin
from pynest.mmu import constants as C

ENTRY = 0x10000
TS = (0, G.MSR_TS_S, G.MSR_TS_T, G.MSR_TS_MASK)


def world(kernel, little_endian=False):
    l0 = L0(kernel=kernel)
    vm = l0.create_l1(256 << 20, little_endian=little_endian)
    l1 = L1(vm)
    assert l1.nested_init() == 0
    l2 = l1.create_l2(16 << 20)
    l1.l2_map(l2, ENTRY, 0x100000, perms="x")
    l1.load_program(l2, Program((Spin(1), Hcall(H_CEDE)), entry=ENTRY, fetch=False))
    return l0, vm, l1, l2


def enter(vm, l1, l2, *, l2_msr=C.MSR_GUEST_KERNEL, lpcr=0, **fields):
    """One H_ENTER_NESTED with the state the L1 would write, fields overridden."""
    le = bool(vm.vcpus[0].msr & C.MSR_LE)
    hv_gpa, regs_gpa = l1.buffers[0]
    hv = HvGuestState(
        lpid=l2.l1_lpid,
        vcpu_token=l2.vcpu_token,
        lpcr=lpcr,
        hfscr=vm.vcpus[0].hfscr,
        hdec_expiry=vm.l0.timebase + vm.vcpus[0].tb_offset + 1000,
        pidr=l2.pid,
    )
    for name, value in fields.items():
        setattr(hv, name, value)
    assert vm.write_guest(hv_gpa, hv.to_bytes(le))
    assert vm.write_guest(regs_gpa, PtRegs(nip=ENTRY, msr=l2_msr).to_bytes(le))
    rc = do_hcall(vm, H_ENTER_NESTED, hv_gpa, regs_gpa)
    out = HvGuestState.from_bytes(vm.read_guest(hv_gpa, 232), le)
    return rc, out, PtRegs.from_bytes(vm.read_guest(regs_gpa, 368), le)


def refused_by_5_14(l1_ts, l2_ts):
    """The patch's rule, as its commit message states it: no H_ENTER_NESTED in TM[T];
    a suspended L1 must give an L2 with TM active; any other L1 an L2 without it (and
    the reserved L1 TS 0b11 is refused by the WARN_ON_ONCE branch)."""
    if l1_ts == G.MSR_TS_T:
        return True
    if l1_ts == G.MSR_TS_S:
        return l2_ts == 0
    return l2_ts != 0 or l1_ts == G.MSR_TS_MASK


def test_the_tm_checks_sit_where_5_14_has_them():
    l0, vm, l1, l2 = world("5.14")
    bad = C.MSR_GUEST_KERNEL | G.MSR_TS_T
    # after the l1_ptcr test, before the reads
    vm.vcpus[0].msr |= G.MSR_TS_T
    ptcr, vm.l1_ptcr = vm.l1_ptcr, 0
    assert do_hcall(vm, H_ENTER_NESTED, vm.mem_size, 0) == H_NOT_AVAILABLE
    vm.l1_ptcr = ptcr
    assert do_hcall(vm, H_ENTER_NESTED, vm.mem_size, 0) == H_BAD_MODE
    vm.vcpus[0].msr &= ~G.MSR_TS_MASK
    # the L2's TS: after the version and vcpu_token checks ...
    assert enter(vm, l1, l2, l2_msr=bad, version=2)[0] == H_P2
    assert enter(vm, l1, l2, l2_msr=bad, vcpu_token=NR_CPUS)[0] == H_PARAMETER
    # ... and before kvmhv_get_nested: an lpid with no guest yet creates none
    mark = l0.events.mark()
    assert enter(vm, l1, l2, l2_msr=bad, lpid=l2.l1_lpid + 5)[0] == H_BAD_MODE
    kinds = [e.kind for e in l0.events.since(mark)]
    assert "nested-create" not in kinds and "nested-get" not in kinds and "enter" not in kinds
    assert vm.nested.find(l2.l1_lpid + 5) is None
    # the same lpid without the bad TS gets a guest
    assert enter(vm, l1, l2, lpid=l2.l1_lpid + 5)[0] > 0
    assert vm.nested.find(l2.l1_lpid + 5) is not None


@settings(max_examples=48, deadline=None)
@given(st.sampled_from(TS), st.sampled_from(TS), st.booleans())
def test_every_ts_pair(l1_ts, l2_ts, little_endian):
    for kernel in ("4.20", "5.14"):
        l0, vm, l1, l2 = world(kernel, little_endian)
        v = vm.vcpus[0]
        v.msr |= l1_ts
        rc, _, regs = enter(vm, l1, l2, l2_msr=C.MSR_GUEST_KERNEL | l2_ts)
        if kernel == "5.14" and refused_by_5_14(l1_ts, l2_ts):
            assert rc == H_BAD_MODE
            assert v.msr & G.MSR_TS_MASK == l1_ts and v.nested is None
            continue
        assert rc == 0xC00, (kernel, l1_ts, l2_ts)  # the L2's H_CEDE
        assert regs.msr & G.MSR_TS_MASK == l2_ts
        # restore L1 state: TS from the L2's (Suspended if it was active), the rest kept
        assert v.msr & G.MSR_TS_MASK == (G.MSR_TS_S if l2_ts else 0)
        assert v.msr & ~G.MSR_TS_MASK == C.MSR_GUEST_KERNEL | (C.MSR_LE if little_endian else 0)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**64 - 1))
def test_the_l2_runs_with_the_filtered_lpcr(lpcr):
    for kernel in ("4.20", "5.0", "5.14"):
        l0, vm, l1, l2 = world(kernel)
        mark = l0.events.mark()
        rc, out, _ = enter(vm, l1, l2, lpcr=lpcr)
        assert rc == 0xC00
        (e,) = [e for e in l0.events.since(mark) if e.kind == "enter"]
        ran = int(e.detail.split()[1], 16)
        composed = G.compose_l2_lpcr(L1_LPCR, lpcr)
        if kernel == "5.14":
            assert ran == G.filter_lpcr_hv(composed) == out.lpcr
            assert not ran & G.LPCR_TC and ran & G.LPCR_AIL in (0, G.LPCR_AIL_3)
        else:
            assert ran == composed and out.lpcr == lpcr  # the L1's value comes back


@pytest.mark.parametrize(
    ("ail", "runs"),
    [(0, 0), (0x0080_0000, 0), (0x0100_0000, 0), (G.LPCR_AIL_3, G.LPCR_AIL_3)],
)
def test_ail_values_on_power9(ail, runs):
    """AIL 1 is reserved and AIL 2 unsupported by KVM: both become 0; AIL 3 stays (a
    POWER9 DD2.2 or later, without CPU_FTR_P9_RADIX_PREFETCH_BUG)."""
    assert G.filter_lpcr_hv(L1_LPCR | ail) & G.LPCR_AIL == runs
    assert G.filter_lpcr_hv(L1_LPCR | ail | G.LPCR_TC) == L1_LPCR | runs


def test_the_notebooks_two_argument_sanitise_is_4_20s():
    """sanitise_hv_regs without the vcore LPCR leaves lpcr alone (4.20's function)."""
    hv = HvGuestState(lpcr=G.LPCR_TC | 0x0080_0000, dawrx0=0x7)
    assert G.sanitise_hv_regs(0x19F, hv).lpcr == hv.lpcr
    five = G.sanitise_hv_regs(0x19F, hv, l1_vcore_lpcr=L1_LPCR)
    assert five.lpcr == L1_LPCR and five.dawrx0 == 0x3
