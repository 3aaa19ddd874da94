"""The nested-guest lifecycle in L0 and H_SET_PARTITION_TABLE.

Mirrors the framework patch of the series (``arch/powerpc/kvm/book3s_hv_nested.c``):
an L1 registers its partition table (``l1_ptcr``); the first H_ENTER_NESTED for an L1
lpid creates a :class:`NestedGuest` with its own hardware *shadow LPID* and shadow
partition-scoped tree, and L0 writes the real partition-table entry for that shadow LPID
from the L1's entry (``kvmhv_update_ptbl_cache`` -> ``kvmhv_set_nested_ptbl``).

Two ways to keep the nested guests of one L1 are offered (``L0(nested_table=...)``):

* ``"array"`` -- :class:`NestedArray`, the v2 patch / 4.20 ``nested_guests[KVM_MAX_NESTED_GUESTS]``
  with ``max_nested_lpid``: 8 KiB of pointers in every VM, used or not;
* ``"dynamic"`` -- :class:`NestedIdr`, the IDR later kernels use (only
  ``l1_lpid < 2^(PRTS+8)`` bounds an lpid; memory grows with the guests).

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

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..mmu import constants as C
from ..mmu.builder import OutOfTableMemory, RadixTree
from .constants import (
    H_PARAMETER,
    H_SUCCESS,
)
from .host import KVM_MAX_NESTED_GUESTS, RADIX_PGD_INDEX_SIZE
from .radix import free_pgtable_radix

if TYPE_CHECKING:
    from .host import L0, L1Vm

PRTB_MASK = 0x0FFF_FFFF_FFFF_F000  # asm/book3s/64/mmu.h
PRTS_MASK = 0x1F
XA_CHUNK_SHIFT = 6  # an xarray node holds 64 slots
XA_NODE_BYTES = 576  # sizeof(struct xa_node) on 64-bit (estimate used for the cost model)


@dataclass(eq=False)
class NestedGuest:
    """``struct kvm_nested_guest``: L0's record of one L2 of one L1.

    ``l1_lpid`` is the L1's number for the L2 (index into the L1's partition table and
    into the nested table), ``shadow_lpid`` the hardware LPID L0 runs it with,
    ``shadow_pgtable`` L0's tree L2 guest real -> host real. ``l1_gr_to_hr`` and
    ``process_table`` cache dw0/dw1 of the L1's partition-table entry (0: not read).
    ``tlb_locked`` is ``gp->tlb_lock`` (a mutex; the model runs one vcpu at a time, so
    it is only ever held or not). ``freed``: ``kvmhv_release_nested`` has run (kfree).
    """

    l1_host: L1Vm
    l1_lpid: int
    shadow_lpid: int
    shadow_pgtable: RadixTree | None
    l1_gr_to_hr: int = 0
    process_table: int = 0
    refcnt: int = 0
    prev_cpu: dict[int, int] = field(default_factory=dict)
    freed: bool = False
    tlb_locked: bool = False

    def __repr__(self) -> str:
        return (
            f"NestedGuest(l1_lpid={self.l1_lpid}, shadow_lpid={self.shadow_lpid}, "
            f"refcnt={self.refcnt}, l1_gr_to_hr={self.l1_gr_to_hr:#x}"
            f"{', FREED' if self.freed else ''})"
        )


class NestedArray:
    """``nested_guests[KVM_MAX_NESTED_GUESTS]`` + ``max_nested_lpid`` (4.20)."""

    kind = "array"

    def __init__(self, size: int = KVM_MAX_NESTED_GUESTS) -> None:
        self.slots: list[NestedGuest | None] = [None] * size
        self.max_nested_lpid = -1

    def find(self, lpid: int) -> NestedGuest | None:
        return self.slots[lpid] if 0 <= lpid < len(self.slots) else None

    def add(self, lpid: int, gp: NestedGuest) -> None:
        self.slots[lpid] = gp
        if lpid > self.max_nested_lpid:
            self.max_nested_lpid = lpid

    def remove(self, lpid: int) -> None:
        """Clear a slot; if it was the highest, walk down to the next used one (4.20
        ``kvmhv_remove_nested``)."""
        self.slots[lpid] = None
        if lpid == self.max_nested_lpid:
            while self.max_nested_lpid >= 0 and self.slots[self.max_nested_lpid] is None:
                self.max_nested_lpid -= 1

    def items(self) -> list[tuple[int, NestedGuest]]:
        """(lpid, gp) for i = 0..max_nested_lpid, the loop the 4.20 code runs."""
        return [(i, g) for i in range(self.max_nested_lpid + 1) if (g := self.slots[i])]

    def values(self) -> list[NestedGuest]:
        return [g for _, g in self.items()]

    def next_from(self, lpid: int) -> tuple[int, NestedGuest] | None:
        """The first used slot at or after ``lpid``, bounded by ``max_nested_lpid`` as
        read *now*: one more turn of the 4.20 loop ``for (i = ...; i <=
        kvm->arch.max_nested_lpid; i++) if ((gp = nested_guests[i]))``."""
        for i in range(max(lpid, 0), self.max_nested_lpid + 1):
            if (g := self.slots[i]) is not None:
                return i, g
        return None

    def clear(self) -> None:
        for i in range(self.max_nested_lpid + 1):
            self.slots[i] = None
        self.max_nested_lpid = -1

    def __len__(self) -> int:
        return len(self.items())

    def __iter__(self) -> Iterator[NestedGuest]:
        return iter(self.values())

    def memory_cost(self) -> int:
        """Bytes in ``struct kvm_arch``: one 8-byte pointer per slot + the int max."""
        return 8 * len(self.slots) + 4


class NestedIdr:
    """The later kernels' IDR (``kvm_nested_guest_idr``), kept as a sorted dict."""

    kind = "dynamic"

    def __init__(self) -> None:
        self.map: dict[int, NestedGuest] = {}

    @property
    def max_nested_lpid(self) -> int:
        return max(self.map, default=-1)

    def find(self, lpid: int) -> NestedGuest | None:
        return self.map.get(lpid)

    def add(self, lpid: int, gp: NestedGuest) -> None:
        self.map[lpid] = gp

    def remove(self, lpid: int) -> None:
        self.map.pop(lpid, None)

    def items(self) -> list[tuple[int, NestedGuest]]:
        return sorted(self.map.items(), key=lambda kv: kv[0])

    def values(self) -> list[NestedGuest]:
        return [g for _, g in self.items()]

    def next_from(self, lpid: int) -> tuple[int, NestedGuest] | None:
        """The entry with the smallest id at or after ``lpid`` (``idr_get_next``, the
        step of ``idr_for_each_entry``)."""
        ids = [i for i in self.map if i >= lpid]
        return (min(ids), self.map[min(ids)]) if ids else None

    def clear(self) -> None:
        self.map.clear()

    def __len__(self) -> int:
        return len(self.map)

    def __iter__(self) -> Iterator[NestedGuest]:
        return iter(self.values())

    def memory_cost(self) -> int:
        return idr_memory_cost(self.map)


