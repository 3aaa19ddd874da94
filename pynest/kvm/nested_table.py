"""L0's table of one L1's nested guests, with no policy: ``struct kvm_nested_guest`` and
the two ways the kernel has kept them (``kvm->arch.nested_guests``).

* :class:`NestedArray` -- the v2 patch / 4.20 ``nested_guests[KVM_MAX_NESTED_GUESTS]``
  with ``max_nested_lpid``: 8 KiB of pointers in every VM, used or not;
* :class:`NestedIdr` -- the IDR later kernels use (5.19 on), whose memory grows with the
  guests.

:func:`vm_nested_init` is ``kvmhv_vm_nested_init`` (``book3s_hv_nested.c``), called by
``kvmppc_core_init_vm_hv`` when an L1 is created. What L0 *does* with the table
(get/put, release, the partition-table cache) is in :mod:`pynest.kvm.nested`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from ..mmu.builder import RadixTree
from .constants import KVM_MAX_NESTED_GUESTS

if TYPE_CHECKING:
    from .host import L1Vm

#: what a table holds: a NestedGuest, or the race explorer's lighter RaceGuest
G = TypeVar("G")

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


class NestedArray(Generic[G]):
    """``nested_guests[KVM_MAX_NESTED_GUESTS]`` + ``max_nested_lpid`` (4.20)."""

    kind = "array"

    def __init__(self, size: int = KVM_MAX_NESTED_GUESTS) -> None:
        self.slots: list[G | None] = [None] * size
        self.max_nested_lpid = -1

    def find(self, lpid: int) -> G | None:
        return self.slots[lpid] if 0 <= lpid < len(self.slots) else None

    def add(self, lpid: int, gp: G) -> None:
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

    def items(self) -> list[tuple[int, G]]:
        """(lpid, gp) for i = 0..max_nested_lpid, the loop the 4.20 code runs."""
        return [(i, g) for i in range(self.max_nested_lpid + 1) if (g := self.slots[i])]

    def values(self) -> list[G]:
        return [g for _, g in self.items()]

    def next_from(self, lpid: int) -> tuple[int, G] | None:
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

    def __iter__(self) -> Iterator[G]:
        return iter(self.values())

    def memory_cost(self) -> int:
        """Bytes in ``struct kvm_arch``: one 8-byte pointer per slot + the int max."""
        return 8 * len(self.slots) + 4


class NestedIdr(Generic[G]):
    """The later kernels' IDR (``kvm_nested_guest_idr``), kept as a sorted dict."""

    kind = "dynamic"

    def __init__(self) -> None:
        self.map: dict[int, G] = {}

    @property
    def max_nested_lpid(self) -> int:
        return max(self.map, default=-1)

    def find(self, lpid: int) -> G | None:
        return self.map.get(lpid)

    def add(self, lpid: int, gp: G) -> None:
        self.map[lpid] = gp

    def remove(self, lpid: int) -> None:
        self.map.pop(lpid, None)

    def items(self) -> list[tuple[int, G]]:
        return sorted(self.map.items(), key=lambda kv: kv[0])

    def values(self) -> list[G]:
        return [g for _, g in self.items()]

    def next_from(self, lpid: int) -> tuple[int, G] | None:
        """The entry with the smallest id at or after ``lpid`` (``idr_get_next``, the
        step of ``idr_for_each_entry``)."""
        ids = [i for i in self.map if i >= lpid]
        return (min(ids), self.map[min(ids)]) if ids else None

    def clear(self) -> None:
        self.map.clear()

    def __len__(self) -> int:
        return len(self.map)

    def __iter__(self) -> Iterator[G]:
        return iter(self.values())

    def memory_cost(self) -> int:
        return idr_memory_cost(self.map)


#: one L1's table of its nested guests, either kind
NestedTable = NestedArray["NestedGuest"] | NestedIdr["NestedGuest"]


def idr_memory_cost(lpids: Iterable[int]) -> int:
    """Estimated bytes of an IDR holding ``lpids``: a 24-byte ``struct idr`` plus one
    576-byte xarray node per 64-slot node the indices need (an xarray keeps a lone
    index 0 in its head, without a node)."""
    keys = sorted(set(lpids))
    head = 24
    if not keys or keys == [0]:
        return head
    height = max(1, -(-keys[-1].bit_length() // XA_CHUNK_SHIFT))
    nodes = sum(len({k >> (XA_CHUNK_SHIFT * lv) for k in keys}) for lv in range(1, height + 1))
    return head + nodes * XA_NODE_BYTES


def nested_table_costs(lpids: list[int]) -> dict[str, int]:
    """Bytes per VM for each table kind when the L1 runs guests with these lpids."""
    return {"array": NestedArray[NestedGuest]().memory_cost(), "dynamic": idr_memory_cost(lpids)}


def vm_nested_init(kind: str) -> NestedTable:
    """``kvmhv_vm_nested_init``: an empty table, ``"array"`` (max_nested_lpid = -1) or
    ``"dynamic"`` (idr_init)."""
    if kind == "array":
        return NestedArray[NestedGuest]()
    return NestedIdr[NestedGuest]()
