"""H_TLB_INVALIDATE: L0 emulating the L1's tlbie for its nested guests (book3s_hv_nested.c).

An L1 cannot run tlbie on the shadow LPIDs: its tlbie for an L2 arrives as the hcall
H_TLB_INVALIDATE (RB, RS and the instruction image in r4-r6), which L0 decodes like the
instruction (``kvmhv_emulate_priv_tlbie``) and applies to the shadow tree it keeps for that
L2: one L1 page (IS=0), one L2 (IS=2), or every L2 of the L1 (IS=3). The shadow-tree edits
are :mod:`pynest.kvm.radix`; the guests' lifecycle and ``tlb_lock`` are
:mod:`pynest.kvm.nested`.

Source: ``arch/powerpc/kvm/book3s_hv_nested.c`` (4.20.1 line numbers where cited).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .constants import EINVAL, H_PARAMETER, H_SUCCESS, TREE_ADDR_MASK, U64
from .nested import flush_nested, get_nested, put_nested, tlb_lock, tlb_unlock
from .nested_table import NestedGuest
from .radix import free_pgtable_radix, invalidate_shadow_pte, shadow_leaves

if TYPE_CHECKING:
    from .host import L1Vm

_AP_SHIFT = {0: 12, 5: 16, 1: 21, 2: 30}  # radix AP encodings (mmu_psize_defs[].ap)


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
