"""Kernel constants the kvm model uses, with no behaviour: the leaf of ``pynest.kvm``.

Values are those of Linux 4.20 headers: ``asm/hvcall.h`` (H_* return codes and hcall
numbers; H_COPY_TOFROM_GUEST is 5.0's), ``asm/reg.h`` (DSISR/SRR1 bits),
``asm/book3s/64/pgtable.h`` (``_PAGE_*``), ``asm/kvm_book3s_64.h`` (``RMAP_NESTED_*``),
``asm/kvm_asm.h`` (the trap numbers H_ENTER_NESTED returns), ``uapi/asm-generic/errno-base.h``
and ``kvm_ppc.h`` (RESUME_*). An hcall is ``sc 1`` with the opcode in r3 and arguments in
r4..r12; the return code comes back in r3, negative for errors, 0 for success;
H_ENTER_NESTED returns a positive *trap number* instead.
"""

from __future__ import annotations

from ..mmu import constants as C

# ----------------------------------------------------------------- return codes
H_SUCCESS = 0
H_BUSY = 1
H_CLOSED = 2
H_NOT_AVAILABLE = 3
H_CONSTRAINED = 4
H_PARTIAL = 5
H_TOO_HARD = 9999  # internal to KVM, never returned to a guest
H_HARDWARE = -1
H_FUNCTION = -2
H_PRIVILEGE = -3
H_PARAMETER = -4
H_BAD_MODE = -5
H_PTEG_FULL = -6
H_NOT_FOUND = -7
H_RESERVED_DABR = -8
H_NO_MEM = -9
H_AUTHORITY = -10
H_PERMISSION = -11
H_P2 = -55
H_P3 = -56
H_P4 = -57
H_P5 = -58
H_P6 = -59
H_P7 = -60
H_P8 = -61
H_P9 = -62
H_TOO_BIG = -64
H_OVERLAP = -68
H_INTERRUPT = -69

RETURN_CODES: dict[int, str] = {
    value: name
    for name, value in dict(globals()).items()
    if name.startswith("H_") and isinstance(value, int)
}

# ----------------------------------------------------------------- opcodes
H_CEDE = 0xE0
H_CONFER = 0xE4
H_PROD = 0xE8
H_RTAS = 0xF000
H_RPT_INVALIDATE = 0x448  # define in 5.11, KVM L0 handler by 5.14; not modelled
# Platform-specific hcalls used for nested HV KVM
H_SET_PARTITION_TABLE = 0xF800
H_ENTER_NESTED = 0xF804
H_TLB_INVALIDATE = 0xF808
H_COPY_TOFROM_GUEST = 0xF80C  # Linux 5.0 (versions row "h-copy-tofrom-guest")

NESTED_HCALLS = (H_SET_PARTITION_TABLE, H_ENTER_NESTED, H_TLB_INVALIDATE, H_COPY_TOFROM_GUEST)

HCALL_NAMES: dict[int, str] = {
    H_CEDE: "H_CEDE",
    H_CONFER: "H_CONFER",
    H_PROD: "H_PROD",
    H_RTAS: "H_RTAS",
    H_RPT_INVALIDATE: "H_RPT_INVALIDATE",
    H_SET_PARTITION_TABLE: "H_SET_PARTITION_TABLE",
    H_ENTER_NESTED: "H_ENTER_NESTED",
    H_TLB_INVALIDATE: "H_TLB_INVALIDATE",
    H_COPY_TOFROM_GUEST: "H_COPY_TOFROM_GUEST",
}

# Return codes are 64-bit register values: -4 arrives in r3 as 0xFFFF...FFFC.
U64 = (1 << 64) - 1


def hcall_name(nr: int) -> str:
    """``H_ENTER_NESTED`` for 0xF804; ``hcall 0x...`` for opcodes pynest does not name."""
    return HCALL_NAMES.get(nr, f"hcall {nr:#x}")


def rc_name(rc: int, trap: bool = False) -> str:
    """``H_PARAMETER`` for -4; with ``trap`` (an H_ENTER_NESTED result) values from 0x100
    up are trap numbers and print as ``trap 0xe00``."""
    if trap and rc >= 0x100 and rc != H_TOO_HARD:
        return f"trap {rc:#x}"
    return RETURN_CODES.get(rc, f"rc {rc}")


