"""The nested-guest lifecycle in L0 and H_SET_PARTITION_TABLE.

Mirrors the framework patch of the series (``arch/powerpc/kvm/book3s_hv_nested.c``):
an L1 registers its partition table (``l1_ptcr``); the first H_ENTER_NESTED for an L1
lpid creates a :class:`NestedGuest` with its own hardware *shadow LPID* and shadow
partition-scoped tree, and L0 writes the real partition-table entry for that shadow LPID
from the L1's entry (``kvmhv_update_ptbl_cache`` -> ``kvmhv_set_nested_ptbl``).

The table the guests are kept in (``L0(nested_table="array" | "dynamic")``) is data, in
:mod:`pynest.kvm.nested_table`; with the "dynamic" IDR only ``l1_lpid < 2^(PRTS+8)``
bounds an lpid.

Reference counting as in the kernel: the table slot owns one reference, every
``get_nested`` another; the struct is released when the count reaches 0. A released
struct is kept, marked ``freed``, so that the model can *see* a later touch of it:
:func:`tlb_lock` / :func:`tlb_unlock` (``gp->tlb_lock``) record a ``use-after-free``
event when the guest is already freed, and :func:`lifecycle_violations` lists those
events with the table invariants. The one path known to do it is the IS=3 RIC=2
H_TLB_INVALIDATE (``kvmhv_emulate_tlbie_all_lpid``, see ``pynest.kvm.shadow``): the
model's reading of the 4.20.1 source, not something observed on hardware.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..mmu import constants as C
from ..mmu.builder import OutOfTableMemory, RadixTree
from .constants import (
    H_PARAMETER,
    H_SUCCESS,
    KVM_MAX_NESTED_GUESTS,
    RADIX_PGD_INDEX_SIZE,
)
from .nested_table import NestedArray, NestedGuest
from .radix import free_pgtable_radix, nested_event

if TYPE_CHECKING:
    from .host import L0, L1Vm

PRTB_MASK = 0x0FFF_FFFF_FFFF_F000  # asm/book3s/64/mmu.h
PRTS_MASK = 0x1F


# ------------------------------------------------------------------ lifecycle
def lpid_in_range(vm: L1Vm, l1_lpid: int) -> bool:
    """The bounds check at the top of ``kvmhv_get_nested``: the 4.20 array also needs
    ``l1_lpid < KVM_MAX_NESTED_GUESTS``; both need ``l1_lpid < 2^(PRTS + 12 - 4)``."""
    if l1_lpid < 0:
        return False
    if vm.nested.kind == "array" and l1_lpid >= KVM_MAX_NESTED_GUESTS:
        return False
    return l1_lpid < 1 << ((vm.l1_ptcr & PRTS_MASK) + 12 - 4)


def alloc_nested(vm: L1Vm, l1_lpid: int) -> NestedGuest | None:
    """``kvmhv_alloc_nested``: a new struct with an empty shadow PGD and a shadow LPID.

    refcnt starts at 0 and no partition-table entry is written yet. Returns None (the
    kernel's NULL) when the PGD cannot be allocated (``pgd_alloc(kvm->mm)``, charged to
    the L1: its table budget or L0's table area is used up; an "error" event says
    which) or when no hardware LPID is free.
    """
    l0 = vm.l0
    try:
        pgd = RadixTree(l0.mem, vm.table_alloc)  # pgd_alloc(kvm->mm)
    except OutOfTableMemory as e:
        l0.events.append("error", "L0", lpid=vm.lpid, l1_lpid=l1_lpid, detail=vm.enomem_detail(e))
        return None
    shadow_lpid = l0.lpids.alloc()
    if shadow_lpid is None:
        l0.table_alloc.free_tree(pgd)  # pgd_free
        return None
    l0.events.append(
        "lpid-alloc",
        "L0",
        lpid=vm.lpid,
        l1_lpid=l1_lpid,
        shadow_lpid=shadow_lpid,
        detail="shadow LPID",
    )
    return NestedGuest(vm, l1_lpid, shadow_lpid, pgd)


def release_nested(gp: NestedGuest) -> None:
    """``kvmhv_release_nested``: free the shadow tree, zero the real PATE of the shadow
    LPID (which flushes the TLB for it), free the LPID and the struct."""
    vm = gp.l1_host
    l0 = vm.l0
    if gp.shadow_pgtable is not None:
        free_pgtable_radix(gp)
        l0.table_alloc.free_tree(gp.shadow_pgtable)
        gp.shadow_pgtable = None
    l0.set_ptbl_entry(gp.shadow_lpid, 0, 0, "(nested guest released)")
    l0.lpids.free(gp.shadow_lpid)
    nested_event(vm, "lpid-free", gp)
    gp.freed = True
    nested_event(
        vm, "nested-free", gp, detail="kfree with its tlb_lock still held" if gp.tlb_locked else ""
    )


def get_nested(vm: L1Vm, l1_lpid: int, create: bool) -> NestedGuest | None:
    """``kvmhv_get_nested``: the nested guest for ``l1_lpid`` with a reference taken.

    None when the lpid is out of range, when it does not exist and ``create`` is
    false, or when allocation fails. A new guest is allocated without the lock; the
    table is then checked again ("someone else beat us to it") and the loser is
    released. A freshly created guest has refcnt 2: the slot's and the caller's.
    """
    if not lpid_in_range(vm, l1_lpid):
        return None
    gp = vm.nested.find(l1_lpid)
    if gp is not None:
        gp.refcnt += 1
        nested_event(vm, "nested-get", gp, detail=f"refcnt {gp.refcnt}")
        return gp
    if not create:
        return None
    newgp = alloc_nested(vm, l1_lpid)
    if newgp is None:
        return None
    gp = vm.nested.find(l1_lpid)  # re-check under mmu_lock
    if gp is None:
        vm.nested.add(l1_lpid, newgp)
        newgp.refcnt += 1
        gp, newgp = newgp, None
        nested_event(vm, "nested-create", gp)
    gp.refcnt += 1
    nested_event(vm, "nested-get", gp, detail=f"refcnt {gp.refcnt}")
    if newgp is not None:
        nested_event(vm, "nested-race-lost", newgp)
        release_nested(newgp)
    return gp


def put_nested(gp: NestedGuest) -> None:
    """``kvmhv_put_nested``: drop a reference; release at 0."""
    gp.refcnt -= 1
    nested_event(gp.l1_host, "nested-put", gp, detail=f"refcnt {gp.refcnt}")
    if gp.refcnt == 0:
        release_nested(gp)


def remove_nested(gp: NestedGuest) -> None:
    """``kvmhv_remove_nested``: detach from the table if still there (dropping the
    slot's reference); release if no one else holds it."""
    vm = gp.l1_host
    if vm.nested.find(gp.l1_lpid) is gp:
        vm.nested.remove(gp.l1_lpid)
        gp.refcnt -= 1
        nested_event(vm, "nested-remove", gp, detail=f"refcnt {gp.refcnt}")
    if gp.refcnt == 0:
        release_nested(gp)


def release_all_nested(vm: L1Vm) -> None:
    """``kvmhv_release_all_nested``: empty the table, release every guest whose count
    drops to 0, and free every nested rmap chain of the VM (``kvmhv_free_memslot_nest_rmap``
    for each memslot, already in 4.20)."""
    freelist = []
    for _lpid, gp in vm.nested.items():
        gp.refcnt -= 1
        nested_event(vm, "nested-remove", gp, detail=f"refcnt {gp.refcnt}")
        if gp.refcnt == 0:
            freelist.append(gp)
    vm.nested.clear()
    for gp in freelist:
        release_nested(gp)
    vm.rmap.clear()


def set_nested_ptbl(gp: NestedGuest) -> tuple[int, int]:
    """``kvmhv_set_nested_ptbl``: write the real PATE of the shadow LPID.

    dw0 = PATB_HR | radix__get_tree_size() (52-bit tree: RTS1=2, RTS2=5) |
    __pa(shadow_pgtable) | RADIX_PGD_INDEX_SIZE (13); dw1 = the L1's dw1 copied as is,
    so the L2's process-scoped translation uses the L2's own process table.
    """
    assert gp.shadow_pgtable is not None
    dw0 = C.PATE0_HR | C.POWER9_RTS_FIELD | gp.shadow_pgtable.root | RADIX_PGD_INDEX_SIZE
    dw1 = gp.process_table
    gp.l1_host.l0.set_ptbl_entry(gp.shadow_lpid, dw0, dw1, f"(shadow of L2 {gp.l1_lpid})")
    return dw0, dw1


def update_ptbl_cache(gp: NestedGuest) -> None:
    """``kvmhv_update_ptbl_cache``: re-read the L1's PATE for this L2 and rewrite the
    shadow LPID's real PATE.

    The entry is at (l1_ptcr & PRTB_MASK) + 16 * l1_lpid in L1 memory and is read only
    when l1_lpid < 2^(PRTS + 8); an lpid past the table or an unreadable address
    (kvm_read_guest -EFAULT) caches 0/0.
    """
    vm = gp.l1_host
    addr = (vm.l1_ptcr & PRTB_MASK) + (gp.l1_lpid << 4)
    data = None
    if gp.l1_lpid < 1 << ((vm.l1_ptcr & PRTS_MASK) + 12 - 4):
        data = vm.read_guest(addr, 16)
    if data is None:
        gp.l1_gr_to_hr, gp.process_table = 0, 0
    else:
        gp.l1_gr_to_hr = int.from_bytes(data[:8], "big")
        gp.process_table = int.from_bytes(data[8:], "big")
    nested_event(
        vm,
        "ptbl-cache",
        gp,
        l1_gpa=addr,
        detail=f"L1 PATE = {gp.l1_gr_to_hr:#x} {gp.process_table:#x}"
        + ("" if data is not None else " (unreadable)"),
    )
    set_nested_ptbl(gp)


def flush_nested(gp: NestedGuest) -> None:
    """``kvmhv_flush_nested`` (tlbie RIC=2 for an lpid): drop the whole shadow tree,
    flush the shadow LPID, re-read the L1's entry and remove the guest if it is 0."""
    free_pgtable_radix(gp)
    gp.l1_host.l0.flush_lpid(gp.shadow_lpid)
    update_ptbl_cache(gp)
    if gp.l1_gr_to_hr == 0:
        remove_nested(gp)


# ------------------------------------------------------------------ gp->tlb_lock
def _use_after_free(gp: NestedGuest, what: str, where: str) -> None:
    detail = f"{where}: {what} on a nested guest that kvmhv_release_nested already freed"
    nested_event(gp.l1_host, "use-after-free", gp, detail=detail)


def tlb_lock(gp: NestedGuest, where: str) -> None:
    """``mutex_lock(&gp->tlb_lock)`` in the kernel function ``where``; on a freed guest
    the touch is recorded as a ``use-after-free`` event (and the model goes on, as the
    kernel would, with the stale struct)."""
    if gp.freed:
        _use_after_free(gp, "mutex_lock(&gp->tlb_lock)", where)
    gp.tlb_locked = True


def tlb_unlock(gp: NestedGuest, where: str) -> None:
    """``mutex_unlock(&gp->tlb_lock)``: a store into the struct (the mutex owner word),
    recorded as a ``use-after-free`` event when the guest was freed meanwhile."""
    if gp.freed:
        _use_after_free(gp, "mutex_unlock(&gp->tlb_lock)", where)
    gp.tlb_locked = False


@dataclass(frozen=True)
class LifecycleViolation:
    """One broken nested-guest invariant of the L1 with LPID ``lpid``."""

    kind: str
    lpid: int | None
    text: str

    def __str__(self) -> str:
        return f"{self.kind} (L1 LPID {self.lpid}): {self.text}"


def lifecycle_violations(l0: L0) -> list[LifecycleViolation]:
    """Every breach of the nested-guest lifecycle (empty list: the invariants hold).

    * ``use-after-free``: every ``use-after-free`` event in L0's log (a freed guest
      touched: :func:`tlb_lock`, :func:`tlb_unlock`), and one summary for those that
      have left the log's ring (``events.appended`` still counts them);
    * ``slot``: a guest in a nested table is the one for that lpid, is not freed, holds
      at least the slot's reference and owns its shadow LPID;
    * ``refcnt``: a guest a vcpu runs (``vcpu->arch.nested``) is live with refcnt >= 1;
    * ``max_nested_lpid``: (4.20 array) the highest used slot, -1 when none;
    * ``tlb_lock``: no guest's ``tlb_lock`` is held between hcalls.
    """
    seen = l0.events.filter("use-after-free")
    out = [LifecycleViolation("use-after-free", ev.lpid, ev.detail) for ev in seen]
    lost = l0.events.appended["use-after-free"] - len(seen)
    if lost:  # reported once, but their events have left the log's ring
        text = f"{lost} more use-after-free event(s), no longer in the event log's ring"
        out.append(LifecycleViolation("use-after-free", None, text))
    for vm in l0.guests.values():
        table = vm.nested
        for lpid, gp in table.items():
            if gp.l1_lpid != lpid or gp.freed or gp.refcnt < 1:
                out.append(LifecycleViolation("slot", vm.lpid, f"slot {lpid} holds {gp!r}"))
            elif gp.shadow_lpid not in l0.lpids.inuse:
                text = f"slot {lpid}: shadow LPID {gp.shadow_lpid} is not allocated"
                out.append(LifecycleViolation("slot", vm.lpid, text))
        if isinstance(table, NestedArray):
            used = max((i for i, g in enumerate(table.slots) if g is not None), default=-1)
            if table.max_nested_lpid != used:
                text = f"max_nested_lpid = {table.max_nested_lpid}, highest used slot {used}"
                out.append(LifecycleViolation("max_nested_lpid", vm.lpid, text))
        running = [v.nested for v in vm.vcpus if isinstance(v.nested, NestedGuest)]
        for gp in running:
            if gp.freed or gp.refcnt < 1:
                text = f"a vcpu runs {gp!r} without a live reference"
                out.append(LifecycleViolation("refcnt", vm.lpid, text))
        for gp in [*table.values(), *running]:
            if gp.tlb_locked:
                text = f"{gp!r} still has its tlb_lock held"
                out.append(LifecycleViolation("tlb_lock", vm.lpid, text))
    return out


def set_partition_table(vm: L1Vm, ptcr: int) -> int:
    """H_SET_PARTITION_TABLE: ``kvmhv_set_partition_table``.

    r4 is a PTCR-format value (guest real base | PRTS). H_PARAMETER when the table
    would hold more than 4096 entries (``(ptcr & PRTS_MASK) + 12 - 4 > 12``, i.e.
    PRTS > 4) or when the base's page frame is not in a visible memslot of the L1;
    otherwise ``l1_ptcr = ptcr`` and H_SUCCESS. The base is not checked for alignment,
    and ptcr = 0 passes (it deregisters). Existing nested guests are not touched: their
    cached entries are refreshed only by a RIC=2 invalidation or a fresh struct.
    """
    ptcr &= (1 << 64) - 1
    gfn = (ptcr & PRTB_MASK) >> vm.page_shift
    if (ptcr & PRTS_MASK) + 12 - 4 > 12 or not vm.is_visible_gfn(gfn):
        vm.l0.events.append(
            "set-ptcr", "L0", lpid=vm.lpid, rc=H_PARAMETER, detail=f"rejected {ptcr:#x}"
        )
        return H_PARAMETER
    vm.l1_ptcr = ptcr
    vm.l0.events.append("set-ptcr", "L0", lpid=vm.lpid, rc=H_SUCCESS, detail=f"l1_ptcr = {ptcr:#x}")
    return H_SUCCESS
