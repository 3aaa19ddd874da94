"""Architected constants of the POWER9 radix MMU (ISA v3.0B Book III).

Names follow Linux ``arch/powerpc/include/asm/reg.h`` and QEMU ``target/ppc/cpu.h``.
Each mask is the Python value of the ISA bit or field; the ISA numbers bits MSB-0, so
ISA bit ``b`` of a doubleword is ``1 << (63 - b)``.
"""

from __future__ import annotations

# --- MSR (ISA bit in comment) ------------------------------------------------------
MSR_SF = 1 << 63  # 0: 64-bit mode
MSR_HV = 1 << 60  # 3: hypervisor state
MSR_EE = 1 << 15  # 48: external interrupts enabled
MSR_PR = 1 << 14  # 49: problem state (user)
MSR_ME = 1 << 12  # 51: machine check enabled
MSR_IR = 1 << 5  # 58: instruction relocation
MSR_DR = 1 << 4  # 59: data relocation
MSR_RI = 1 << 1  # 62: recoverable interrupt
MSR_LE = 1 << 0  # 63: little-endian (no effect on table format)

MSR_HV_KERNEL = MSR_SF | MSR_HV | MSR_ME | MSR_IR | MSR_DR  # 0x9000000000001030
MSR_GUEST_KERNEL = MSR_SF | MSR_ME | MSR_IR | MSR_DR  # 0x8000000000001030

# --- LPCR --------------------------------------------------------------------------
LPCR_UPRT = 1 << 22  # 41: use process table
LPCR_HR = 1 << 20  # 43: host radix
LPCR_GTSE = 1 << 10  # 53: guest translation shootdown enable
LPCR_RADIX_HV = LPCR_HR | LPCR_UPRT  # 0x500000

# --- PTCR --------------------------------------------------------------------------
PTCR_PATB = 0x0FFF_FFFF_FFFF_F000  # 4:51
PTCR_PATS = 0x1F  # 59:63

# --- partition / process table entries ---------------------------------------------
PATE0_HR = 1 << 63  # dw0 bit 0: host radix
PATE1_GR = 1 << 63  # dw1 bit 0: pre-release "guest radix" (ignored by the walk)
RTS1_MASK = 3 << 61  # 1:2
RTS1_SHIFT = 61
RTS2_MASK = 7 << 5  # 56:58
RTS2_SHIFT = 5
RPDB_MASK = 0x0FFF_FFFF_FFFF_FF00  # 4:55
RPDS_MASK = 0x1F  # 59:63
PRTB_MASK = 0x0FFF_FFFF_FFFF_F000  # dw1 4:51
PRTS_MASK = 0x1F  # dw1 59:63

# --- PDE / PTE -----------------------------------------------------------------------
PTE_V = 1 << 63  # 0: valid
PTE_L = 1 << 62  # 1: leaf
PTE_SW0 = 1 << 61  # 2
PTE_RPN = 0x01FF_FFFF_FFFF_F000  # 7:51
PTE_SW = 0x0E00  # 52:54 (SW1..SW3)
PTE_R = 0x100  # 55: reference
PTE_C = 0x080  # 56: change
PTE_ATT = 0x030  # 58:59
PTE_ATT_NORMAL = 0x00
PTE_ATT_SAO = 0x10
PTE_ATT_NI_IO = 0x20  # non-idempotent I/O: guarded
PTE_ATT_TOLERANT_IO = 0x30
PTE_EAA_PRIV = 0x8  # 60
PTE_EAA_READ = 0x4  # 61
PTE_EAA_RW = 0x2  # 62
PTE_EAA_EXEC = 0x1  # 63
PDE_NLB = 0x0FFF_FFFF_FFFF_FF00  # 4:55
PDE_NLS = 0x1F  # 59:63

# --- effective address ----------------------------------------------------------------
EA_QUADRANT_MASK = 0xC000_0000_0000_0000  # 0:1
EA_SEGMENT_CHECK = 0x3FF0_0000_0000_0000  # 2:11 must be zero
EA_NOQUAD_MASK = 0x3FFF_FFFF_FFFF_FFFF  # QEMU R_EADDR_MASK
REAL_MODE_MASK = 0x0FFF_FFFF_FFFF_FFFF  # HV real mode ignores EA 0:3

