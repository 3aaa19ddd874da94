"""L0 runs an L2: one vcpu, op by op, until an exit (``book3s_hv.c``, 4.20).

Every op's instruction fetch and data access goes through the real MMU
(:func:`pynest.kvm.shadow.hw_translate`) with the L2's *shadow* LPID, so the L2 sees
exactly what the shadow tables give it. An address outside the program is an illegal
instruction (Hypervisor Emulation Assistance, 0xE40, which goes to the L1). A DSI/ISI
caused by the L2's *own* process-scoped tables is delivered by hardware to the L2, which
has no kernel here: the op is skipped and a ``l2-guest-interrupt`` event records it.

Models ``kvmhv_run_single_vcpu`` (its loop, L0's own timer tick),
``kvmppc_handle_nested_exit`` and ``kvmppc_prepare_radix_vcpu``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..mmu.xlate import CpuState
from .constants import (
    DSISR_ISSTORE,
    DSISR_SRR1_MATCH_64S,
    HSRR1_HISI_WRITE,
    RESUME_GUEST,
    RESUME_HOST,
    TRAP_H_DATA_STORAGE,
    TRAP_H_EMUL_ASSIST,
    TRAP_H_INST_STORAGE,
    TRAP_HV_DECREMENTER,
    TRAP_SYSCALL,
    U64,
    hcall_name,
)
from .program import Hcall, Load, Spin
from .radix import nested_event
from .shadow import hw_translate, nested_page_fault

if TYPE_CHECKING:
    from .host import Vcpu
    from .nested_table import NestedGuest


#: L0's own timer, counted in L2 ops: after this many ops without an exit the host's
#: decrementer is due and the L2 takes an HDEC exit to L0 (see :func:`run_single_vcpu`).
MAX_OPS_PER_ENTRY = 1_000_000
L0_TICK = "L0 timer tick"  # the detail of the exit L0's own decrementer causes


# ------------------------------------------------------------------ one L2 run
def _cpu_for(vcpu: Vcpu, gp: NestedGuest, lpcr: int) -> CpuState:
    vm = gp.l1_host
    return CpuState(
        ptcr=vm.l0.ptcr,
        lpidr=gp.shadow_lpid,
        pidr=vcpu.hv.get("pidr", 0) & 0xFFFF_FFFF,
        lpcr=lpcr,
        msr=vcpu.regs.msr & (2**64 - 1),
    )


def _guest_interrupt(vcpu: Vcpu, gp: NestedGuest, what: str, ea: int, cause: int) -> None:
    vm = gp.l1_host
    nested_event(
        vm,
        "l2-guest-interrupt",
        gp,
        ea=ea,
        dsisr=cause,
        detail=f"{what}: delivered to the L2 itself; op skipped",
        actor="L2",
    )
    vcpu.regs.nip = (vcpu.regs.nip + 4) & U64


def _exit(vcpu: Vcpu, gp: NestedGuest, trap: int, detail: str = "") -> None:
    """The L2 takes an interrupt to L0: that costs time (one timebase tick), so a
    guest that keeps faulting still reaches the L1's HDEC deadline."""
    vcpu.trap = trap
    vm = gp.l1_host
    vm.l0.timebase += 1
    nested_event(vm, "exit", gp, trap=trap, ea=vcpu.regs.nip, detail=detail, actor="L2")