NestedTable = NestedArray | NestedIdr


def idr_memory_cost(lpids: object) -> int:
    """Estimated bytes of an IDR holding ``lpids``: a 24-byte ``struct idr`` plus one
    576-byte xarray node per 64-slot node the indices need (an xarray keeps a lone
    index 0 in its head, without a node)."""
    keys = sorted(set(lpids))  # type: ignore[call-overload]
    head = 24
    if not keys or keys == [0]:
        return head
    height = max(1, -(-keys[-1].bit_length() // XA_CHUNK_SHIFT))
    nodes = sum(len({k >> (XA_CHUNK_SHIFT * lv) for k in keys}) for lv in range(1, height + 1))
    return head + nodes * XA_NODE_BYTES


def nested_table_costs(lpids: list[int]) -> dict[str, int]:
    """Bytes per VM for each table kind when the L1 runs guests with these lpids."""
    return {"array": NestedArray().memory_cost(), "dynamic": idr_memory_cost(lpids)}


# ------------------------------------------------------------------ lifecycle
def vm_nested_init(vm: L1Vm) -> None:
    """``kvmhv_vm_nested_init``: an empty table (max_nested_lpid = -1 / idr_init)."""
    vm.nested = NestedArray() if vm.l0.nested_table == "array" else NestedIdr()


def _log(vm: L1Vm, kind: str, gp: NestedGuest, detail: str = "") -> None:
    vm.l0.events.append(
        kind, "L0", lpid=vm.lpid, l2_lpid=gp.l1_lpid, shadow_lpid=gp.shadow_lpid, detail=detail
    )


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
        l0.events.append("error", "L0", lpid=vm.lpid, l2_lpid=l1_lpid, detail=vm.enomem_detail(e))
        return None
    shadow_lpid = l0.lpids.alloc()
    if shadow_lpid is None:
        l0.table_alloc.free_tree(pgd)  # pgd_free
        return None
    l0.events.append(
        "lpid-alloc",
        "L0",
        lpid=vm.lpid,
        l2_lpid=l1_lpid,
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
    l0.events.append(
        "lpid-free", "L0", lpid=vm.lpid, l2_lpid=gp.l1_lpid, shadow_lpid=gp.shadow_lpid
    )
    gp.freed = True
    _log(vm, "nested-free", gp, "kfree with its tlb_lock still held" if gp.tlb_locked else "")


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
        _log(vm, "nested-get", gp, f"refcnt {gp.refcnt}")
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
        _log(vm, "nested-create", gp)
    gp.refcnt += 1
    _log(vm, "nested-get", gp, f"refcnt {gp.refcnt}")
    if newgp is not None:
        _log(vm, "nested-race-lost", newgp)
        release_nested(newgp)
    return gp


def put_nested(gp: NestedGuest) -> None:
    """``kvmhv_put_nested``: drop a reference; release at 0."""
    gp.refcnt -= 1
    _log(gp.l1_host, "nested-put", gp, f"refcnt {gp.refcnt}")
    if gp.refcnt == 0:
        release_nested(gp)


def remove_nested(gp: NestedGuest) -> None:
    """``kvmhv_remove_nested``: detach from the table if still there (dropping the
    slot's reference); release if no one else holds it."""
    vm = gp.l1_host
    if vm.nested.find(gp.l1_lpid) is gp:
        vm.nested.remove(gp.l1_lpid)
        gp.refcnt -= 1
        _log(vm, "nested-remove", gp, f"refcnt {gp.refcnt}")
    if gp.refcnt == 0:
        release_nested(gp)


def release_all_nested(vm: L1Vm) -> None:
    """``kvmhv_release_all_nested``: empty the table, release every guest whose count
    drops to 0, and free every nested rmap chain of the VM (``kvmhv_free_memslot_nest_rmap``
    for each memslot, already in 4.20)."""
    freelist = []
    for _lpid, gp in vm.nested.items():
        gp.refcnt -= 1
        _log(vm, "nested-remove", gp, f"refcnt {gp.refcnt}")
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
    vm.l0.events.append(
        "ptbl-cache",
        "L0",
        lpid=vm.lpid,
        l2_lpid=gp.l1_lpid,
        shadow_lpid=gp.shadow_lpid,
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
    _log(gp.l1_host, "use-after-free", gp, detail)


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
