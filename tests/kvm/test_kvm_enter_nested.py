"""hv_guest_state, sanitisation and H_ENTER_NESTED (kvmhv_enter_nested_guest, 4.20)."""

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from pynest.kvm import guest_state as G
from pynest.kvm.hcalls import (
    H_CEDE,
    H_ENTER_NESTED,
    H_INTERRUPT,
    H_NOT_AVAILABLE,
    H_P2,
    H_PARAMETER,
    do_hcall,
)
from pynest.kvm.host import L0
from pynest.kvm.l1 import L1
from pynest.kvm.program import Hcall, Load, Program
from pynest.mmu import constants as C


def test_layout_and_byte_order():
    hv = G.HvGuestState(version=1, lpid=0x11223344, vcpu_token=7, lpcr=0x0102030405060708)
    be = hv.to_bytes()
    assert len(be) == 232 and G.HvGuestState.size_of(1) == 232 and G.HvGuestState.size_of(2) == 248
    # version u64 @0, lpid u32 @8, vcpu_token u32 @12, lpcr u64 @16 (asm/hvcall.h)
    assert be[:8] == (1).to_bytes(8, "big")
    assert be[8:12] == bytes.fromhex("11223344") and be[12:16] == (7).to_bytes(4, "big")
    le = hv.to_bytes(little_endian=True)
    assert le[8:12] == bytes.fromhex("44332211") and le[16:24] == bytes.fromhex("0807060504030201")
    assert G.HvGuestState.from_bytes(le, little_endian=True) == hv
    regs = G.PtRegs(nip=0x100, msr=0x8000000000001030)
    raw = regs.to_bytes()
    # sizeof(struct pt_regs) of the 4.20 ppc64 kernel: 44 doublewords + ppr + __pad
    assert len(raw) == 368 and struct.unpack(">Q", raw[32 * 8 : 33 * 8])[0] == 0x100
    assert len(regs.to_bytes(qemu=True)) == 352  # QEMU's struct kvmppc_pt_regs


def test_sanitise_hv_regs():
    hv = G.HvGuestState(hfscr=0xFF00_0000_0000_FFFF, dawrx0=0x7, ciabr=0x1003)
    out = G.sanitise_hv_regs(l1_hfscr=0x19F, hv=hv)
    assert out.hfscr == 0xFF00_0000_0000_019F  # cause byte kept, only L1-allowed facilities
    assert out.dawrx0 == 0x3  # DAWRX_HYP (bit 2) cleared
    assert out.ciabr == 0x1000  # CIABR_PRIV_HYPER -> privilege field cleared
    assert G.sanitise_hv_regs(0x19F, G.HvGuestState(ciabr=0x1002)).ciabr == 0x1002


def test_l2_lpcr_composition():
    vcore = C.LPCR_HR | C.LPCR_UPRT | C.LPCR_GTSE | 0x3
    # the L1 asks to clear HR/UPRT/GTSE/HVICE/HDICE and to set ILE and AIL=3: only the
    # LPCR_DPFD|ILE|TC|AIL|LD|LPES|MER bits come from the L1
    got = G.compose_l2_lpcr(vcore, G.LPCR_ILE | G.LPCR_AIL)
    assert got == vcore | G.LPCR_ILE | G.LPCR_AIL


def _setup():
    l0 = L0()
    vm = l0.create_l1(256 << 20)
    l1 = L1(vm)
    return l0, vm, l1


def _write_state(l1, hv, regs, le=False):
    hv_gpa, regs_gpa = l1.buffers[0]
    l1.vm.write_guest(hv_gpa, hv.to_bytes(le))
    l1.vm.write_guest(regs_gpa, regs.to_bytes(le))
    return hv_gpa, regs_gpa


def test_enter_before_partition_table_is_not_available():
    _l0, vm, l1 = _setup()
    hv_gpa, regs_gpa = _write_state(l1, G.HvGuestState(lpid=1), G.PtRegs())
    assert do_hcall(vm, H_ENTER_NESTED, hv_gpa, regs_gpa) == H_NOT_AVAILABLE


