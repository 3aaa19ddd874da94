"""An L1 that does anything it can must not get out of its memory, nor crash L0.

Regression tests: each one is a bug an adversarial run found, with the input that found it.
"""

from __future__ import annotations

from pynest import scenarios as W
from pynest.kvm import shadow as S
from pynest.kvm.hcalls import H_CEDE, H_SUCCESS, H_TLB_INVALIDATE
from pynest.kvm.l1 import h_tlbie_p1_enc
from pynest.kvm.l2 import Hcall, Program, Spin

AP_OF_SHIFT = {12: 0, 16: 5, 21: 1, 30: 2}


def test_regression_tlbie_epn_above_52_bits_finds_the_low_52_bits():
    """H_TLB_INVALIDATE IS=0 with EPN bits above the 52 a tree translates raised
    AddressError out of the hcall. The kernel's lookup (__find_linux_pte, pgd_index)
    uses only the low 52 bits: EPN G | 1<<52 invalidates the shadow PTE of G."""
    w = W.two_l2s(0, run=True)
    l2 = w.l2s[0]
    gp = w.vm.nested.find(l2.lpid)
    before = S.shadow_leaves(gp)
    gpa, _slot, _pte, shift = before[-1]
    for high in (1 << 52, 0xFFF << 52):
        rb = gpa | high | AP_OF_SHIFT[shift] << 5
        assert w.l1.hcall(H_TLB_INVALIDATE, h_tlbie_p1_enc(0, 0, 1), l2.lpid, rb) == H_SUCCESS
    assert [leaf[0] for leaf in S.shadow_leaves(gp)] == [leaf[0] for leaf in before[:-1]]
    # the highest EPN with a 1G AP: the page loop's address wraps like an unsigned long
    rb = 0xFFFF_FFFF_C000_0000 | AP_OF_SHIFT[30] << 5
    assert w.l1.hcall(H_TLB_INVALIDATE, h_tlbie_p1_enc(0, 0, 1), l2.lpid, rb) == H_SUCCESS
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
