"""Effective-to-real translation: quadrants, process- and partition-scoped walks, faults.

Models ``ppc_radix64_xlate()`` and its helpers in QEMU 7.2 ``target/ppc/mmu-radix64.c``
(ISA v3.0B Book III, "Radix Tree Translation" and "Storage Protection"), in QEMU's order
of checks:

1. relocation off with MSR[HV]=1: HV real mode, ``RA = EA & 0x0FFF...``, HRMOR ORed in
   when EA bit 0 is 0. No tables are read.
2. EA bits 2:11 non-zero, or a guest using quadrant 1/2: segment interrupt (DSEG/ISEG).
3. The quadrant (EA 0:1) selects LPID and PID.
4. PATE[LPID] from the partition table at PTCR[PATB]; a misaligned table, an LPID beyond
   it or a PATE that fails validation gives HDSI/HISI with R_BADCONFIG (ASDR = EA).
5. Relocation on: the process-scoped walk. The PRTE address always goes through the
   LPID's partition-scoped tree (even LPID 0). Then the process tree is walked: with host
   real table addresses for LPID 0 in HV mode, otherwise as a full 2-D walk in which each
   entry's guest real address is itself translated first.
6. Permission check of the process-scoped PTE (privilege, PR, AMR/IAMR key 0, EAA), R/C.
7. The guest real result goes through the partition-scoped tree unless LPID 0 in HV mode;
   a fault there is HDSI/HISI with ASDR = the guest real address.

**Where pynest departs from QEMU 7.2 on purpose.** For MSR[HV]=1 accesses to quadrants
1 and 2 (the hypervisor reaching into a guest) QEMU 7.2 walks the guest's process tree
with the guest real table addresses used as host real addresses. The ISA (and POWER9
hardware, and KVM's quadrant copy helpers) does the full 2-D walk, which is what pynest
does. When every guest table page is mapped guest real = host real the two agree.

**Speed without shortcuts in the walk.** Every translation without a TLB reads every
table entry again and records it. What a :class:`CpuState` decides on its own (relocation
per access, the quadrant's LPID/PID, the PTCR checks, whether AMR/IAMR key 0 is open) is
derived once per object and kept on it, since the object is immutable; a :class:`Tlb`
remembers the answer of a repeated hit (see ``pynest.mmu.tlb``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, FieldError, check_int
from ..memory import PhysicalMemory
from . import constants as C
from .formats import Dsisr, RadixRoot, page_size_text
from .walk import (
    DATA,
    NO_PURPOSE,
    TABLE_PURPOSE,
    Purpose,
    RawStep,
    Stage,
    Tree,
    WalkFault,
    WalkStep,
    prte_purpose,
    walk,
)

if TYPE_CHECKING:
    from .tlb import Remembered, Tlb

LOAD, STORE, FETCH = 0, 1, 2
ACCESS_TYPES = {"load": LOAD, "store": STORE, "fetch": FETCH}
_ACCESS_NAMES = ("load", "store", "fetch")
PAGE_READ, PAGE_WRITE, PAGE_EXEC = 1, 2, 4
# the tree names as plain globals: an enum member lookup costs a walk ~0.1 us each
_PARTITION_TABLE, _PROCESS_TABLE = Tree.PARTITION_TABLE, Tree.PROCESS_TABLE
_PROCESS, _PARTITION = Tree.PROCESS, Tree.PARTITION
PARTITION_RC = ("set", "fault")
"""``translate(partition_rc=...)``: QEMU 7.2 sets partition-scoped R/C, POWER9 faults."""
RC_FAULT_REASON = "R/C update needed in a partition-scoped PTE"
_NEED = (PAGE_READ, PAGE_WRITE, PAGE_EXEC)


@dataclass(frozen=True, slots=True)
class CpuState:
    """The registers that steer translation on one POWER9 thread.

    Defaults are a radix hypervisor: LPCR = HR|UPRT, MSR = SF|HV|ME|IR|DR. An MSR with PR=1
    is stored with EE, IR and DR set too, as every architected way of entering problem
    state (rfid, mtmsrd; QEMU 7.2 ``hreg_store_msr``) does.
    """

    ptcr: int = 0
    lpidr: int = 0
    pidr: int = 0
    lpcr: int = C.LPCR_RADIX_HV
    msr: int = C.MSR_HV_KERNEL
    amr: int = 0
    iamr: int = 0
    hrmor: int = 0
    # what translate() reads off these registers, derived by __post_init__ (the object is
    # immutable, so it never goes stale); not a register, so not compared, hashed or shown
    _derived: _Derived = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("ptcr", "lpcr", "msr", "amr", "iamr", "hrmor"):
            check_int(name, getattr(self, name), bits=64)
        check_int("lpidr", self.lpidr, bits=32)
        check_int("pidr", self.pidr, bits=32)
        if self.msr & C.MSR_PR:
            # Problem state never runs with relocation off: writing MSR[PR]=1 (mtmsrd, rfid,
            # and QEMU 7.2's hreg_store_msr) also sets MSR[EE], MSR[IR] and MSR[DR].
            object.__setattr__(self, "msr", self.msr | C.MSR_EE | C.MSR_IR | C.MSR_DR)
        object.__setattr__(self, "_derived", _Derived(self))

    @property
    def hv(self) -> bool:
        return bool(self.msr & C.MSR_HV)

    @property
    def pr(self) -> bool:
        return bool(self.msr & C.MSR_PR)

    def replace(self, **changes: Any) -> CpuState:
        """A copy with some registers changed (validated like the constructor)."""
        return replace(self, **changes)

    def __str__(self) -> str:
        mode = "hypervisor" if self.hv else "guest"
        mode += " user" if self.pr else " privileged"
        return (
            f"CpuState({mode}; PTCR={self.ptcr:#x} LPIDR={self.lpidr} PIDR={self.pidr} "
            f"LPCR={self.lpcr:#x} MSR={self.msr:#x} AMR={self.amr:#x} IAMR={self.iamr:#x} "
            f"HRMOR={self.hrmor:#x})"
        )


class _Derived:
    """What translation reads off a :class:`CpuState` and never changes (the object is
    immutable): built by ``CpuState.__post_init__`` from the validated registers."""

    __slots__ = (
        "hv",
        "radix",
        "reloc",
        "modes",
        "notes",
        "quads",
        "ptcr_error",
        "n_pates",
        "prot_open",
    )

    def __init__(self, cpu: CpuState) -> None:
        msr = cpu.msr
        self.hv = cpu.hv
        self.radix = bool(cpu.lpcr & C.LPCR_HR)
        # by access type (LOAD, STORE, FETCH): relocation on, and the mode's name
        self.reloc = (bool(msr & C.MSR_DR), bool(msr & C.MSR_DR), bool(msr & C.MSR_IR))
        who = "hv" if self.hv else "guest"
        self.modes = tuple(who + ("" if on else "-real") for on in self.reloc)
        self.notes: tuple[str, ...] = ()
        if not cpu.lpcr & C.LPCR_UPRT:
            self.notes = ("LPCR[UPRT]=0 in radix mode (QEMU only logs this)",)
        self.quads = tuple(quadrant_ids(cpu, q << 62) for q in range(4))
        patb, pats = cpu.ptcr & C.PTCR_PATB, cpu.ptcr & C.PTCR_PATS
        self.ptcr_error = None
        if patb & ((1 << (pats + 12)) - 1):
            self.ptcr_error = (
                f"PTCR PATB {patb:#x} not aligned to the {1 << (pats + 12):#x}-byte table"
            )
        self.n_pates = 1 << (pats + 8)
        # privileged state with AMR/IAMR key 0 open: EAA alone decides a process PTE
        self.prot_open = not (msr & C.MSR_PR or cpu.amr >> 62 or cpu.iamr >> 62)


@dataclass(frozen=True, slots=True)
class Fault:
    """An architected interrupt caused by a translation.

    ``interrupt`` is one of DSI, DSEG, ISI, ISEG, HDSI, HISI; ``cause`` the
    interrupt-specific cause bits (what lands in DSISR, HDSISR, SRR1 or HSRR1).
    Registers the interrupt does not set are None. ``stage`` says where the walk
    stopped (a :class:`~pynest.mmu.walk.Stage`), ``level`` at which tree level, and
    ``reason`` says why in words. For a partition-scoped fault ``purpose`` (a
    :class:`~pynest.mmu.walk.Purpose`: data, a PRTE, a process-tree entry) says what
    the failed walk served; it is not compared (the registers are the fault).
    """

    interrupt: str
    cause: int
    stage: Stage
    reason: str
    level: int | None = None
    dsisr: int | None = None
    dar: int | None = None
    srr0: int | None = None
    srr1: int | None = None
    hdsisr: int | None = None
    hdar: int | None = None
    hsrr0: int | None = None
    hsrr1: int | None = None
    asdr: int | None = None
    purpose: Purpose = field(default=NO_PURPOSE, compare=False)

    @property
    def vector(self) -> int:
        return C.VECTORS[self.interrupt]

    @property
    def flags(self) -> list[str]:
        """Names of the cause bits (DSISR/HDSISR/SRR1 naming)."""
        return Dsisr(self.cause).flags

    def __str__(self) -> str:
        regs = []
        for name in ("dsisr", "dar", "srr0", "srr1", "hdsisr", "hdar", "hsrr0", "hsrr1", "asdr"):
            v = getattr(self, name)
            if v is not None:
                regs.append(f"{name.upper()}={v:#x}")
        at = f" level {self.level}" if self.level is not None else ""
        return (
            f"{self.interrupt} (vector {self.vector:#x}) in {self.stage}{at}: {self.reason}; "
            f"cause {Dsisr(self.cause)}; " + " ".join(regs)
        )


@dataclass(frozen=True, slots=True)
class RcUpdate:
    """A reference/change write-back to a PTE at host real ``hra``."""

    tree: str
    hra: int
    old: int
    new: int

    def __str__(self) -> str:
        bits = []
        if (self.new ^ self.old) & C.PTE_R:
            bits.append("R")
        if (self.new ^ self.old) & C.PTE_C:
            bits.append("C")
        return f"set {'+'.join(bits)} in {self.tree} PTE @ {self.hra:#x}: {self.new:#018x}"


@dataclass(slots=True)
class Translation:
    """The record of one translation: the walk, the result or the fault.

    ``ra`` is the real address (None on a fault), ``page_size`` the size of the mapping
    used (the smaller of the process and partition pages), ``gra`` the output of the
    process-scoped stage (equal to ``ra`` when there is no partition stage), ``steps``
    every memory read in order, ``rc_updates`` every R/C write-back.
    """

    ea: int
    access: str
    mode: str
    ra: int | None = None
    fault: Fault | None = None
    page_size: int | None = None
    lpid: int | None = None
    pid: int | None = None
    quadrant: int = 0
    gra: int | None = None
    raw_steps: list[RawStep] = field(default_factory=list, repr=False)
    rc_updates: list[RcUpdate] = field(default_factory=list)
    tlb_hit: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def steps(self) -> list[WalkStep]:
        """Every memory read of the walk, in order, as :class:`WalkStep` records."""
        return [WalkStep(*raw) for raw in self.raw_steps]

    @property
    def ok(self) -> bool:
        return self.fault is None

    @property
    def memory_reads(self) -> int:
        return len(self.raw_steps)

    @property
    def memory_accesses(self) -> int:
        """Reads plus R/C write-backs."""
        return len(self.raw_steps) + len(self.rc_updates)

    def __str__(self) -> str:
        head = f"{self.access} EA {self.ea:#018x} ({self.mode}, quadrant {self.quadrant}"
        if self.lpid is not None:
            head += f", LPID {self.lpid}"
        if self.pid is not None:
            head += f", PID {self.pid}"
        head += ")"
        lines = [head]
        if self.tlb_hit:
            lines.append("  TLB hit: no table read")
        lines += [f"  {i:2}. {s}" for i, s in enumerate(self.steps, 1)]
        lines += [f"      {u}" for u in self.rc_updates]
        lines += [f"  note: {n}" for n in self.notes]
        if self.fault is not None:
            lines.append(f"  -> FAULT {self.fault}")
        else:
            lines.append(
                f"  -> RA {self.ra:#x} ({page_size_text(self.page_size or 0)} page, "
                f"{self.memory_reads} reads)"
            )
        return "\n".join(lines)


def _tlb_hit_record(ea: int, access: str, remembered: Remembered) -> Translation:
    """The Translation of a TLB hit from what :meth:`Tlb.remember` kept, set slot by slot:
    on this hot path that costs half of the dataclass constructor (same record)."""
    _, mode, lpid, pid, rpn, gpn, size, notes, _ = remembered
    offset = ea & (size - 1)
    t = object.__new__(Translation)
    t.ea = ea
    t.access = access
    t.mode = mode
    t.ra = ra = rpn | offset
    t.fault = None
    t.page_size = size
    t.lpid = lpid
    t.pid = pid
    t.quadrant = ea >> 62
    t.gra = ra if gpn is None else gpn | offset
    t.raw_steps = []
    t.rc_updates = []
    t.tlb_hit = True
    t.notes = [*notes]
    return t


class _Stop(Exception):
    def __init__(self, fault: Fault) -> None:
        self.fault = fault


class _Walker:
    """The walk state that travels through one translation (QEMU's mmu_idx + env)."""

    __slots__ = (
        "mem",
        "cpu",
        "ea",
        "acc",
        "update_rc",
        "t",
        "steps",
        "words",
        "proc_pte",
        "part_pte",
        "p_root",
        "qemu_quirk",
        "rc_fault",
    )
    p_root: RadixRoot  # the partition tree of a 2-D walk, set when it starts

    def __init__(
        self,
        mem: PhysicalMemory,
        cpu: CpuState,
        ea: int,
        acc: int,
        update_rc: bool,
        t: Translation,
        qemu_quirk: bool = False,
        rc_fault: bool = False,
    ) -> None:
        self.mem = mem
        self.cpu = cpu
        self.ea = ea
        self.acc = acc
        self.update_rc = update_rc
        self.t = t
        self.steps = t.raw_steps
        # the bus read: the memory's word map when no access log is open (table addresses
        # are always 8-byte aligned, and nothing is stored beyond the end), else load64
        self.words = mem.bus_words()
        self.proc_pte: int | None = None
        self.part_pte: int | None = None
        self.qemu_quirk = qemu_quirk
        self.rc_fault = rc_fault

    # ----------------------------------------------------------- interrupts
    def _srr1_image(self) -> int:
        return self.cpu.msr & ~C.SRR1_INTERRUPT_MASK

    def raise_segi(self, reason: str) -> _Stop:
        """QEMU ppc_radix64_raise_segi: DSEG (DAR = EA) or ISEG."""
        if self.acc == FETCH:
            f = Fault(
                interrupt="ISEG", cause=0, stage=Stage.SEGMENT, reason=reason,
                srr0=self.ea, srr1=self._srr1_image(),
            )  # fmt: skip
        else:
            f = Fault(
                interrupt="DSEG", cause=0, stage=Stage.SEGMENT, reason=reason,
                dar=self.ea, srr1=self._srr1_image(),
            )  # fmt: skip
        return _Stop(f)

    def raise_si(self, cause: int, stage: Stage, reason: str, level: int | None = None) -> _Stop:
        """QEMU ppc_radix64_raise_si: DSI (DSISR = cause | store, DAR = EA) or ISI."""
        if self.acc == FETCH:
            f = Fault(
                interrupt="ISI", cause=cause, stage=stage, reason=reason, level=level,
                srr0=self.ea, srr1=self._srr1_image() | cause,
            )  # fmt: skip
        else:
            if self.acc == STORE:
                cause |= C.DSISR_ISSTORE
            f = Fault(
                interrupt="DSI",
                cause=cause,
                stage=stage,
                reason=reason,
                level=level,
                dsisr=cause,
                dar=self.ea,
                srr1=self._srr1_image(),
            )
        return _Stop(f)

    def raise_hsi(
        self,
        acc: int,
        gra: int,
        cause: int,
        stage: Stage,
        reason: str,
        level: int | None = None,
        purpose: Purpose = NO_PURPOSE,
    ) -> _Stop:
        """QEMU ppc_radix64_raise_hsi: HDSI (HDSISR, HDAR = EA, ASDR) or HISI (ASDR).
        ``purpose``: what a failed partition-scoped walk served."""
        if acc == FETCH:
            f = Fault(
                interrupt="HISI",
                cause=cause,
                stage=stage,
                reason=reason,
                level=level,
                hsrr0=self.ea,
                hsrr1=self._srr1_image() | cause,
                asdr=gra,
                purpose=purpose,
            )
        else:
            if acc == STORE:
                cause |= C.DSISR_ISSTORE
            f = Fault(
                interrupt="HDSI",
                cause=cause,
                stage=stage,
                reason=reason,
                level=level,
                hdsisr=cause,
                hdar=self.ea,
                asdr=gra,
                hsrr1=self._srr1_image(),
                purpose=purpose,
            )
        return _Stop(f)

    # ----------------------------------------------------------- R/C
    def set_rc(self, acc: int, pte: int, hra: int, tree: str) -> int:
        """QEMU ppc_radix64_set_rc: R always, C on a store; written back only if changed.

        Returns the PTE as it now is (unchanged when ``update_rc`` is off).
        """
        new = pte | (C.PTE_R | C.PTE_C if acc == STORE else C.PTE_R)
        if new != pte and self.update_rc:
            self.mem.store64(hra, new)
            self.t.rc_updates.append(RcUpdate(tree=tree, hra=hra, old=pte, new=new))
            return new
        return pte

    # ----------------------------------------------------------- partition scope
    def partition_xlate(self, gra: int, acc: int, table: bool, purpose: Purpose) -> tuple[int, int]:
        """QEMU ppc_radix64_partition_scoped_xlate: guest real -> host real.

        Table addresses (``table=True``) are translated as loads, and a fault on one adds
        DSISR_PRTABLE_FAULT and is always an HDSI. Returns (host real, page shift).
        """
        try:
            pte, pte_hra, hra, shift, level = walk(
                self.mem, self.steps, gra, self.p_root, _PARTITION, purpose
            )
        except WalkFault as wf:
            cause = wf.cause | (C.DSISR_PRTABLE_FAULT if table else 0)
            raise self.raise_hsi(
                acc, gra, cause, Stage.PARTITION, f"{wf.reason} ({purpose})", wf.level, purpose
            ) from None
        # a partition-scoped PTE is checked on EAA alone: the table answers when it allows
        denied = None if _EAA_ALLOWS[acc][pte & 0x3F] else check_prot(self.cpu, acc, pte, True)
        if denied is not None:
            cause = denied[0] | (C.DSISR_PRTABLE_FAULT if table else 0)
            reason = f"{denied[1]} ({purpose})"
            raise self.raise_hsi(acc, gra, cause, Stage.PARTITION, reason, level, purpose)
        if not pte & C.PTE_R or (acc == STORE and not pte & C.PTE_C):
            if self.rc_fault:
                # POWER9 does not set partition-scoped R/C: HDSI/HISI[ATOMIC_RC] (the
                # kernel's DSISR_SET_RC), ASDR = the guest real address needing it
                cause = C.DSISR_ATOMIC_RC | (C.DSISR_PRTABLE_FAULT if table else 0)
                raise self.raise_hsi(
                    acc, gra, cause, Stage.PARTITION, RC_FAULT_REASON, None, purpose
                )
            pte = self.set_rc(acc, pte, pte_hra, _PARTITION)
        if not table:
            self.part_pte = pte
        return hra, shift

    def _xlate_table_entry(self, gra: int, level: int) -> int:
        """A guest table entry's address through the partition tree (2-D walk step)."""
        return self.partition_xlate(gra, LOAD, True, TABLE_PURPOSE[min(level, 4)])[0]

    # ----------------------------------------------------------- process scope
    def process_xlate(self, lpid: int, pid: int, dw1: int) -> tuple[int, int]:
        """QEMU ppc_radix64_process_scoped_xlate: EA -> guest real (host real for LPID 0)."""
        prtb = dw1 & C.PRTB_MASK
        size = 1 << ((dw1 & C.PRTS_MASK) + 12)
        if prtb & (size - 1):
            raise self.raise_si(
                C.DSISR_R_BADCONFIG,
                Stage.PROCESS_TABLE,
                f"process table {prtb:#x} not aligned to its size {size:#x}",
            )
        offset = pid * 16
        if offset >= size:
            raise self.raise_si(
                C.DSISR_NOPTE,
                Stage.PROCESS_TABLE,
                f"PID {pid} is beyond the process table ({size >> 4} entries)",
            )
        prte_gra = prtb + offset
        prte_hra, _ = self.partition_xlate(prte_gra, LOAD, True, prte_purpose(pid))
        words = self.words
        prte0 = words.get(prte_hra, 0) if words is not None else self.mem.load64(prte_hra)
        self.steps.append((_PROCESS_TABLE, 0, pid, prte_gra, prte_hra, prte0, NO_PURPOSE))
        hv = self.cpu.msr & C.MSR_HV
        two_d = not hv or (lpid != 0 and not self.qemu_quirk)
        try:
            pte, pte_hra, gra, shift, level = walk(
                self.mem,
                self.steps,
                self.ea & C.EA_NOQUAD_MASK,
                RadixRoot.decode(prte0),
                _PROCESS,
                NO_PURPOSE,
                self._xlate_table_entry if two_d else None,
            )
        except WalkFault as wf:
            raise self.raise_si(wf.cause, Stage.PROCESS, wf.reason, wf.level) from None
        cpu = self.cpu
        acc = self.acc
        # privileged state with AMR/IAMR key 0 open leaves EAA alone to decide (the
        # privilege bit matters only in problem state): the table answers when it allows
        allowed = cpu._derived.prot_open and _EAA_ALLOWS[acc][pte & 0x3F]
        denied = None if allowed else check_prot(cpu, acc, pte, False)
        if denied is not None:
            raise self.raise_si(denied[0], Stage.PROCESS, denied[1], level)
        if not pte & C.PTE_R or (acc == STORE and not pte & C.PTE_C):
            pte = self.set_rc(acc, pte, pte_hra, _PROCESS)
        self.proc_pte = pte
        return gra, shift


def check_prot(cpu: CpuState, acc: int, pte: int, partition_scoped: bool) -> tuple[int, str] | None:
    """Models QEMU 7.2 ppc_radix64_check_prot (ISA v3.0B "Storage Protection", radix).

    Returns (cause, reason) when the access is denied, None when allowed. A fetch from a
    non-idempotent I/O page is refused first. For a process-scoped PTE the privileged
    bit denies problem state everything; a privileged access to a non-privileged page is
    further limited by AMR/IAMR key 0. A partition-scoped PTE is checked on EAA alone.
    """
    if acc == FETCH and pte & C.PTE_ATT == C.PTE_ATT_NI_IO:
        return C.SRR1_NOEXEC_GUARD, "instruction fetch from a non-idempotent I/O (guarded) page"
    prot = _eaa_prot(pte)
    why = ""
    if not partition_scoped:
        pr = cpu.msr & C.MSR_PR
        if pte & C.PTE_EAA_PRIV and pr:
            prot = 0
            why = " (privileged page, MSR[PR]=1)"
        elif not pr and not pte & C.PTE_EAA_PRIV:
            amr_prot = _amr_prot(cpu)
            if prot & ~amr_prot & _NEED[acc]:
                why = " (AMR/IAMR key 0 blocks it)"
            prot &= amr_prot
    if _NEED[acc] & ~prot:
        cause = C.SRR1_NOEXEC_GUARD if acc == FETCH else C.DSISR_PROTFAULT
        return cause, f"{_ACCESS_NAMES[acc]} not permitted by EAA {_eaa_text(pte)}{why}"
    return None


def _eaa_allows(acc: int, pte: int) -> bool:
    """Whether EAA and ATT alone (PTE bits 58:63) permit the access: read or read/write
    for a load, read/write for a store, execute and not guarded I/O for a fetch."""
    if acc == FETCH and pte & C.PTE_ATT == C.PTE_ATT_NI_IO:
        return False
    return bool(_NEED[acc] & _eaa_prot(pte))


def _eaa_prot(pte: int) -> int:
    prot = 0
    if pte & C.PTE_EAA_READ:
        prot |= PAGE_READ
    if pte & C.PTE_EAA_RW:
        prot |= PAGE_READ | PAGE_WRITE
    if pte & C.PTE_EAA_EXEC:
        prot |= PAGE_EXEC
    return prot


_EAA_ALLOWS = tuple(
    tuple(_eaa_allows(acc, low) for low in range(64)) for acc in (LOAD, STORE, FETCH)
)
"""``_EAA_ALLOWS[acc][pte & 0x3F]`` is :func:`_eaa_allows` looked up (the walks' fast path)."""


def _eaa_text(pte: int) -> str:
    return "".join(ch if pte & (8 >> i) else "-" for i, ch in enumerate("prwx"))


def _amr_prot(cpu: CpuState) -> int:
    amr = cpu.amr >> 62
    iamr = cpu.iamr >> 62
    return (
        (0 if amr & 2 else PAGE_WRITE)
        | (0 if amr & 1 else PAGE_READ)
        | (0 if iamr & 1 else PAGE_EXEC)
    )


def quadrant_ids(cpu: CpuState, ea: int) -> tuple[int, int] | None:
    """(LPID, PID) selected by EA bits 0:1, or None for a guest's quadrant 1/2.

    Models QEMU ppc_radix64_get_fully_qualified_addr (ISA: "Fully-Qualified Address").
    """
    q = ea >> 62
    if cpu.msr & C.MSR_HV:
        return ((0, cpu.pidr), (cpu.lpidr, cpu.pidr), (cpu.lpidr, 0), (0, 0))[q]
    if q == 0:
        return cpu.lpidr, cpu.pidr
    if q == 3:
        return cpu.lpidr, 0
    return None


def access_type(access: str) -> int:
    """The ``ACCESS_TYPES`` code of ``'load'``, ``'store'`` or ``'fetch'``; a FieldError
    names any other value."""
    try:
        return ACCESS_TYPES[access]
    except (KeyError, TypeError):
        raise FieldError(f"access must be 'load', 'store' or 'fetch', got {access!r}") from None


def translate(
    mem: PhysicalMemory,
    cpu: CpuState,
    ea: int,
    access: str = "load",
    update_rc: bool = True,
    tlb: Tlb | None = None,
    *,
    qemu_7_2_quirk: bool = False,
    partition_rc: str = "set",
) -> Translation:
    """Translate effective address ``ea`` for a load, store or instruction fetch.

    Models QEMU 7.2 ``ppc_radix64_xlate()`` (see the module docstring for the order of
    checks and the one deliberate departure). With ``update_rc=False`` nothing is
    written (a debugger's view, QEMU's ``guest_visible=false``) and the TLB is neither
    used nor filled. With a :class:`~pynest.mmu.tlb.Tlb`, a hit that permits the access
    answers without reading tables; a miss walks and fills the TLB.

    ``qemu_7_2_quirk=True`` reproduces QEMU 7.2 for hypervisor accesses to quadrants 1
    and 2: the guest's process tree is walked with its guest real table addresses used as
    host real addresses (only the PRTE address and the final guest real address go
    through the partition-scoped tree). The default is the architected 2-D walk.

    ``partition_rc`` says what a partition-scoped PTE that needs R (or C, for a store)
    gets: ``"set"`` (QEMU 7.2 ``ppc_radix64_set_rc``: written back) or ``"fault"``
    (POWER9, which never sets partition-scoped R/C: an HDSI, or an HISI when the PTE maps
    the fetched instruction, with ATOMIC_RC, PRTABLE_FAULT when the PTE maps a table the
    walk reads, and ASDR = the guest real address concerned; the walk stops there).
    """
    if type(ea) is not int or not 0 <= ea < 1 << 64:
        check_int("ea", ea, bits=64)  # raises the error that names the bad value
    if partition_rc != "set" and partition_rc not in PARTITION_RC:
        raise FieldError(f"partition_rc must be 'set' or 'fault', got {partition_rc!r}")
    if not isinstance(mem, PhysicalMemory):
        raise ConfigError(f"mem must be a PhysicalMemory, got {type(mem).__name__}")
    if tlb is not None and update_rc and not qemu_7_2_quirk:
        # A repeated hit: the same CpuState object (so a valid one), access and 4 KiB
        # page as a hit that Tlb.remember() kept; nothing else can match its key.
        remembered = tlb.recall(cpu, access, ea)
        if remembered is not None:
            return _tlb_hit_record(ea, access, remembered)
    if not isinstance(cpu, CpuState):
        raise ConfigError(f"cpu must be a CpuState, got {type(cpu).__name__}")
    try:
        acc = ACCESS_TYPES[access]
    except (KeyError, TypeError):
        acc = access_type(access)  # raises the error that names the bad value
    d = cpu._derived
    hv = d.hv
    reloc = d.reloc[acc]
    quadrant = ea >> 62
    if not reloc and hv:
        ra = ea & C.REAL_MODE_MASK
        if not ea >> 63:
            ra |= cpu.hrmor
        return Translation(
            ea=ea, access=access, mode="hv-real", ra=ra, page_size=C.PAGE_4K,
            quadrant=quadrant, gra=ra,
        )  # fmt: skip
    if not d.radix:
        raise ConfigError(
            f"LPCR={cpu.lpcr:#x} has HR=0, which selects the hashed page table; "
            "pynest models radix translation only (set LPCR_HR)"
        )
    mode = d.modes[acc]
    notes = [*d.notes]
    if qemu_7_2_quirk and hv and quadrant in (1, 2):
        notes.append("QEMU 7.2 quirk: guest table addresses used as host real addresses")
    ids = None if ea & C.EA_SEGMENT_CHECK else d.quads[quadrant]
    if tlb is not None and update_rc and ids is not None:
        # a TLB hit is answered before any walk state is built
        pid = ids[1] if reloc else None
        hit = tlb.lookup_for(cpu, acc, ids[0], pid, ea & C.EA_NOQUAD_MASK)
        if hit is not None:
            ra, gra, size = hit
            remembered = tlb.remember(
                cpu, access, ea, mode, ids[0], pid, ra, gra, size, notes,
                keep=not qemu_7_2_quirk,  # the fast path above never serves the quirk
            )  # fmt: skip
            return _tlb_hit_record(ea, access, remembered)
    t = Translation(ea=ea, access=access, mode=mode, quadrant=quadrant, notes=notes)
    w = _Walker(mem, cpu, ea, acc, update_rc, t, qemu_7_2_quirk, partition_rc == "fault")
    try:
        if ids is None:
            if ea & C.EA_SEGMENT_CHECK:
                raise w.raise_segi(f"EA bits 2:11 are not zero ({ea & C.EA_SEGMENT_CHECK:#x})")
            raise w.raise_segi(f"quadrant {quadrant} is not accessible with MSR[HV]=0")
        lpid, pid = ids
        t.lpid = lpid
        t.pid = pid if reloc else None
        dw1 = _get_pate(w, cpu, d, lpid)
        page_shift = 64
        if reloc:
            gra, page_shift = w.process_xlate(lpid, pid, dw1)
        else:
            gra = ea & C.EA_NOQUAD_MASK
        t.gra = gra
        if lpid or not hv:
            ra, part_shift = w.partition_xlate(gra, acc, False, DATA)
            page_shift = min(page_shift, part_shift)
        else:
            ra = gra
        t.ra = ra
        t.page_size = 1 << page_shift
    except _Stop as stop:
        t.fault = stop.fault
        return t
    if tlb is not None and update_rc:
        tlb.fill(t, w.proc_pte, w.part_pte)
    return t


def _get_pate(w: _Walker, cpu: CpuState, d: _Derived, lpid: int) -> int:
    """Models QEMU ppc64_v3_get_pate + validate_pate; returns dw1, stores dw0 in ``w``."""
    ea = w.ea
    if d.ptcr_error is not None:
        raise w.raise_hsi(w.acc, ea, C.DSISR_R_BADCONFIG, Stage.PARTITION_TABLE, d.ptcr_error)
    if lpid >= d.n_pates:
        raise w.raise_hsi(
            w.acc,
            ea,
            C.DSISR_R_BADCONFIG,
            Stage.PARTITION_TABLE,
            f"LPID {lpid} is beyond the partition table ({d.n_pates} entries)",
        )
    addr = (cpu.ptcr & C.PTCR_PATB) + 16 * lpid
    words = w.words
    if words is not None:
        dw0 = words.get(addr, 0)
        dw1 = words.get(addr + 8, 0)
    else:
        dw0 = w.mem.load64(addr)
        dw1 = w.mem.load64(addr + 8)
    steps = w.steps
    steps.append((_PARTITION_TABLE, 0, lpid, addr, addr, dw0, NO_PURPOSE))
    steps.append((_PARTITION_TABLE, 1, lpid, addr + 8, addr + 8, dw1, NO_PURPOSE))
    if not dw0 & C.PATE0_HR:
        reason = f"PATE[{lpid}] has HR=0 (not a radix partition)"
    elif lpid == 0 and not d.hv:
        reason = "LPID 0 is the hypervisor's: a guest (MSR[HV]=0) may not use it"
    elif dw0 & C.RPDS_MASK < 5:
        reason = f"PATE[{lpid}] root size RPDS={dw0 & C.RPDS_MASK} is below 5"
    else:
        w.p_root = RadixRoot.decode(dw0)
        return dw1
    raise w.raise_hsi(w.acc, ea, C.DSISR_R_BADCONFIG, Stage.PARTITION_TABLE, reason)