def test_enter_argument_errors():
    _l0, vm, l1 = _setup()
    l1.nested_init()
    regs = G.PtRegs()
    cases = [
        (G.HvGuestState(version=2, lpid=1), H_P2),  # 4.20 accepts version 1 only
        (G.HvGuestState(version=0, lpid=1), H_P2),
        (G.HvGuestState(lpid=1, vcpu_token=2048), H_PARAMETER),  # >= NR_CPUS
        (G.HvGuestState(lpid=1024), H_PARAMETER),  # past the L1's 1024-entry table
        (G.HvGuestState(lpid=0xFFFF_FFFF), H_PARAMETER),  # -1 as a C int
    ]
    for hv, rc in cases:
        hv_gpa, regs_gpa = _write_state(l1, hv, regs)
        assert do_hcall(vm, H_ENTER_NESTED, hv_gpa, regs_gpa) == rc, hv
    # state pointer outside the L1's memory: kvm_vcpu_read_guest fails
    assert do_hcall(vm, H_ENTER_NESTED, vm.mem_size, regs_gpa) == H_PARAMETER
    assert do_hcall(vm, H_ENTER_NESTED, hv_gpa, 2**64 - 8) == H_PARAMETER


def test_signal_gives_h_interrupt_and_r3_zero():
    l0, vm, l1 = _setup()
    l1.nested_init()
    l2 = l1.create_l2()
    l1.load_program(l2, Program((Hcall(H_CEDE),)))
    l1._write_state(l2, 0, 100)
    vm.vcpus[0].pending_signal = True
    hv_gpa, regs_gpa = l1.buffers[0]
    assert do_hcall(vm, H_ENTER_NESTED, hv_gpa, regs_gpa) == 0  # kvmppc_pseries_do_hcall
    assert l0.events.last("hcall-return").detail == "H_INTERRUPT"
    assert H_INTERRUPT == -69


def test_hdec_expiry_returns_0x980_and_state_round_trip():
    l0, vm, l1 = _setup()
    l1.nested_init()
    l2 = l1.create_l2()
    l1.l2_map(l2, 0, 0x300000, perms="x")
    l1.load_program(l2, Program((Hcall(H_CEDE),)))
    l1._write_state(l2, 0, 0)  # deadline = now
    hv_gpa, regs_gpa = l1.buffers[0]
    assert do_hcall(vm, H_ENTER_NESTED, hv_gpa, regs_gpa) == 0x980
    hv, regs = l1._read_state(0)
    assert hv.lpid == l2.l1_lpid and regs.nip == 0
    # the L1's own registers are back once the hcall returns
    assert vm.vcpus[0].nested is None and vm.vcpus[0].msr == C.MSR_GUEST_KERNEL


def test_little_endian_l1_runs_an_l2():
    l0 = L0()
    vm = l0.create_l1(256 << 20, little_endian=True)
    l1 = L1(vm)
    l1.nested_init()
    l2 = l1.create_l2()
    l1.l2_map(l2, 0, 0x300000, perms="x")
    l1.l2_map(l2, 0x1000_0000, 0x200000, perms="rw")
    l1.load_program(l2, Program((Load(0x1000_0000), Hcall(H_CEDE, (5,)))))
    res = l1.run_l2(l2)
    assert res.stopped == "ceded" and l2.regs.gpr[4] == 5


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 2**64 - 1), min_size=2, max_size=2),
    st.binary(min_size=232, max_size=232),
)
def test_hostile_enter_never_raises(ptrs, junk):
    l0, vm, l1 = _setup()
    l1.nested_init()
    hv_gpa, regs_gpa = l1.buffers[0]
    vm.write_guest(hv_gpa, junk)
    for a, b in ((ptrs[0], ptrs[1]), (hv_gpa, regs_gpa)):
        r3 = do_hcall(vm, H_ENTER_NESTED, a, b)
        assert isinstance(r3, int)
