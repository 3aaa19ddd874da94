"""H_ENTER_NESTED: L0 enters an L2 for its L1 (``kvmhv_enter_nested_guest``,
``book3s_hv_nested.c``, 4.20).

Reads and sanitises the L1's ``hv_guest_state`` and ``pt_regs``, finds or creates the
nested guest (:func:`pynest.kvm.nested.get_nested`), swaps the vcpu's registers to the
L2's, runs it with :func:`pynest.kvm.run.run_single_vcpu` until an exit the L1 must see,
and writes the L2's state back. The L2's instructions are :mod:`pynest.kvm.program`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..mmu import constants as C
from .constants import (
    EINTR,
    H_AUTHORITY,
    H_BAD_MODE,
    H_INTERRUPT,
    H_NOT_AVAILABLE,
    H_P2,
    H_PARAMETER,
    H_TOO_HARD,
    RESUME_GUEST,
    RESUME_HOST,
    TRAP_H_DATA_STORAGE,
    TRAP_H_EMUL_ASSIST,
    TRAP_H_INST_STORAGE,
    TRAP_HV_DECREMENTER,
)
from .guest_state import (
    HV_GUEST_STATE_V1_SIZE,
    HV_GUEST_STATE_VERSION,
    MSR_TS_MASK,
    MSR_TS_S,
    MSR_TS_T,
    PT_REGS_SIZE,
    HvGuestState,
    PtRegs,
    compose_l2_lpcr,
    restore_hv_regs,
    sanitise_hv_regs,
    save_hv_regs,
)
from .nested import get_nested, put_nested, update_ptbl_cache
from .radix import nested_event
from .run import prepare_radix_vcpu, run_single_vcpu
from .versions import has

if TYPE_CHECKING:
    from .host import L1Vm, Vcpu
    from .nested_table import NestedGuest


NR_CPUS = 2048  # CONFIG_NR_CPUS of the ppc64 pseries/powernv defconfigs
MAX_RESUMES = 1000  # re-entries without the L1 in one H_ENTER_NESTED before a signal


# ------------------------------------------------------------------ H_ENTER_NESTED
def _save_hv_return_state(vcpu: Vcpu, hv: HvGuestState) -> None:
    """``save_hv_return_state`` (4.20): the L2's registers and the trap's fault data."""
    for name in (
        "dpdes",
        "purr",
        "spurr",
        "ic",
        "vtb",
        "srr0",
        "srr1",
        "sprg0",
        "sprg1",
        "sprg2",
        "sprg3",
        "pidr",
        "cfar",
        "ppr",
    ):
        setattr(hv, name, vcpu.hv.get(name, 0))
    hv.hfscr = vcpu.hfscr
    if vcpu.trap == TRAP_H_DATA_STORAGE:
        hv.hdar, hv.hdsisr, hv.asdr = vcpu.fault_dar, vcpu.fault_dsisr, vcpu.fault_gpa
    elif vcpu.trap == TRAP_H_INST_STORAGE:
        hv.asdr = vcpu.fault_gpa
    elif vcpu.trap == TRAP_H_EMUL_ASSIST:
        hv.heir = vcpu.emul_inst


@dataclass(frozen=True, slots=True)
class _L1State:
    """What ``kvmhv_enter_nested_guest`` saves of the L1 before switching the vcpu to
    the L2 (``saved_l1_regs`` and ``saved_l1_hv``, whose tb_offset is ``vc->tb_offset``)."""

    regs: PtRegs
    msr: int
    hv: HvGuestState
    hfscr: int

    @classmethod
    def save(cls, vcpu: Vcpu) -> _L1State:
        hv = save_hv_regs(vcpu.hv, vcpu.hfscr, vcpu.tb_offset)
        return cls(vcpu.regs, vcpu.msr, hv, vcpu.hfscr)

    def restore(self, vcpu: Vcpu, l2_msr: int | None) -> None:
        """The "restore L1 state" block: the L1's registers back, ``vcpu->arch.nested``
        cleared. ``l2_msr`` is the L2's MSR at exit: the L1's MSR[TS] becomes Suspended
        if the L2's TS was non-zero, else Non-transactional (4.20 and later). None on
        an error path, where the L1 gets exactly what it had."""
        vcpu.nested = None
        vcpu.regs = self.regs
        vcpu.msr = self.msr
        if l2_msr is not None:
            vcpu.msr &= ~MSR_TS_MASK
            if l2_msr & MSR_TS_MASK:
                vcpu.msr |= MSR_TS_S
        vcpu.tb_offset = self.hv.tb_offset
        vcpu.hv = restore_hv_regs(self.hv)
        vcpu.hfscr = self.hfscr
        vcpu.queued_dsi = None  # a DSI for the L2 that the run did not deliver
        if l2_msr is None:
            vcpu.mmio_needed = False  # no MMIO exit to report for a run that broke


def _tm_state_refused(l1_msr: int, l2_msr: int) -> bool:
    """The TM check of ``kvmhv_enter_nested_guest`` from 5.14 (versions row
    ``nested-tm-sanitise``), after the vcpu_token check: an L1 in TM Suspended state
    must hand an L2 MSR with TS != 0; otherwise the L2's TS must be 0, and an L1 TS of
    0b11 (reserved; the kernel's WARN_ON_ONCE) is refused too."""
    l1_ts = l1_msr & MSR_TS_MASK
    if l1_ts == MSR_TS_S:
        return not l2_msr & MSR_TS_MASK
    return bool(l2_msr & MSR_TS_MASK) or bool(l1_ts)


def enter_nested_guest(vm: L1Vm, hv_ptr: int, regs_ptr: int, vcpu: Vcpu) -> int:
    """H_ENTER_NESTED: ``kvmhv_enter_nested_guest`` (``book3s_hv_nested.c``, 4.20).

    Checks in the 4.20 order: H_NOT_AVAILABLE before any H_SET_PARTITION_TABLE;
    H_PARAMETER if hv_guest_state (232 bytes at r4) cannot be read; H_P2 for a version
    other than 1 (Linux's choice of code for a bad r4 value); only then the
    ``sizeof(struct pt_regs)`` = 368 bytes at r5 (H_PARAMETER if unreadable); H_PARAMETER
    for vcpu_token >= NR_CPUS or an lpid that gets no nested guest. Afterwards
    H_AUTHORITY if the results cannot be written back, H_INTERRUPT for a pending signal,
    H_TOO_HARD after an MMIO exit (5.0, row ``nested-mmio``). Otherwise the trap number
    that ended the L2's run. The L2 MSR is forced to ME=1, HV=0: a deliberate departure
    from 4.20 and 5.0, which load the L1's value unchanged (4.20.1 line 258,
    ``vcpu->arch.shregs.msr = vcpu->arch.regs.msr``); 5.14 forces the same ("Guest
    must always run with ME enabled, HV disabled"), and the model never runs an L2 in
    hypervisor state. On the way out the L1's MSR[TS] is set
    from the L2's (Suspended if the L2 was transactional or suspended).

    A 5.14 L0 (rows ``nested-tm-sanitise`` and ``nested-lpcr-filter``) also returns
    H_BAD_MODE for an L1 in TM Transactional state (before reading anything) and for an
    L2 MSR[TS] that does not match the L1's (after the vcpu_token check), and filters
    the L2's LPCR with ``kvmppc_filter_lpcr_hv``
    (:func:`~pynest.kvm.guest_state.sanitise_hv_regs`).

    An L2 can make L0 resume it forever without the L1 (it stores to a page its L1 maps
    execute-only: the fetch re-inserts the shadow PTE, the store's PROTFAULT removes it),
    or simply compute without an exit. A real L0 keeps going until the L1's HDEC
    deadline, taking its own timer ticks (:func:`run_single_vcpu`), and a vcpu thread is
    preemptible and receives signals meanwhile. The model ends such a run the same two
    ways: every exit costs a timebase tick, and after :data:`MAX_RESUMES` re-entries
    without the L1 the vcpu takes a signal (H_INTERRUPT, r3 = 0: the L1 simply
    re-enters where the L2 stopped).

    Once the nested guest is found every way out, a Python exception included (a model
    bug, which still propagates), restores the L1's vcpu state and drops the reference
    (``kvmhv_put_nested``), so nothing is left inside the L2 and the guest can be freed.
    """
    l0 = vm.l0
    if vm.l1_ptcr == 0:
        return H_NOT_AVAILABLE
    tm_check = has(l0.kernel, "nested-tm-sanitise")
    if tm_check and vcpu.msr & MSR_TS_MASK == MSR_TS_T:
        return H_BAD_MODE
    le = bool(vcpu.msr & C.MSR_LE)
    # 4.20 order: the state, its version, and only then the registers.
    hv_raw = vm.read_guest(hv_ptr, HV_GUEST_STATE_V1_SIZE)
    if hv_raw is None:
        return H_PARAMETER
    hv = HvGuestState.from_bytes(hv_raw, le)
    if hv.version != HV_GUEST_STATE_VERSION:
        return H_P2
    regs_raw = vm.read_guest(regs_ptr, PT_REGS_SIZE)
    if regs_raw is None:
        return H_PARAMETER
    l2_regs = PtRegs.from_bytes(regs_raw, le)
    if hv.vcpu_token >= NR_CPUS:
        return H_PARAMETER
    if tm_check and _tm_state_refused(vcpu.msr, l2_regs.msr):
        return H_BAD_MODE
    lpid = hv.lpid - (1 << 32) if hv.lpid >> 31 else hv.lpid  # a C int
    saved = _L1State.save(vcpu)  # (the kernel saves after the lookup; nothing differs)
    gp = get_nested(vm, lpid, True)
    if gp is None:
        return H_PARAMETER
    l2_msr: int | None = None
    try:
        if not gp.l1_gr_to_hr:
            update_ptbl_cache(gp)
        r, hv, l2_out = _run_nested(vcpu, gp, hv, l2_regs)
        l2_msr = l2_out.msr
    finally:
        try:
            saved.restore(vcpu, l2_msr)
        finally:
            put_nested(gp)
    if not vm.write_guest(hv_ptr, hv.to_bytes(le)) or not vm.write_guest(
        regs_ptr, l2_out.to_bytes(le)
    ):
        return H_AUTHORITY
    if r == -EINTR:
        return H_INTERRUPT
    if vcpu.mmio_needed:
        vcpu.mmio_needed = False
        return H_TOO_HARD
    return vcpu.trap


def _run_nested(
    vcpu: Vcpu, gp: NestedGuest, hv: HvGuestState, l2_regs: PtRegs
) -> tuple[int, HvGuestState, PtRegs]:
    """The middle of ``kvmhv_enter_nested_guest``: switch the vcpu to the L2, run it
    until L0 returns to the L1, save the L2's state. Returns (the run loop's result,
    the hv_guest_state to write back, the L2's registers). The caller restores the L1."""
    vm = gp.l1_host
    l0 = vm.l0
    vcpu.mmio_needed = False
    hdec_exp = hv.hdec_expiry - vcpu.tb_offset
    vcpu.tb_offset += hv.tb_offset
    # switch to the L2
    vcpu.nested = gp
    vcpu.nested_vcpu_id = hv.vcpu_token
    vcpu.regs = l2_regs
    vcpu.regs.msr = (l2_regs.msr | C.MSR_ME) & ~C.MSR_HV
    if has(l0.kernel, "nested-lpcr-filter"):
        # 5.13+: sanitise_hv_regs composes and filters the LPCR into hr->lpcr
        hv = sanitise_hv_regs(vcpu.hfscr, hv, l1_vcore_lpcr=vcpu.lpcr)
        lpcr = hv.lpcr
    else:
        lpcr = compose_l2_lpcr(vcpu.lpcr, hv.lpcr)
        hv = sanitise_hv_regs(vcpu.hfscr, hv)
    vcpu.hv = restore_hv_regs(hv)
    vcpu.hfscr = hv.hfscr
    prepare_radix_vcpu(vcpu, gp)
    nested_event(
        vm,
        "enter",
        gp,
        ea=l2_regs.nip,
        detail=f"LPCR {lpcr:#x} HFSCR {hv.hfscr:#x} hdec_exp {hdec_exp}",
    )
    vcpu.trap = 0
    r = RESUME_GUEST
    resumes = 0
    while True:
        if vcpu.pending_signal or resumes >= MAX_RESUMES:
            vcpu.pending_signal = False
            r = -EINTR
            break
        resumes += 1
        if l0.timebase >= hdec_exp:
            vcpu.trap = TRAP_HV_DECREMENTER
            r = RESUME_HOST
            break
        r = run_single_vcpu(vcpu, gp, hdec_exp, lpcr)
        if r != RESUME_GUEST:
            break
    # save the L2's state for the L1
    _save_hv_return_state(vcpu, hv)
    return r, hv, vcpu.regs
