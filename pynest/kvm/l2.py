"""L2 programs, the L0 run loop and H_ENTER_NESTED.

An L2 runs a small deterministic :class:`Program`: loads, stores, hcalls and time
passing, one op per instruction address (``entry + 4*i``). Every op's instruction fetch
and data access goes through the real MMU (:func:`pynest.kvm.shadow.hw_translate`) with
the L2's *shadow* LPID, so the L2 sees exactly what the shadow tables give it.

**Modelling simplification.** Instruction words are not decoded from memory: the op at
an address comes from the Program the L1 attached to that L2 (its "instruction
memory"), but the fetch is still translated and can fault like a real one. An address
outside the program is an illegal instruction (Hypervisor Emulation Assistance, 0xE40,
which goes to the L1). A DSI/ISI caused by the L2's *own* process-scoped tables is
delivered by hardware to the L2, which has no kernel here: the op is skipped and a
``l2-guest-interrupt`` event records it.

The L0 side follows ``kvmhv_enter_nested_guest`` (``book3s_hv_nested.c``, 4.20) and
``kvmppc_handle_nested_exit`` (``book3s_hv.c``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import ArgumentTypeError, ConfigError, FieldError, check_int
from ..mmu import constants as C
from ..mmu.xlate import CpuState
from .constants import (
    DSISR_ISSTORE,
    DSISR_SRR1_MATCH_64S,
    EINTR,
    H_AUTHORITY,
    H_BAD_MODE,
    H_INTERRUPT,
    H_NOT_AVAILABLE,
    H_P2,
    H_PARAMETER,
    H_TOO_HARD,
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
from .shadow import hw_translate, nested_page_fault
from .versions import has

if TYPE_CHECKING:
    from .host import L1Vm, Vcpu
    from .nested_table import NestedGuest

NR_CPUS = 2048  # CONFIG_NR_CPUS of the ppc64 pseries/powernv defconfigs
#: L0's own timer, counted in L2 ops: after this many ops without an exit the host's
#: decrementer is due and the L2 takes an HDEC exit to L0 (see :func:`run_single_vcpu`).
MAX_OPS_PER_ENTRY = 1_000_000
MAX_RESUMES = 1000  # re-entries without the L1 in one H_ENTER_NESTED before a signal
L0_TICK = "L0 timer tick"  # the detail of the exit L0's own decrementer causes


# ------------------------------------------------------------------ programs
def _check_register(name: str, value: object) -> None:
    """A 64-bit register value, written signed (-2**63..-1) or unsigned (0..2**64-1)."""
    number = check_int(name, value, minimum=-(1 << 63))
    if number >= 1 << 64:
        raise FieldError(f"{name} must fit in 64 bits, got {number:#x}")


@dataclass(frozen=True, slots=True)
class Load:
    """Load the doubleword at ``ea`` into GPR ``rt`` (``ld rt``: 0..31)."""

    ea: int
    rt: int = 3

    def __post_init__(self) -> None:
        check_int("Load ea", self.ea, bits=64)
        check_int("Load rt", self.rt)
        if self.rt > 31:
            raise FieldError(f"Load rt must be a GPR number 0..31, got {self.rt}")


@dataclass(frozen=True, slots=True)
class Store:
    """Store the doubleword ``value`` at ``ea`` (a signed or unsigned 64-bit value)."""

    ea: int
    value: int = 0

    def __post_init__(self) -> None:
        check_int("Store ea", self.ea, bits=64)
        _check_register("Store value", self.value)


@dataclass(frozen=True, slots=True)
class Hcall:
    """``sc 1``: r3 = ``nr``, r4.. = ``args`` (at most 9: r4..r12); goes to the L1
    (trap 0xC00)."""

    nr: int
    args: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        check_int("Hcall nr", self.nr, bits=64)
        if not isinstance(self.args, tuple):
            raise ArgumentTypeError(
                f"Hcall args must be a tuple of ints, got {type(self.args).__name__}"
            )
        if len(self.args) > 9:
            raise FieldError(f"Hcall args go in r4..r12: at most 9, got {len(self.args)}")
        for i, a in enumerate(self.args):
            _check_register(f"Hcall r{4 + i}", a)


@dataclass(frozen=True, slots=True)
class Spin:
    """Compute for ``ticks`` timebase ticks (lets the L1's HDEC deadline pass): a whole
    number >= 0, since the timebase only moves forward."""

    ticks: int = 1

    def __post_init__(self) -> None:
        check_int("Spin ticks", self.ticks, bits=64)


Op = Load | Store | Hcall | Spin


@dataclass(frozen=True, slots=True)
class Program:
    """Ops at ``entry``, ``entry + 4``, ...; ``fetch`` translates each instruction fetch."""

    ops: tuple[Op, ...]
    entry: int = 0
    fetch: bool = True

    def __post_init__(self) -> None:
        check_int("entry", self.entry, bits=64)
        for op in self.ops:
            if not isinstance(op, (Load, Store, Hcall, Spin)):
                raise ConfigError(
                    f"ops must be L2 ops (one of Load, Store, Hcall, Spin), got {op!r}"
                )

    def op_at(self, nip: int) -> Op | None:
        off = nip - self.entry
        if off < 0 or off & 3 or off >> 2 >= len(self.ops):
            return None
        return self.ops[off >> 2]


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
    vm.l0.events.append(
        "l2-guest-interrupt",
        "L2",
        lpid=vm.lpid,
        l2_lpid=gp.l1_lpid,
        shadow_lpid=gp.shadow_lpid,
        ea=ea,
        dsisr=cause,
        detail=f"{what}: delivered to the L2 itself; op skipped",
    )
    vcpu.regs.nip = (vcpu.regs.nip + 4) & U64


def _exit(vcpu: Vcpu, gp: NestedGuest, trap: int, detail: str = "") -> None:
    """The L2 takes an interrupt to L0: that costs time (one timebase tick), so a
    guest that keeps faulting still reaches the L1's HDEC deadline."""
    vcpu.trap = trap
    vm = gp.l1_host
    vm.l0.timebase += 1
    vm.l0.events.append(
        "exit",
        "L2",
        lpid=vm.lpid,
        l2_lpid=gp.l1_lpid,
        shadow_lpid=gp.shadow_lpid,
        trap=trap,
        ea=vcpu.regs.nip,
        detail=detail,
    )


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
    l0.events.append(
        "l2-access",
        "L2",
        lpid=vm.lpid,
        l2_lpid=gp.l1_lpid,
        shadow_lpid=gp.shadow_lpid,
        ea=op.ea,
        gpa=t.gra,
        hpa=t.ra,
        detail=f"{access} {value:#x}{' (TLB hit)' if t.tlb_hit else ''}",
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
    ``enter_nested_guest`` counts the re-entry towards :data:`MAX_RESUMES`, so an L2
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
        l0.events.append(
            "resume",
            "L0",
            lpid=vm.lpid,
            l2_lpid=gp.l1_lpid,
            shadow_lpid=gp.shadow_lpid,
            trap=vcpu.trap,
        )
    elif r == RESUME_HOST:
        l0.events.append(
            "reflect",
            "L0",
            lpid=vm.lpid,
            l2_lpid=gp.l1_lpid,
            shadow_lpid=gp.shadow_lpid,
            trap=vcpu.trap,
            dsisr=vcpu.fault_dsisr if vcpu.trap in (0xE00, 0xE20) else None,
        )
    else:
        l0.events.append(
            "error",
            "L0",
            lpid=vm.lpid,
            l2_lpid=gp.l1_lpid,
            shadow_lpid=gp.shadow_lpid,
            trap=vcpu.trap,
            detail=f"errno {r}",
        )
    return r


def prepare_radix_vcpu(vcpu: Vcpu, gp: NestedGuest) -> None:
    """``kvmppc_prepare_radix_vcpu`` (``book3s_hv.c``, 4.20) for a nested vcpu: when the
    L2 vcpu (``nested_vcpu_id``) last ran on another physical CPU, record the new one in
    ``gp.prev_cpu``. (The kernel also marks the old core for a TLB flush of the shadow
    LPID, ``radix_flush_cpu``; pynest has one TLB for all CPUs, so nothing is stale.)"""
    prev = gp.prev_cpu.get(vcpu.nested_vcpu_id, -1)
    if prev != vcpu.pcpu:
        gp.prev_cpu[vcpu.nested_vcpu_id] = vcpu.pcpu


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
    l0.events.append(
        "enter",
        "L0",
        lpid=vm.lpid,
        l2_lpid=gp.l1_lpid,
        shadow_lpid=gp.shadow_lpid,
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
