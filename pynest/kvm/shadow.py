"""The nested page fault and the hardware's view of an L2 (book3s_hv_nested.c).

The hardware runs an L2 with its *shadow* LPID: the real partition-table entry names
L0's shadow tree (L2 guest real -> host real) and the L2's own process table. A miss in
the shadow tree is an HDSI/HISI that L0 takes first (``kvmhv_nested_page_fault``): it
walks the L1's partition-scoped tree for the L2 (in L1 memory), reflects what the L1
must see, and otherwise inserts a shadow PTE combining the L1's and L0's mappings.
Invalidations come from the L1 (H_TLB_INVALIDATE, :mod:`pynest.kvm.tlbie`) and from L0
taking an L1 page away (the nested rmap); H_COPY_TOFROM_GUEST reads an L2's memory through
:func:`hw_translate` (:mod:`pynest.kvm.guest_copy`).

Source: ``arch/powerpc/kvm/book3s_hv_nested.c`` (4.20). The shadow tree's edits and the
nest rmap it stands on are :mod:`pynest.kvm.radix`.

**One deliberate hardware detail.** pynest's MMU follows QEMU 7.2, which sets R and C
in a partition-scoped PTE itself. POWER9 does not: it raises an HDSI/HISI with
DSISR[ATOMIC_RC] (the kernel's DSISR_SET_RC), and the nested-HV code depends on that
(a shadow PTE has R only if the L1's PTE has R). :func:`hw_translate` therefore walks
with ``translate(..., partition_rc="fault")``: where a partition-scoped PTE needs R or C
while an L2 runs, the walk stops with that interrupt and writes nothing.

Where the two agree :func:`hw_translate` changes nothing. One such case looks as if it
could differ and does not: when the partition-scoped translation of a table read made
for an *instruction fetch* (the PRTE, a PDE or the PTE of the fetch's process-scoped
walk) faults, the interrupt is an HDSI (HDSISR = cause | PRTABLE_FAULT, no ISSTORE;
HDAR = the fetch's EA; ASDR = the table entry's guest real address), not an HISI. QEMU
7.2 translates every table address as a load; Nicholas Piggin's 2023 rework of this
code (QEMU 8.1, "Add SRR1 prefix indication to interrupt handlers") keeps the HDSI for
the fetch case on purpose. With a 4.20 L0 this lets an L2 livelock when its L1 maps a
page without execute that holds both code and the L2's page tables: the HISI for the
code drops the shadow PTE (``inval``), the retry's HDSI for the table read needs only
read and puts it back (``tests/kvm/test_fetch_table_fault.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..mmu import constants as C
from ..mmu.builder import OutOfTableMemory
from ..mmu.xlate import CpuState, Translation, translate
from .constants import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    _PAGE_EXEC,
    _PAGE_PRESENT,
    _PAGE_PTE,
    _PAGE_READ,
    _PAGE_WRITE,
    DSISR_BAD_COPYPASTE,
    DSISR_BAD_FAULT_64S,
    DSISR_BADACCESS,
    DSISR_ISSTORE,
    DSISR_NOEXEC_OR_G,
    DSISR_NOHPTE,
    DSISR_PROTFAULT,
    DSISR_PRTABLE_FAULT,
    DSISR_SET_RC,
    DSISR_UNSUPP_MMU,
    EAGAIN,
    EFAULT,
    EINVAL,
    ENOENT,
    ENOMEM,
    PMD_SHIFT,
    PTE_RPN_MASK,
    RESUME_GUEST,
    RESUME_HOST,
    RMAP_NESTED_GPA_MASK,
    RMAP_NESTED_LPID_SHIFT,
    SRR1_ISI_N_G_OR_CIP,
    SRR1_MSR_BITS,
    TREE_ADDR_MASK,
)
from .nested import (
    update_ptbl_cache,
)
from .nested_table import NestedGuest
from .radix import (
    create_shadow_pte,
    invalidate_shadow_pte,
    nested_event,
)
from .versions import has

if TYPE_CHECKING:
    from .host import L0, L1Vm, Vcpu

_P9_RADIX_BITS = (5, 9, 9, 13)  # p9_supported_radix_bits, indexed by level (3 = root)


@dataclass(frozen=True, slots=True)
class Gpte:
    """``struct kvmppc_pte`` as the L1-tree walk fills it."""

    raddr: int
    page_shift: int
    may_read: bool
    may_write: bool
    may_execute: bool
    rc: int
    pte: int


# ------------------------------------------------------------------ the L1's tree
def walk_l1_tree(vm: L1Vm, root: int, eaddr: int) -> tuple[int, Gpte | None, int]:
    """Walk a radix tree in L1 memory: returns (0 or -errno, gpte, fault address).

    Models ``kvmppc_mmu_walk_radix_tree`` (``book3s_64_mmu_radix.c``): only a 52-bit
    tree; level sizes 13/9/9 and 9 or 5 at the bottom (-EINVAL otherwise); a table base
    not aligned to its size, a leaf at the root, a missing leaf at the bottom, or a leaf
    whose address is not aligned to its page is -EINVAL; an invalid entry -ENOENT; an
    entry address outside L1 memory (``kvm_read_guest`` fails) -EFAULT with the
    address.

    This is the kernel's software walk, not the hardware's
    (:func:`pynest.mmu.walk.walk`): it returns -errno instead of raising an architected
    fault, refuses a misaligned table base (the hardware masks NLB) and a misaligned
    leaf RPN (the hardware masks it), and refuses a leaf at the root (the hardware
    takes it). It stays separate because the kernel's answers are what the L1 sees.
    """
    rts = ((root & C.RTS1_MASK) >> (C.RTS1_SHIFT - 3)) | ((root & C.RTS2_MASK) >> C.RTS2_SHIFT)
    bits = root & C.RPDS_MASK
    base = root & C.RPDB_MASK
    offset = rts + 31
    if offset != 52:
        return -EINVAL, None, 0
    pte = 0
    level = 3
    while level >= 0:
        if level and bits != _P9_RADIX_BITS[level]:
            return -EINVAL, None, 0
        if level == 0 and bits not in (5, 9):
            return -EINVAL, None, 0
        offset -= bits
        index = (eaddr >> offset) & ((1 << bits) - 1)
        if base & ((1 << (bits + 3)) - 1):
            return -EINVAL, None, 0
        addr = base + index * 8
        data = vm.read_guest(addr, 8)
        if data is None:
            return -EFAULT, None, addr
        pte = int.from_bytes(data, "big")
        if not pte & _PAGE_PRESENT:
            return -ENOENT, None, 0
        if pte & _PAGE_PTE:
            break
        base = pte & C.RPDB_MASK
        bits = pte & C.RPDS_MASK
        level -= 1
    if level < 0 or level == 3:
        return -EINVAL, None, 0
    gpa = pte & PTE_RPN_MASK
    if gpa & ((1 << offset) - 1):
        return -EINVAL, None, 0
    gpa |= eaddr & ((1 << offset) - 1)
    gpte = Gpte(
        gpa,
        offset,
        bool(pte & _PAGE_READ),
        bool(pte & _PAGE_WRITE),
        bool(pte & _PAGE_EXEC),
        pte & (_PAGE_ACCESSED | _PAGE_DIRTY),
        pte,
    )
    return 0, gpte, 0


def translate_addr_nested(
    vcpu: Vcpu, gp: NestedGuest, n_gpa: int, dsisr: int
) -> tuple[int, Gpte | None]:
    """``kvmhv_translate_addr_nested``: L2 guest real -> L1 guest real, or reflect.

    Returns (0, gpte) when the L1 maps ``n_gpa`` with the needed permission, else
    (RESUME_HOST, None) after setting the fault the L1 will see: fault_dsisr = ISSTORE
    from the original DSISR plus UNSUPP_MMU (-EINVAL), NOHPTE (-ENOENT),
    PRTABLE_FAULT (-EFAULT, fault_gpa = the table address) or PROTFAULT /
    SRR1_ISI_N_G_OR_CIP for a permission miss. For an HISI the bits also go into the
    L2's MSR image (HSRR1), where an L1 looks for them.
    """
    flags = dsisr & DSISR_ISSTORE
    ret, gpte, fault_addr = walk_l1_tree(gp.l1_host, gp.l1_gr_to_hr, n_gpa)
    if ret:
        if ret == -EINVAL:
            flags |= DSISR_UNSUPP_MMU
        elif ret == -ENOENT:
            flags |= DSISR_NOHPTE
        elif ret == -EFAULT:
            flags |= DSISR_PRTABLE_FAULT
            vcpu.fault_gpa = fault_addr
        else:  # pragma: no cover - the walk returns only the three above
            return ret, None
    else:
        assert gpte is not None
        if dsisr & DSISR_ISSTORE:
            if gpte.may_write:
                return 0, gpte
            flags |= DSISR_PROTFAULT
        elif vcpu.trap == C.VEC_HISI:
            if gpte.may_execute:
                return 0, gpte
            flags |= SRR1_ISI_N_G_OR_CIP
        else:
            if gpte.may_read or gpte.may_write:
                return 0, gpte
            flags |= DSISR_PROTFAULT
    vcpu.fault_dsisr = flags
    if vcpu.trap == C.VEC_HISI:
        vcpu.regs.msr = (vcpu.regs.msr & SRR1_MSR_BITS) | flags
    return RESUME_HOST, None


# ------------------------------------------------------------------ the page fault
def handle_nested_set_rc(vcpu: Vcpu, gp: NestedGuest, n_gpa: int, gpte: Gpte, dsisr: int) -> int:
    """``kvmhv_handle_nested_set_rc``: set R (and C on a write) on the L1's behalf.

    If the L1's own PTE lacks a needed bit the fault is the L1's (RESUME_HOST).
    Otherwise R/C are set in L0's PTE for the L1 page and in the shadow PTE; a missing
    PTE in either is -EINVAL.
    """
    vm = gp.l1_host
    writing = bool(dsisr & DSISR_ISSTORE)
    need = _PAGE_ACCESSED | (_PAGE_DIRTY if writing else 0)
    if need & ~gpte.rc:
        return RESUME_HOST
    for tree_pte, addr, who in (
        (vm.find_pte(gpte.raddr), gpte.raddr, "L0 PTE of the L1"),
        (gp.shadow_pgtable.find_leaf(n_gpa) if gp.shadow_pgtable else None, n_gpa, "shadow PTE"),
    ):
        if tree_pte is None:
            return -EINVAL
        slot, pte, _shift = tree_pte
        vm.l0.mem.write_u64(slot, pte | need)
        nested_event(
            vm,
            "rc-update",
            gp,
            gpa=n_gpa,
            l1_gpa=gpte.raddr,
            detail=f"{'R+C' if writing else 'R'} in {who} @ {addr:#x}",
        )
    return 0


def nested_page_fault(vcpu: Vcpu) -> int:
    """``kvmhv_nested_page_fault`` / ``__kvmhv_nested_page_fault`` for ``vcpu.nested``,
    as L0's kernel (``l0.kernel``) has it.

    Uses fault_dar (EA), fault_dsisr and fault_gpa (ASDR: the L2 guest real address)
    saved at the HDSI/HISI. Returns RESUME_GUEST (L2 retries), RESUME_HOST (the L1
    gets the trap, with fault_dsisr/fault_gpa as set for it) or a negative errno.

    Three steps changed in 5.0 (rows of :mod:`pynest.kvm.versions`):

    * ``nested-rc``: 4.20 masks only read/write/execute from the L1's PTE, so the
      shadow PTE inherits R and C from L0's own PTE; 5.0 also drops R unless the L1's
      PTE has R, and C unless it has C and the fault is a write;
    * ``rmap-gfn-aligned``: 4.20 files the rmap entry under the faulting frame
      (``gpte.raddr >> PAGE_SHIFT``), 5.0 under the first frame of the host page;
    * ``nested-mmio``: an L1 address with no memslot is -EINVAL in 4.20 (after
      ``pr_err("emulated MMIO passthrough?")``), emulated MMIO in 5.0.

    When a table cannot be had for L0's page of the L1 or for the shadow PTE (the L1's
    table budget or L0's table area is used up) the result is -ENOMEM, which ends the
    run (``kvmhv_enter_nested_guest`` hands the trap to the L1); -EAGAIN from
    :func:`create_shadow_pte` lets the L2 retry (RESUME_GUEST).
    """
    gp = vcpu.nested
    assert gp is not None, "a nested fault of a vcpu that runs no L2"
    vm = gp.l1_host
    l0 = vm.l0
    dsisr = vcpu.fault_dsisr
    ea = vcpu.fault_dar
    writing = bool(dsisr & DSISR_ISSTORE)
    if not gp.l1_gr_to_hr:
        update_ptbl_cache(gp)
        if not gp.l1_gr_to_hr:
            return RESUME_HOST
    # The kernel keeps bits 52-59 of the ASDR in n_gpa, but every use of it ignores
    # them: the L1-tree walk's indices, the shadow tree's pgd..pte_index() and the
    # rmap's GPA mask all take the low 52 bits. The model drops them here.
    n_gpa = vcpu.fault_gpa & ~0xF000_0000_0000_0FFF & TREE_ADDR_MASK
    if not dsisr & DSISR_PRTABLE_FAULT:
        n_gpa |= ea & 0xFFF
    ret, gpte = translate_addr_nested(vcpu, gp, n_gpa, dsisr)
    if ret == RESUME_HOST and dsisr & (
        DSISR_PROTFAULT | DSISR_BADACCESS | DSISR_NOEXEC_OR_G | DSISR_BAD_COPYPASTE
    ):
        invalidate_shadow_pte(gp, n_gpa)
        return RESUME_GUEST
    if ret:
        return ret
    assert gpte is not None
    if dsisr & DSISR_SET_RC:
        ret = handle_nested_set_rc(vcpu, gp, n_gpa, gpte, dsisr)
        if ret == RESUME_HOST:
            return ret
        if ret:
            invalidate_shadow_pte(gp, n_gpa)
            return RESUME_GUEST
        dsisr &= ~DSISR_SET_RC
        if not dsisr & (DSISR_BAD_FAULT_64S | DSISR_NOHPTE | DSISR_PROTFAULT):
            return RESUME_GUEST
    l1_shift = gpte.page_shift
    page_shift = vm.page_shift
    if l1_shift < page_shift:
        nested_event(
            vm,
            "error",
            gp,
            gpa=n_gpa,
            detail=f"L1 guest page shift ({l1_shift}) less than our own ({page_shift})",
        )
        return -EINVAL
    l1_gpa = gpte.raddr
    gfn = l1_gpa >> page_shift
    if not vm.is_visible_gfn(gfn):  # no memslot: an L1 device, or a bad table address
        if dsisr & (DSISR_PRTABLE_FAULT | DSISR_BADACCESS):
            vcpu.queued_dsi = (ea, dsisr)
            return RESUME_GUEST
        if not has(vm.l0.kernel, "nested-mmio"):
            nested_event(vm, "error", gp, ea=ea, l1_gpa=l1_gpa, detail="emulated MMIO passthrough?")
            return -EINVAL
        vcpu.mmio_needed = True
        nested_event(vm, "error", gp, ea=ea, l1_gpa=l1_gpa, detail="MMIO: no memslot, L0 emulates")
        return RESUME_HOST
    found = vm.find_pte(l1_gpa)
    if found is None or (writing and not found[1] & _PAGE_WRITE):
        try:
            pte, shift = vm.instantiate_page(l1_gpa, writing)
        except OutOfTableMemory:  # kvmppc_book3s_instantiate_page: -ENOMEM
            return -ENOMEM
    else:
        _slot, pte, shift = found
    kernel = vm.l0.kernel
    if has(kernel, "rmap-gfn-aligned"):
        gfn = (l1_gpa & ~((1 << shift) - 1)) >> page_shift
    perm = 0
    perm |= 0 if gpte.may_read else _PAGE_READ
    perm |= 0 if gpte.may_write else _PAGE_WRITE
    perm |= 0 if gpte.may_execute else _PAGE_EXEC
    if has(kernel, "nested-rc"):
        perm |= 0 if gpte.rc & _PAGE_ACCESSED else _PAGE_ACCESSED
        perm |= 0 if (gpte.rc & _PAGE_DIRTY and writing) else _PAGE_DIRTY
    pte &= ~perm
    if shift > l1_shift:
        actual = PMD_SHIFT if PMD_SHIFT < l1_shift else page_shift
        pte |= l1_gpa & ((1 << shift) - (1 << actual))
        shift = actual
    n_gpa &= ~((1 << shift) - 1)
    nested_event(
        vm,
        "nested-fault",
        gp,
        ea=ea,
        gpa=n_gpa,
        l1_gpa=l1_gpa,
        size=1 << shift,
        dsisr=dsisr,
        detail=(
            "shadow PTE = L0's PTE less the rights and R/C the L1's PTE lacks"
            if has(kernel, "nested-rc")
            else "shadow PTE = L0's PTE less the rights the L1's PTE lacks (R/C: L0's)"
        ),
    )
    rmap = (n_gpa & RMAP_NESTED_GPA_MASK) | (gp.l1_lpid << RMAP_NESTED_LPID_SHIFT)
    ret = create_shadow_pte(gp, pte, n_gpa, shift, (gfn, rmap))
    del l0
    if ret == -EAGAIN:
        return RESUME_GUEST  # "Let the guest try again"
    return ret


# ------------------------------------------------------------------ the hardware view
def hw_translate(l0: L0, cpu: CpuState, ea: int, access: str) -> Translation:
    """One access as POWER9 performs it for a guest of L0, through L0's TLB.

    :func:`pynest.mmu.translate` with POWER9's rule for partition-scoped R/C
    (``partition_rc="fault"``): where the walk needs R or C in a partition-scoped (here:
    shadow) PTE it stops with an HDSI (an HISI when that PTE maps the fetched
    instruction itself) with DSISR_ATOMIC_RC (= the kernel's DSISR_SET_RC),
    PRTABLE_FAULT if the PTE maps a table the walk reads, and ASDR = the guest real
    address concerned; nothing is written and the TLB is not filled.

    Everything else is translate()'s answer, including a fetch whose table read faults
    in partition scope: an HDSI with PRTABLE_FAULT and HDAR = the fetch's EA on POWER9
    as in QEMU 7.2 (``ppc_radix64_process_scoped_xlate`` passes access type 0, a load,
    for the PRTE and every PDE/PTE address). A note on the result says so.
    """
    t = translate(l0.mem, cpu, ea, access, tlb=l0.tlb, partition_rc="fault")
    f = t.fault
    if f is None:
        return t
    if f.stage == "partition" and f.cause & C.DSISR_ATOMIC_RC:
        t.notes.append("POWER9: partition-scoped R/C are not set by hardware; HDSI/HISI[ATOMIC_RC]")
    if access == "fetch" and f.cause & C.DSISR_PRTABLE_FAULT:
        t.notes.append(
            "POWER9 (as QEMU 7.2): a table read made for an instruction fetch "
            "faults as an HDSI (HDAR = the fetch's EA), not an HISI"
        )
    return t