def to_signed(r3: int) -> int:
    """A 64-bit register value read as the signed return code it carries."""
    r3 &= U64
    return r3 - (1 << 64) if r3 >> 63 else r3


# errno values the kernel paths return (negated)
EINVAL, ENOENT, EFAULT, EAGAIN, EINTR, ENOMEM = 22, 2, 14, 11, 4, 12
RESUME_GUEST = 0
RESUME_HOST = 2  # RESUME_FLAG_HOST

# Linux PTE bits (asm/book3s/64/pgtable.h); equal to the ISA EAA/R/C bits
_PAGE_EXEC, _PAGE_WRITE, _PAGE_READ = 0x1, 0x2, 0x4
_PAGE_DIRTY, _PAGE_ACCESSED = 0x80, 0x100
_PAGE_PRESENT, _PAGE_PTE = C.PTE_V, C.PTE_L
PTE_RPN_MASK = 0x01FF_FFFF_FFFF_F000
PMD_SHIFT, PUD_SHIFT = 21, 30

# DSISR bits (asm/reg.h)
DSISR_NOHPTE = 0x4000_0000
DSISR_NOEXEC_OR_G = 0x1000_0000
DSISR_PROTFAULT = 0x0800_0000
DSISR_BADACCESS = 0x0400_0000
DSISR_ISSTORE = 0x0200_0000
DSISR_UNSUPP_MMU = 0x0008_0000
DSISR_SET_RC = 0x0004_0000
DSISR_PRTABLE_FAULT = 0x0002_0000
DSISR_BAD_COPYPASTE = 0x0000_0008
DSISR_BAD_FAULT_64S = (
    0x8000_0000
    | DSISR_BADACCESS
    | 0x0010_0000  # DSISR_BAD_FAULT_32S
    | 0x2000_0000
    | DSISR_UNSUPP_MMU
    | DSISR_PRTABLE_FAULT
    | 0x4000  # ATTR_CONFLICT, ICSWX_NO_CT
    | DSISR_BAD_COPYPASTE
    | 0x4
    | 0x2  # BAD_AMO, BAD_CI_LDST
)
SRR1_ISI_N_G_OR_CIP = 0x1000_0000
SRR1_MSR_BITS = ~0x783F_0000 & (2**64 - 1)
DSISR_SRR1_MATCH_64S = (
    DSISR_NOHPTE
    | DSISR_NOEXEC_OR_G
    | DSISR_PROTFAULT
    | 0x0020_0000  # KEYFAULT
    | DSISR_UNSUPP_MMU
    | DSISR_SET_RC
    | DSISR_PRTABLE_FAULT
)
HSRR1_HISI_WRITE = 0x0001_0000

# nested rmap entries (asm/kvm_book3s_64.h, 4.20 layout)
RMAP_NESTED_LPID_MASK = 0xFFF0_0000_0000_0000
RMAP_NESTED_LPID_SHIFT = 52
RMAP_NESTED_GPA_MASK = 0x000F_FFFF_FFFF_F000
RMAP_NESTED_IS_SINGLE_ENTRY = 0x1

TREE_ADDR_MASK = (1 << 52) - 1  # the address bits a 52-bit tree's indices use

# trap numbers (asm/kvm_asm.h): the interrupt vector that ended an L2's run
TRAP_SYSTEM_RESET = 0x100
TRAP_HV_DECREMENTER = 0x980
TRAP_SYSCALL = 0xC00
TRAP_H_DATA_STORAGE = 0xE00
TRAP_H_INST_STORAGE = 0xE20
TRAP_H_EMUL_ASSIST = 0xE40

# ----------------------------------------------------------------- LPIDs and tables
LPID_RSVD = 0x3FF  # asm/reg.h (4.20): reserved LPID for partition switching
KVMPPC_NR_LPIDS = LPID_RSVD + 1  # asm/kvm_book3s_asm.h (4.20)
KVM_MAX_NESTED_GUESTS = KVMPPC_NR_LPIDS  # asm/kvm_host.h (4.20)
PATB_SIZE_SHIFT = 16  # asm/book3s/64/mmu.h: the bare-metal partition table is 64 KiB
RADIX_PGD_INDEX_SIZE = 13  # the Linux radix PGD has 2^13 entries
