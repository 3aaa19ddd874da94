"""The nested page fault, tlbie emulation and H_COPY_TOFROM_GUEST (book3s_hv_nested.c).

The hardware runs an L2 with its *shadow* LPID: the real partition-table entry names
L0's shadow tree (L2 guest real -> host real) and the L2's own process table. A miss in
the shadow tree is an HDSI/HISI that L0 takes first (``kvmhv_nested_page_fault``): it
walks the L1's partition-scoped tree for the L2 (in L1 memory), reflects what the L1
must see, and otherwise inserts a shadow PTE combining the L1's and L0's mappings.
Invalidations come from the L1 (H_TLB_INVALIDATE, emulated by
``kvmhv_emulate_priv_tlbie``) and from L0 taking an L1 page away (the nested rmap).

Sources: ``arch/powerpc/kvm/book3s_hv_nested.c`` (4.20; H_COPY_TOFROM_GUEST from 5.0).
The shadow tree's edits and the nest rmap it stands on are :mod:`pynest.kvm.radix`
(re-exported here for the callers that import them from this module).

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
    H_NO_MEM,
    H_NOT_FOUND,
    H_PARAMETER,
    H_SUCCESS,
    PMD_SHIFT,
    PTE_RPN_MASK,
    RESUME_GUEST,
    RESUME_HOST,
    RMAP_NESTED_GPA_MASK,
    RMAP_NESTED_LPID_SHIFT,
    SRR1_ISI_N_G_OR_CIP,
    SRR1_MSR_BITS,
    TREE_ADDR_MASK,
    U64,
)
from .constants import (
    RMAP_NESTED_IS_SINGLE_ENTRY as RMAP_NESTED_IS_SINGLE_ENTRY,
)
from .nested import (
    flush_nested,
    get_nested,
    put_nested,
    tlb_lock,
    tlb_unlock,
    update_ptbl_cache,
)
from .nested_table import NestedGuest
from .radix import (
    ShadowPte as ShadowPte,
)
from .radix import (
    create_shadow_pte,
    free_pgtable_radix,
    invalidate_shadow_pte,
    nested_event,
    shadow_leaves,
)
from .radix import (
    rmap_head as rmap_head,
)
from .radix import (
    shadow_ptes as shadow_ptes,
)
from .versions import has

if TYPE_CHECKING:
    from .host import L0, L1Vm, Vcpu

_P9_RADIX_BITS = (5, 9, 9, 13)  # p9_supported_radix_bits, indexed by level (3 = root)
_AP_SHIFT = {0: 12, 5: 16, 1: 21, 2: 30}  # radix AP encodings (mmu_psize_defs[].ap)


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


# ------------------------------------------------------------------ H_TLB_INVALIDATE
def _ap_to_shift(ap: int) -> int:
    """``ap_to_shift``: page shift of a radix AP encoding, -1 if none."""
    return _AP_SHIFT.get(ap, -1)


def emulate_tlbie_tlb_addr(vm: L1Vm, lpid: int, ap: int, epn: int) -> int:
    """``kvmhv_emulate_tlbie_tlb_addr``: invalidate the shadow PTEs behind one L1 page.

    One L1 page may be backed by several smaller shadow PTEs, so the loop steps by the
    size of each shadow PTE found, or by PAGE_SIZE where there is none. An AP below L0's
    page size makes the kernel's page count ``1UL << (shift - PAGE_SHIFT)`` a negative
    shift, which ppc64 ``sld`` evaluates to 0: the loop body then runs once.

    The kernel visits every empty PAGE_SIZE step of the range (2^18 of them for a 1G AP
    under a 4K-page L0); the model jumps straight to the next shadow PTE in the range,
    counting the skipped pages, which removes the same PTEs in the same order.
    """
    shift = _ap_to_shift(ap)
    if shift < 0:
        return -EINVAL
    addr = (epn << 12) & ~((1 << shift) - 1) & U64
    page_shift = vm.page_shift
    npages = 1 << (shift - page_shift) if shift >= page_shift else 0
    gp = get_nested(vm, lpid, False)
    if gp is None:
        return 0
    while True:
        if npages > 1:  # skip the pages without a shadow PTE
            low = addr & TREE_ADDR_MASK
            ahead = shadow_leaves(gp, low, low + (npages << page_shift))
            skip = (ahead[0][0] - low) >> page_shift if ahead else npages
            if skip > 0:
                npages -= skip
                addr = (addr + (skip << page_shift)) & U64
                if npages <= 0:
                    break
        _removed, shadow_shift = invalidate_shadow_pte(gp, addr)
        npages -= 1 << (shadow_shift - page_shift)
        addr = (addr + (1 << shadow_shift)) & U64  # unsigned long arithmetic
        if npages <= 0:
            break
    put_nested(gp)
    return 0


def emulate_tlbie_lpid(vm: L1Vm, gp: NestedGuest, ric: int) -> None:
    """``kvmhv_emulate_tlbie_lpid`` (4.20.1 ``book3s_hv_nested.c``:857-886), under
    ``gp->tlb_lock`` (lock :862, unlock :885): RIC 0 drops the whole shadow tree and
    flushes the shadow LPID; RIC 1 (page-walk cache) is a no-op, L0 caches no L1 walk;
    RIC 2 is ``kvmhv_flush_nested`` (:880), which may remove *and free* the guest. The
    unlock then touches the struct: if the caller held no reference, that is a use
    after free, which :func:`~pynest.kvm.nested.tlb_unlock` records."""
    where = "kvmhv_emulate_tlbie_lpid (4.20.1 book3s_hv_nested.c:885)"
    tlb_lock(gp, "kvmhv_emulate_tlbie_lpid (4.20.1 book3s_hv_nested.c:862)")
    if ric == 0:
        free_pgtable_radix(gp)
        vm.l0.flush_lpid(gp.shadow_lpid)
    elif ric == 2:
        flush_nested(gp)
    tlb_unlock(gp, where)


def emulate_tlbie_all_lpid(vm: L1Vm, ric: int) -> None:
    """``kvmhv_emulate_tlbie_all_lpid`` (4.20.1 ``book3s_hv_nested.c``:888-904): for i =
    0 .. ``max_nested_lpid`` (re-read each turn; the IDR's ``idr_for_each_entry`` in
    later kernels), take ``nested_guests[i]`` under ``mmu_lock`` **without a reference**,
    drop the lock and emulate the tlbie for that lpid. With RIC=2 and an L1 entry that is
    now 0, the guest's only reference is the slot's: ``kvmhv_flush_nested`` ->
    ``kvmhv_remove_nested`` drops it and ``kvmhv_release_nested`` frees the struct
    (kfree :514) before ``mutex_unlock(&gp->tlb_lock)`` (:885) -- recorded as a
    ``use-after-free`` event. The model's reading of the source, not a hardware run."""
    i = 0
    while (found := vm.nested.next_from(i)) is not None:
        lpid, gp = found
        emulate_tlbie_lpid(vm, gp, ric)
        i = lpid + 1


