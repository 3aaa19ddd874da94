"""``struct hv_guest_state`` and ``struct pt_regs``: what an L1 hands L0 in H_ENTER_NESTED.

Both live in L1 memory (r4 and r5 of H_ENTER_NESTED hold their guest real addresses)
in the **L1's byte order**; L0 swaps every field when the L1's MSR[LE] differs from its
own (big-endian here). Layouts: Linux ``asm/hvcall.h`` (hv_guest_state, version 1 = 232
bytes; version 2, Linux 5.12, adds dawr1/dawrx1: 248 bytes) and the kernel's own
``struct pt_regs`` of ``asm/ptrace.h``, of which L0 reads and writes
``sizeof(struct pt_regs)``: the 44 doublewords of the user-visible part plus ``ppr`` and
a ``__pad`` doubleword, **368 bytes** in 4.20 and 5.0 (384 from 5.11, where a union of
ppr/kuap/amr/iamr and ``__pad[4]`` follow). 352 bytes (44 doublewords) is QEMU's
``struct kvmppc_pt_regs``: what a QEMU L0 reads.

The sanitisation of L1-supplied values follows the 4.20 kernel: only the LPCR bits in
:data:`LPCR_L1_MASK` come from the L1 (``kvmhv_enter_nested_guest``), and
``sanitise_hv_regs`` limits HFSCR to what L0 allows the L1 (``vcpu->arch.hfscr``, plus
the interrupt-cause byte), removes hypervisor-state matching from DAWRX0 and drops a
hypervisor-privilege CIABR. From 5.13 ``sanitise_hv_regs`` also composes the LPCR and
passes it through ``kvmppc_filter_lpcr_hv`` (:func:`filter_lpcr_hv`, versions row
``nested-lpcr-filter``). (5.14 still has ``sanitise_hv_regs``; by 5.15 it is folded
into ``load_l2_hv_regs``, whose HFSCR mask is ``HFSCR_INTR_CAUSE |
vcpu->arch.hfscr_permitted`` and which cleans DAWRX1 too.)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field, fields, replace

HV_GUEST_STATE_VERSION = 1  # 4.20; later kernels accept 1 and 2
HV_GUEST_STATE_V1_SIZE = 232
HV_GUEST_STATE_V2_SIZE = 248
PT_REGS_SIZE = 46 * 8  # sizeof(struct pt_regs), 4.20 ppc64 kernel: 368
QEMU_PT_REGS_SIZE = 44 * 8  # QEMU's struct kvmppc_pt_regs: 352

# LPCR bits (asm/reg.h)
LPCR_DPFD = 7 << 52
LPCR_ILE = 0x0000_0000_0200_0000
LPCR_AIL = 0x0000_0000_0180_0000
LPCR_AIL_3 = 0x0000_0000_0180_0000  # AIL = 3: MMU-on interrupts at 0xc000...4xxx
LPCR_LD = 0x0000_0000_0002_0000
LPCR_MER = 0x0000_0000_0000_0800
LPCR_TC = 0x0000_0000_0000_0200
LPCR_LPES = 0x0000_0000_0000_000C
#: kvmhv_enter_nested_guest: "Don't let L1 change LPCR bits for the L2 except these"
LPCR_L1_MASK = LPCR_DPFD | LPCR_ILE | LPCR_TC | LPCR_AIL | LPCR_LD | LPCR_LPES | LPCR_MER

# MSR transactional-memory state (asm/reg.h): TS is MSR bits 29:30 (1 << 34, 1 << 33)
MSR_TS_S = 1 << 33  # Suspended
MSR_TS_T = 1 << 34  # Transactional
MSR_TS_MASK = MSR_TS_T | MSR_TS_S

HFSCR_INTR_CAUSE = 0xFF << 56  # FSCR_INTR_CAUSE: the interrupt-cause byte
DAWRX_HYP = 1 << 2
CIABR_PRIV = 0x3
CIABR_PRIV_HYPER = 3

# (name, struct format char) in memory order; "Q" u64, "I" u32, "q" s64
_HV_FIELDS: tuple[tuple[str, str], ...] = (
    ("version", "Q"),
    ("lpid", "I"),
    ("vcpu_token", "I"),
    ("lpcr", "Q"),
    ("pcr", "Q"),
    ("amor", "Q"),
    ("dpdes", "Q"),
    ("hfscr", "Q"),
    ("tb_offset", "q"),
    ("dawr0", "Q"),
    ("dawrx0", "Q"),
    ("ciabr", "Q"),
    ("hdec_expiry", "Q"),
    ("purr", "Q"),
    ("spurr", "Q"),
    ("ic", "Q"),
    ("vtb", "Q"),
    ("hdar", "Q"),
    ("hdsisr", "Q"),
    ("heir", "Q"),
    ("asdr", "Q"),
    ("srr0", "Q"),
    ("srr1", "Q"),
    ("sprg0", "Q"),
    ("sprg1", "Q"),
    ("sprg2", "Q"),
    ("sprg3", "Q"),
    ("pidr", "Q"),
    ("cfar", "Q"),
    ("ppr", "Q"),
    ("dawr1", "Q"),
    ("dawrx1", "Q"),
)
_HV_FMT = "".join(f for _, f in _HV_FIELDS)

#: The registers ``kvmhv_save_hv_regs`` / ``restore_hv_regs`` move between vcpu and struct.
HV_REGS = (
    "pcr",
    "dpdes",
    "hfscr",
    "dawr0",
    "dawrx0",
    "ciabr",
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
)


def _order(little_endian: bool) -> str:
    return "<" if little_endian else ">"


@dataclass
class HvGuestState:
    """``struct hv_guest_state`` (field meanings: nested-hv.md section 5.1)."""

    version: int = HV_GUEST_STATE_VERSION
    lpid: int = 0
    vcpu_token: int = 0
    lpcr: int = 0
    pcr: int = 0
    amor: int = 0
    dpdes: int = 0
    hfscr: int = 0
    tb_offset: int = 0
    dawr0: int = 0
    dawrx0: int = 0
    ciabr: int = 0
    hdec_expiry: int = 0
    purr: int = 0
    spurr: int = 0
    ic: int = 0
    vtb: int = 0
    hdar: int = 0
    hdsisr: int = 0
    heir: int = 0
    asdr: int = 0
    srr0: int = 0
    srr1: int = 0
    sprg0: int = 0
    sprg1: int = 0
    sprg2: int = 0
    sprg3: int = 0
    pidr: int = 0
    cfar: int = 0
    ppr: int = 0
    dawr1: int = 0
    dawrx1: int = 0

    @staticmethod
    def size_of(version: int) -> int:
        """``hv_guest_state_size`` (Linux 5.12+): bytes for a version, -1 for an unknown
        one. 4.20 knows only version 1 (232 bytes)."""
        return {1: HV_GUEST_STATE_V1_SIZE, 2: HV_GUEST_STATE_V2_SIZE}.get(version, -1)

    def to_bytes(self, little_endian: bool = False, size: int = HV_GUEST_STATE_V1_SIZE) -> bytes:
        """The struct image in the given byte order, truncated to ``size`` bytes."""
        values = []
        for name, f in _HV_FIELDS:
            v = getattr(self, name) & (0xFFFF_FFFF if f == "I" else 2**64 - 1)
            values.append(v - (1 << 64) if f == "q" and v >> 63 else v)
        return struct.pack(_order(little_endian) + _HV_FMT, *values)[:size]

    @classmethod
    def from_bytes(cls, data: bytes, little_endian: bool = False) -> HvGuestState:
        """Decode an image of at least 232 bytes (missing v2 fields read as 0)."""
        full = bytes(data) + bytes(HV_GUEST_STATE_V2_SIZE - len(data))
        values = struct.unpack(_order(little_endian) + _HV_FMT, full[:HV_GUEST_STATE_V2_SIZE])
        return cls(**{name: v for (name, _), v in zip(_HV_FIELDS, values, strict=True)})

    def copy(self) -> HvGuestState:
        return replace(self)


@dataclass
class PtRegs:
    """The 4.20 ppc64 kernel ``struct pt_regs``: gpr[32], nip, msr, orig_gpr3, ctr, link,
    xer, ccr, softe, trap, dar, dsisr, result, then ppr and ``__pad`` (all 64-bit; 368
    bytes). ``to_bytes(qemu=True)`` gives QEMU's 352-byte ``kvmppc_pt_regs`` (no ppr,
    no pad)."""

    gpr: list[int] = field(default_factory=lambda: [0] * 32)
    nip: int = 0
    msr: int = 0
    orig_gpr3: int = 0
    ctr: int = 0
    link: int = 0
    xer: int = 0
    ccr: int = 0
    softe: int = 0
    trap: int = 0
    dar: int = 0
    dsisr: int = 0
    result: int = 0
    ppr: int = 0
    pad: int = 0

    def to_bytes(self, little_endian: bool = False, qemu: bool = False) -> bytes:
        words = list(self.gpr) + [getattr(self, f.name) for f in fields(self)[1:]]
        n = (QEMU_PT_REGS_SIZE if qemu else PT_REGS_SIZE) // 8
        fmt = f"{_order(little_endian)}{n}Q"
        return struct.pack(fmt, *(w & (2**64 - 1) for w in words[:n]))

    @classmethod
    def from_bytes(cls, data: bytes, little_endian: bool = False) -> PtRegs:
        """Decode a 368-byte image (a shorter one, e.g. QEMU's 352, reads as zeros)."""
        raw = bytes(data)[:PT_REGS_SIZE]
        raw += bytes(PT_REGS_SIZE - len(raw))
        words = struct.unpack(_order(little_endian) + f"{PT_REGS_SIZE // 8}Q", raw)
        names = [f.name for f in fields(cls)[1:]]
        return cls(list(words[:32]), **dict(zip(names, words[32:], strict=True)))

    def copy(self) -> PtRegs:
        return replace(self, gpr=list(self.gpr))


def compose_l2_lpcr(l1_vcore_lpcr: int, l1_requested: int) -> int:
    """The LPCR the L2 runs with: L1's vcore LPCR outside :data:`LPCR_L1_MASK`, the
    L1's requested value inside it (``kvmhv_enter_nested_guest``, 4.20)."""
    return (l1_vcore_lpcr & ~LPCR_L1_MASK) | (l1_requested & LPCR_L1_MASK)


def filter_lpcr_hv(lpcr: int) -> int:
    """``kvmppc_filter_lpcr_hv`` (``book3s_hv.c``, 5.13; read in 5.14.2) for an L1's L2
    on POWER9: the L1 is radix (``kvm_is_radix``), so TC, which only applies to HPT
    guests, is cleared; an AIL other than 3 (the reserved 1, the unsupported 2) becomes
    0; LD stays (ISA 3.0). The model is a POWER9 DD2.2 or later: the DD2.0/2.1
    ``CPU_FTR_P9_RADIX_PREFETCH_BUG`` branch, which clears AIL = 3 as well, is not
    taken."""
    lpcr &= ~LPCR_TC
    if lpcr & LPCR_AIL != LPCR_AIL_3:
        lpcr &= ~LPCR_AIL
    return lpcr


def sanitise_hv_regs(
    l1_hfscr: int, hv: HvGuestState, l1_vcore_lpcr: int | None = None
) -> HvGuestState:
    """A copy of ``hv`` with the L1-supplied values L0 must not trust made safe.

    Models ``sanitise_hv_regs`` (``book3s_hv_nested.c``, 4.20): HFSCR keeps only
    facilities L0 allows the L1 (``vcpu->arch.hfscr``) plus the interrupt-cause byte;
    DAWRX0 loses DAWRX_HYP (no data watchpoint match in hypervisor state); a CIABR set
    to match in hypervisor state has its privilege field cleared. With
    ``l1_vcore_lpcr`` (the 5.13+ function) ``lpcr`` also becomes the LPCR the L2 runs
    with: :func:`compose_l2_lpcr` filtered by :func:`filter_lpcr_hv`.
    """
    out = hv.copy()
    if l1_vcore_lpcr is not None:
        out.lpcr = filter_lpcr_hv(compose_l2_lpcr(l1_vcore_lpcr, hv.lpcr))
    out.hfscr &= HFSCR_INTR_CAUSE | l1_hfscr
    out.dawrx0 &= ~DAWRX_HYP
    if out.ciabr & CIABR_PRIV == CIABR_PRIV_HYPER:
        out.ciabr &= ~CIABR_PRIV
    return out


def save_hv_regs(vcpu_hv: dict[str, int], hfscr: int, tb_offset: int) -> HvGuestState:
    """``kvmhv_save_hv_regs``: the vcpu's HV registers as an hv_guest_state."""
    hv = HvGuestState(**{name: vcpu_hv.get(name, 0) for name in HV_REGS if name != "hfscr"})
    hv.hfscr = hfscr
    hv.tb_offset = tb_offset
    return hv


def restore_hv_regs(hv: HvGuestState) -> dict[str, int]:
    """``restore_hv_regs``: the registers loaded into the vcpu. amor, heir, hdar, hdsisr
    and asdr are outputs only and are not loaded; lpid/lpcr are used separately."""
    return {name: getattr(hv, name) for name in HV_REGS}