def _step(vcpu: Vcpu, gp: NestedGuest, cpu: CpuState) -> bool:
    """Execute one op; True when the L2 stopped with an exit in ``vcpu.trap``."""
    vm = gp.l1_host
    l0 = vm.l0
    regs = vcpu.regs
    nip = regs.nip
    program = vm.programs.get(gp.l1_lpid)
    op = program.op_at(nip) if program is not None else None
    if program is None or op is None:
        vcpu.emul_inst = 0
        _exit(vcpu, gp, TRAP_H_EMUL_ASSIST, "no instruction here (illegal instruction)")
        return True
    if program.fetch:
        t = hw_translate(l0, cpu, nip, "fetch")
        f = t.fault
        if f is not None:
            if f.interrupt == "HISI":
                vcpu.fault_gpa = f.asdr or 0
                regs.msr = f.hsrr1 if f.hsrr1 is not None else regs.msr
                _exit(vcpu, gp, TRAP_H_INST_STORAGE, f.reason)
                return True
            if f.interrupt == "HDSI":  # a table read of the fetch's walk
                vcpu.fault_dar = f.hdar or 0
                vcpu.fault_dsisr = f.hdsisr or 0
                vcpu.fault_gpa = f.asdr or 0
                _exit(vcpu, gp, TRAP_H_DATA_STORAGE, f.reason)
                return True
            _guest_interrupt(vcpu, gp, f.interrupt, nip, f.cause)
            return False
    if isinstance(op, Spin):
        l0.timebase += op.ticks
        regs.nip = (regs.nip + 4) & U64
        return False
    if isinstance(op, Hcall):
        regs.gpr[3] = op.nr & (2**64 - 1)
        for i, a in enumerate(op.args[:9]):
            regs.gpr[4 + i] = a & (2**64 - 1)
        regs.nip = (regs.nip + 4) & U64
        l0.timebase += 1
        _exit(vcpu, gp, TRAP_SYSCALL, f"sc 1: {hcall_name(op.nr)}")
        return True
    access = "load" if isinstance(op, Load) else "store"
    t = hw_translate(l0, cpu, op.ea, access)
    f = t.fault
    if f is not None:
        if f.interrupt == "HDSI":
            vcpu.fault_dar = f.hdar or 0
            vcpu.fault_dsisr = f.hdsisr or 0
            vcpu.fault_gpa = f.asdr or 0
            _exit(vcpu, gp, TRAP_H_DATA_STORAGE, f.reason)
            return True
        _guest_interrupt(vcpu, gp, f.interrupt, op.ea, f.cause)
        return False
    assert t.ra is not None
    if isinstance(op, Load):
        regs.gpr[op.rt] = int.from_bytes(l0.mem.read(t.ra, 8), "big")
        value = regs.gpr[op.rt]
    else:
        l0.mem.write(t.ra, (op.value & (2**64 - 1)).to_bytes(8, "big"))
        value = op.value
    nested_event(
        vm,
        "l2-access",
        gp,
        ea=op.ea,
        gpa=t.gra,
        hpa=t.ra,
        detail=f"{access} {value:#x}{' (TLB hit)' if t.tlb_hit else ''}",
        actor="L2",
    )
    regs.nip = (regs.nip + 4) & U64
    l0.timebase += 1
    return False


def handle_nested_exit(vcpu: Vcpu) -> int:
    """``kvmppc_handle_nested_exit`` (``book3s_hv.c``): RESUME_GUEST to re-enter the L2
    without the L1, RESUME_HOST to return the trap to the L1, or a negative errno.

    0x980 (HDEC) is L0's own tick in 4.20 (the deadline test is in the enter loop);
    0xE00/0xE20 go to :func:`~pynest.kvm.shadow.nested_page_fault` (for an HISI the
    fault DSISR is taken from HSRR1, plus ISSTORE when HISI_WRITE is set); every other
    trap, including 0xC00 (an hcall from the L2) and 0xE40, goes to the L1.
    """
    gp = vcpu.nested
    assert gp is not None, "a nested exit of a vcpu that runs no L2"
    trap = vcpu.trap
    if trap == TRAP_HV_DECREMENTER:
        return RESUME_GUEST
    if trap == TRAP_H_INST_STORAGE:
        vcpu.fault_dar = vcpu.regs.nip
        vcpu.fault_dsisr = vcpu.regs.msr & DSISR_SRR1_MATCH_64S
        if vcpu.regs.msr & HSRR1_HISI_WRITE:
            vcpu.fault_dsisr |= DSISR_ISSTORE
    if trap in (TRAP_H_DATA_STORAGE, TRAP_H_INST_STORAGE):
        return nested_page_fault(vcpu)
    del gp
    return RESUME_HOST