def emulate_priv_tlbie(vm: L1Vm, instr: int, rsval: int, rbval: int) -> int:
    """``kvmhv_emulate_priv_tlbie``: 0 or -EINVAL.

    RIC = instr bits 18-19, PRS bit 17, R bit 16 (of the 32-bit image); LPID = RS low 32
    bits (a C ``int``); IS = RB bits 10-11; AP bits 5-7; EPN = RB >> 12. R=0, PRS=1,
    RIC=3, IS=1, and IS=0 with RIC 1 or 2 are refused.
    """
    instr &= 0xFFFF_FFFF
    ric = (instr >> 18) & 3
    prs = (instr >> 17) & 1
    r = (instr >> 16) & 1
    lpid = rsval & 0xFFFF_FFFF
    if lpid >> 31:
        lpid -= 1 << 32
    is_ = (rbval >> 10) & 3
    if not r or prs or ric == 3 or is_ == 1 or (not is_ and ric in (1, 2)):
        return -EINVAL
    if is_ == 0:
        return emulate_tlbie_tlb_addr(vm, lpid, (rbval >> 5) & 7, rbval >> 12)
    if is_ == 2:
        gp = get_nested(vm, lpid, False)
        if gp is not None:
            emulate_tlbie_lpid(vm, gp, ric)
            put_nested(gp)
        return 0
    emulate_tlbie_all_lpid(vm, ric)
    return 0