# --- fault causes: DSISR / HDSISR / SRR1 ------------------------------------------------
DSISR_NOPTE = 0x4000_0000  # 33: no valid translation
DSISR_ATTR_CONFLICT = 0x2000_0000  # 34 (not produced by QEMU 7.2)
SRR1_NOEXEC_GUARD = 0x1000_0000  # 35: fetch from guarded or no-execute page
DSISR_PROTFAULT = 0x0800_0000  # 36: access not permitted
DSISR_ISSTORE = 0x0200_0000  # 38: the access was a store
DSISR_KEYFAULT = 0x0020_0000  # 42 (not produced by QEMU 7.2 radix)
DSISR_R_BADCONFIG = 0x0008_0000  # 44: unsupported radix configuration
DSISR_ATOMIC_RC = 0x0004_0000  # 45 (not produced by QEMU 7.2)
DSISR_PRTABLE_FAULT = 0x0002_0000  # 46: fault translating a guest table address
SRR1_ISI_NOPT = DSISR_NOPTE
SRR1_ISI_PROT = DSISR_PROTFAULT
SRR1_INTERRUPT_MASK = 0x783F_0000  # SRR1 33:36 and 42:47 carry the cause

DSISR_NAMES = {
    DSISR_NOPTE: "NOPTE",
    DSISR_ATTR_CONFLICT: "ATTR_CONFLICT",
    SRR1_NOEXEC_GUARD: "NOEXEC_GUARD",
    DSISR_PROTFAULT: "PROTFAULT",
    DSISR_ISSTORE: "ISSTORE",
    DSISR_KEYFAULT: "KEYFAULT",
    DSISR_R_BADCONFIG: "R_BADCONFIG",
    DSISR_ATOMIC_RC: "ATOMIC_RC",
    DSISR_PRTABLE_FAULT: "PRTABLE_FAULT",
}

# --- interrupt vectors ------------------------------------------------------------------
VEC_DSI = 0x300
VEC_DSEG = 0x380
VEC_ISI = 0x400
VEC_ISEG = 0x480
VEC_HDSI = 0xE00
VEC_HISI = 0xE20
VECTORS = {
    "DSI": VEC_DSI,
    "DSEG": VEC_DSEG,
    "ISI": VEC_ISI,
    "ISEG": VEC_ISEG,
    "HDSI": VEC_HDSI,
    "HISI": VEC_HISI,
}

# --- AMR / IAMR key 0 --------------------------------------------------------------------
AMR_KEY0_NO_STORE = 1 << 63
AMR_KEY0_NO_LOAD = 1 << 62
IAMR_KEY0_NO_EXEC = 1 << 62

# --- page sizes and tlbie AP encodings ------------------------------------------------
PAGE_4K = 1 << 12
PAGE_64K = 1 << 16
PAGE_2M = 1 << 21
PAGE_1G = 1 << 30
PAGE_SIZES = (PAGE_4K, PAGE_64K, PAGE_2M, PAGE_1G)
AP_OF_PAGE_SIZE = {PAGE_4K: 0, PAGE_64K: 5, PAGE_2M: 1, PAGE_1G: 2}
PAGE_SIZE_OF_AP = {ap: size for size, ap in AP_OF_PAGE_SIZE.items()}

# --- POWER9 tree shape ----------------------------------------------------------------
RADIX_TREE_BITS = 52  # RTS encodes 52 - 31 = 21
ROOT_NLS = 13
POWER9_RTS_FIELD = 0x4000_0000_0000_00A0  # RTS1 = 2, RTS2 = 5

# --- SPR numbers (Linux asm/reg.h SPRN_*, QEMU target/ppc/cpu.h SPR_*) ---------------------
SPR = {
    "DSISR": 0x012,
    "DAR": 0x013,
    "SRR0": 0x01A,
    "SRR1": 0x01B,
    "AMR": 0x01D,
    "PID": 0x030,
    "IAMR": 0x03D,
    "HDSISR": 0x132,
    "HDAR": 0x133,
    "HRMOR": 0x139,
    "HSRR0": 0x13A,
    "HSRR1": 0x13B,
    "LPCR": 0x13E,
    "LPIDR": 0x13F,
    "PTCR": 0x1D0,
    "ASDR": 0x330,
}