def run_single_vcpu(vcpu: Vcpu, gp: NestedGuest, hdec_exp: int, lpcr: int) -> int:
    """One entry into the L2 until an exit, and L0's decision about it.

    Stands for ``kvmhv_run_single_vcpu`` with ``vcpu->arch.nested`` set: the CPU runs
    with LPIDR = the shadow LPID, the L2's PIDR and the composed LPCR; the hypervisor
    decrementer fires when the timebase reaches ``hdec_exp``.

    L0's own timer ends a long run: ``kvmhv_p9_guest_entry`` (4.20) loads HDEC with the
    earlier of the L1's deadline and the host's next decrementer expiry
    (``local_paca->kvm_hstate.dec_expires``), so a host timer interrupt also arrives as
    HDEC (0x980), which ``kvmppc_handle_nested_exit`` answers with RESUME_GUEST. The
    model's host decrementer expires after :data:`MAX_OPS_PER_ENTRY` ops without an
    exit: an ``exit`` event with trap 0x980 and detail :data:`L0_TICK`, then ``resume``.
    ``enter_nested_guest`` counts the re-entry towards :data:`pynest.kvm.l2.MAX_RESUMES`, so an L2
    that never exits ends the hcall with H_INTERRUPT, its state saved for the L1.
    """
    vm = gp.l1_host
    l0 = vm.l0
    cpu = _cpu_for(vcpu, gp, lpcr)
    for _ in range(MAX_OPS_PER_ENTRY):
        if l0.timebase >= hdec_exp:
            _exit(vcpu, gp, TRAP_HV_DECREMENTER, "HDEC expired")
            break
        if _step(vcpu, gp, cpu):
            break
        cpu = cpu if vcpu.regs.msr == cpu.msr else _cpu_for(vcpu, gp, lpcr)
    else:
        _exit(vcpu, gp, TRAP_HV_DECREMENTER, f"{L0_TICK}: HDEC capped at L0's decrementer")
    r = handle_nested_exit(vcpu)
    if vcpu.queued_dsi is not None:
        ea, dsisr = vcpu.queued_dsi
        vcpu.queued_dsi = None
        _guest_interrupt(vcpu, gp, "DSI queued by L0", ea, dsisr)
    if vcpu.mmio_needed and vcpu.trap == TRAP_H_DATA_STORAGE:
        op = vm.programs[gp.l1_lpid].op_at(vcpu.regs.nip)
        if isinstance(op, Load):
            vcpu.regs.gpr[op.rt] = 0  # no device model: the MMIO load reads 0
        vcpu.regs.nip = (vcpu.regs.nip + 4) & U64
    if r == RESUME_GUEST:
        nested_event(vm, "resume", gp, trap=vcpu.trap)
    elif r == RESUME_HOST:
        nested_event(
            vm,
            "reflect",
            gp,
            trap=vcpu.trap,
            dsisr=vcpu.fault_dsisr if vcpu.trap in (0xE00, 0xE20) else None,
        )
    else:
        nested_event(vm, "error", gp, trap=vcpu.trap, detail=f"errno {r}")
    return r


def prepare_radix_vcpu(vcpu: Vcpu, gp: NestedGuest) -> None:
    """``kvmppc_prepare_radix_vcpu`` (``book3s_hv.c``, 4.20) for a nested vcpu: when the
    L2 vcpu (``nested_vcpu_id``) last ran on another physical CPU, record the new one in
    ``gp.prev_cpu``. (The kernel also marks the old core for a TLB flush of the shadow
    LPID, ``radix_flush_cpu``; pynest has one TLB for all CPUs, so nothing is stale.)"""
    prev = gp.prev_cpu.get(vcpu.nested_vcpu_id, -1)
    if prev != vcpu.pcpu:
        gp.prev_cpu[vcpu.nested_vcpu_id] = vcpu.pcpu