def do_nested_tlbie(vm: L1Vm, instr: int, rsval: int, rbval: int) -> int:
    """H_TLB_INVALIDATE: ``kvmhv_do_nested_tlbie`` -> H_PARAMETER or H_SUCCESS."""
    vm.l0.events.append(
        "invalidate", "L0", lpid=vm.lpid, detail=f"instr {instr:#x} RS {rsval:#x} RB {rbval:#x}"
    )
    return H_PARAMETER if emulate_priv_tlbie(vm, instr, rsval, rbval) else H_SUCCESS


# ------------------------------------------------------------------ H_COPY_TOFROM_GUEST
def kmalloc_max(page_shift: int) -> int:
    """KMALLOC_MAX_SIZE of a ppc64 kernel: 2^(PAGE_SHIFT + MAX_ORDER - 1) with the
    default MAX_ORDER (9 with 64K pages, 11 with 4K) -- kzalloc beyond it fails."""
    return 1 << (page_shift + (9 if page_shift == 16 else 11) - 1)


def copy_tofrom_guest_radix(
    l0: L0, shadow_lpid: int, pid: int, eaddr: int, data: bytes | None, n: int
) -> bytes | None:
    """``__kvmhv_copy_tofrom_guest_radix``: read ``n`` bytes at (or write ``data`` to)
    an L2 effective address through the real MMU, as L0 does with a quadrant access
    (quadrant 1 with PIDR = pid, or quadrant 2 for pid 0; LPIDR = the shadow LPID).
    Returns the bytes read (or b"" after a write), None when any page faults."""
    quadrant = 1 if pid else 2
    cpu = CpuState(ptcr=l0.ptcr, lpidr=shadow_lpid, pidr=pid & 0xFFFF_FFFF)
    out = bytearray()
    pos = 0
    while pos < n:
        ea = (eaddr + pos) & C.EA_NOQUAD_MASK
        chunk = min(n - pos, C.PAGE_4K - (ea & (C.PAGE_4K - 1)))
        t = hw_translate(l0, cpu, ea | quadrant << 62, "load" if data is None else "store")
        if t.fault is not None or t.ra is None:
            return None
        if data is None:
            out += l0.mem.read(t.ra, chunk)
        else:
            l0.mem.write(t.ra, data[pos : pos + chunk])
        pos += chunk
    return bytes(out)


def copy_tofrom_guest_nested(
    vm: L1Vm, l1_lpid: int, pid: int, eaddr: int, gp_to: int, gp_from: int, n: int
) -> int:
    """H_COPY_TOFROM_GUEST: ``kvmhv_copy_tofrom_guest_nested`` (Linux 5.0; row
    ``h-copy-tofrom-guest`` of :mod:`pynest.kvm.versions`; a 4.20 L0 never gets here).

    r4 L1 lpid, r5 pid, r6 L2 EA, r7 "to" (L1 guest real, non-zero for a load), r8
    "from" (for a store), r9 byte count. H_PARAMETER if both buffers are given, if EA
    bits 0-11 are set, or if no such nested guest exists; H_NO_MEM if the bounce
    buffer cannot be allocated; H_NOT_FOUND if the L2 address does not translate (only
    pages already in the shadow tree do) or the L1 buffer is outside L1 memory.
    """
    if gp_to and gp_from:
        return H_PARAMETER
    if eaddr & (0xFFF << 52):
        return H_PARAMETER
    if n > kmalloc_max(vm.page_shift):
        return H_NO_MEM
    l1_lpid &= 0xFFFF_FFFF
    if l1_lpid >> 31:
        l1_lpid -= 1 << 32
    gp = get_nested(vm, l1_lpid, False)
    if gp is None:
        return H_PARAMETER
    rc = H_SUCCESS
    if gp_to:
        buf = copy_tofrom_guest_radix(vm.l0, gp.shadow_lpid, pid, eaddr, None, n)
        if buf is None or not vm.write_guest(gp_to, buf):
            rc = H_NOT_FOUND
    else:
        src = vm.read_guest(gp_from, n)
        if (
            src is None
            or copy_tofrom_guest_radix(vm.l0, gp.shadow_lpid, pid, eaddr, src, n) is None
        ):
            rc = H_NOT_FOUND
    nested_event(
        vm,
        "copy",
        gp,
        ea=eaddr,
        l1_gpa=gp_to or gp_from,
        size=n,
        rc=rc,
        detail="load from L2" if gp_to else "store to L2",
    )
    put_nested(gp)
    return rc
