"""An L2 that runs and runs without an exit (issue 13 C).

A 4.20 L0 caps HDEC at its own next decrementer expiry (kvmhv_p9_guest_entry), so its
timer tick takes the CPU back as an HDEC exit (0x980), which kvmppc_handle_nested_exit
resumes (RESUME_GUEST); a pending signal ends the hcall with H_INTERRUPT and the L1
re-enters where the L2 stopped. The model's tick comes every MAX_OPS_PER_ENTRY ops and its
signal after MAX_RESUMES re-entries; both are patched small here, except in one real-size
case.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pynest.kvm import l2 as L2
from pynest.kvm import run as RUN
from pynest.kvm.guest_state import PT_REGS_SIZE, PtRegs
from pynest.kvm.hcalls import H_ENTER_NESTED, H_INTERRUPT
from pynest.kvm.host import L0
from pynest.kvm.l1 import L1
from pynest.kvm.nested import lifecycle_violations
from pynest.kvm.program import Program, Spin, Store
from pynest.mmu import constants as C

ENTRY = 0x10000
DATA = 0x20_0000
FAR = 1 << 50  # an HDEC slice the run never reaches


def world(ops, fetch=False):
    l0 = L0()
    vm = l0.create_l1(256 << 20)
    l1 = L1(vm)
    assert l1.nested_init() == 0
    l2 = l1.create_l2(16 << 20)
    l1.l2_map(l2, ENTRY, 0x100000, perms="x")
    l1.l2_map(l2, DATA, 0x200000, C.PAGE_64K, perms="rw")
    l1.load_program(l2, Program(tuple(ops), entry=ENTRY, fetch=fetch))
    return l0, vm, l1, l2


def stored(l0, vm, l2, n):
    """The n doublewords at L2 real 0x200000 (where DATA maps), read in host memory."""
    base = vm.mem_base + l2.l1_gpa_base + 0x200000
    return [l0.mem.read_u64(base + 8 * i) for i in range(n)]


def ticks(l0):
    return [e for e in l0.events.filter("exit", trap=0x980) if e.detail.startswith(RUN.L0_TICK)]


@pytest.fixture
def small_bounds(monkeypatch):
    monkeypatch.setattr(RUN, "MAX_OPS_PER_ENTRY", 10)
    monkeypatch.setattr(L2, "MAX_RESUMES", 4)


def test_a_long_run_ends_with_h_interrupt_and_the_l1_continues_it(small_bounds):
    ops = [Spin(1)] * 45 + [Store(DATA + 8 * i, i + 1) for i in range(30)]
    l0, vm, l1, l2 = world(ops)
    res = l1.run_l2(l2, max_entries=1, slice_ticks=FAR)
    # four ticks of ten ops each, each resumed; the fifth re-entry finds the signal
    assert res.returns == (0,) and res.stopped == "max_entries reached"
    assert len(ticks(l0)) == 4
    assert [e.trap for e in l0.events.filter("resume")] == [0x980] * 4
    (ret,) = l0.events.filter("hcall-return", hcall_nr=H_ENTER_NESTED)
    assert ret.rc == 0 and ret.detail == "H_INTERRUPT"  # r3 = 0 for the L1
    hv_gpa, regs_gpa = l1.buffers[0]
    regs = PtRegs.from_bytes(vm.read_guest(regs_gpa, PT_REGS_SIZE))
    assert regs.nip == ENTRY + 4 * 40  # where the L2 stopped, saved for the L1
    assert vm.vcpus[0].nested is None and not lifecycle_violations(l0)
    # the L1 re-enters from that NIP: every op runs once, none is repeated or lost
    res = l1.run_l2(l2, max_entries=50, slice_ticks=FAR)
    assert res.stopped == "ran past its program"
    assert 0x980 not in res.returns  # L0's ticks never reach the L1
    assert stored(l0, vm, l2, 30) == list(range(1, 31))
    assert l0.timebase >= 45


def test_translated_fetches_and_stores_continue_across_h_interrupt(small_bounds):
    """With every fetch translated the table faults are resumes too; the L2 still runs
    each op once, the L1 only ever sees r3 = 0 until the end, and nothing leaks."""
    ops = [Store(DATA + 8 * i, i + 1) for i in range(40)] + [Spin(2)] * 25
    l0, vm, l1, l2 = world(ops, fetch=True)
    res = l1.run_l2(l2, max_entries=100, slice_ticks=FAR)
    assert res.stopped == "ran past its program"
    assert 0 in res.returns and 0x980 not in res.returns and res.returns[-1] == 0xE40
    assert ticks(l0)
    assert stored(l0, vm, l2, 40) == list(range(1, 41))
    stores = [e for e in l0.events.filter("l2-access") if e.detail.startswith("store")]
    assert len(stores) == 40
    assert vm.vcpus[0].nested is None and not lifecycle_violations(l0)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 8), st.integers(1, 5), st.integers(0, 60))
def test_entries_and_ticks_follow_the_bounds(bound, resumes, n):
    """n ops without an exit: n // bound ticks, then the 0xe40 past the program; each
    H_ENTER_NESTED absorbs at most ``resumes`` runs, every one but the last ends with
    H_INTERRUPT (r3 = 0)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(RUN, "MAX_OPS_PER_ENTRY", bound)
        mp.setattr(L2, "MAX_RESUMES", resumes)
        l0, vm, l1, l2 = world([Spin(0)] * n)
        res = l1.run_l2(l2, max_entries=1000, slice_ticks=FAR)
    t = n // bound
    calls = -(-(t + 1) // resumes)
    assert res.stopped == "ran past its program"
    assert res.returns == (0,) * (calls - 1) + (0xE40,)
    assert len(ticks(l0)) == t
    rets = [e.detail for e in l0.events.filter("hcall-return", hcall_nr=H_ENTER_NESTED)]
    assert rets == ["H_INTERRUPT"] * (calls - 1) + ["trap 0xe40"]
    assert l0.timebase == t + 1  # each exit costs a tick; Spin(0) costs none


def test_the_l1s_deadline_still_wins_over_l0s_tick(small_bounds):
    """HDEC inside the run: the L1 gets 0x980 back as before, no tick is taken first."""
    l0, vm, l1, l2 = world([Spin(1)] * 30)
    res = l1.run_l2(l2, max_entries=1, slice_ticks=5)
    assert res.returns == (0x980,)
    assert not ticks(l0)


def test_a_signal_return_is_h_interrupt_from_enter_nested_guest(small_bounds):
    l0, vm, l1, l2 = world([Spin(0)] * 100)
    l1._write_state(l2, 0, FAR)
    hv_gpa, regs_gpa = l1.buffers[0]
    assert L2.enter_nested_guest(vm, hv_gpa, regs_gpa, vm.vcpus[0]) == H_INTERRUPT


def test_a_real_size_run_takes_one_tick():
    """MAX_OPS_PER_ENTRY + 1 ops (one shared Spin(0), no fetch translation: seconds):
    one L0 tick, resumed, then the op after it, then the exit past the program."""
    n = RUN.MAX_OPS_PER_ENTRY + 1
    l0, vm, l1, l2 = world((Spin(0),) * n)
    res = l1.run_l2(l2, max_entries=1, slice_ticks=FAR)
    assert res.returns == (0xE40,) and res.stopped == "ran past its program"
    (tick,) = ticks(l0)
    assert tick.ea == ENTRY + 4 * RUN.MAX_OPS_PER_ENTRY
    hv_gpa, regs_gpa = l1.buffers[0]
    regs = PtRegs.from_bytes(vm.read_guest(regs_gpa, PT_REGS_SIZE))
    assert regs.nip == ENTRY + 4 * n
