"""L0, the host hypervisor: host memory, the real partition table, LPIDs and L1 VMs.

An :class:`L0` owns host physical memory and the partition table the hardware uses
(PTCR). Each L1 it creates (:class:`L1Vm`, L0's ``struct kvm`` for that guest) gets its
own LPID and a contiguous *allotment* of host memory, mapped guest real -> host real by
a partition-scoped radix tree that L0 builds in its own table area
(``kvm->arch.pgtable``). Pages are backed lazily: the first touch of an L1 page makes L0
map it (``kvmppc_book3s_instantiate_page``), which the event log shows.

Limits are those of the 4.20 kernel the series was merged in: 1024 hardware LPIDs
(``KVMPPC_NR_LPIDS = LPID_RSVD + 1``), LPID 0 (the host) and LPID_RSVD (0x3ff,
"reserved for partition switching") claimed at start, and the same 1024 as
``KVM_MAX_NESTED_GUESTS``. L0's own page size is ``PAGE_SHIFT`` 16 (64 KiB) by default, as
in ppc64 distribution kernels; it matters because an L1 mapping smaller than L0's page
cannot be shadowed (``__kvmhv_nested_page_fault`` returns -EINVAL).

This module stands on :mod:`pynest.kvm.radix` (the nest rmap an unmap clears) and
:mod:`pynest.kvm.nested` (the nested guests a destroyed VM releases), which name
:class:`L1Vm` for annotations only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import AddressError, ConfigError, check_int
from ..memory import PhysicalMemory
from ..mmu import constants as C
from ..mmu.builder import (
    Allocator,
    OutOfTableMemory,
    PartitionTable,
    ProcessTable,
    RadixTree,
    TranslatedSpace,
)
from ..mmu.tlb import Tlb
from ..mmu.walk import leaves
from .constants import KVMPPC_NR_LPIDS, LPID_RSVD, PATB_SIZE_SHIFT, RADIX_PGD_INDEX_SIZE
from .events import EventLog
from .guest_state import PtRegs
from .nested import release_all_nested
from .nested_table import NestedGuest, NestedTable, vm_nested_init
from .radix import remove_nest_rmap_range
from .versions import DEFAULT_KERNEL, L0_KERNELS, check_kernel

if TYPE_CHECKING:
    from .program import Program

# kvmppc_core_vcpu_create_hv: the facilities a guest may use (HFSCR), FSCR bit numbers
# TAR 8, EBB 7, BHRB 4, PM 3, DSCR 2, VECVSX 1, FP 0.
HFSCR_DEFAULT = (1 << 8) | (1 << 7) | (1 << 4) | (1 << 3) | (1 << 2) | (1 << 1) | 1

# The LPCR L0 runs an L1 with (vc->lpcr): radix host, process table, guest tlbie,
# and the interrupt controls the kernel sets (HVICE, HDICE); LPES0 clear.
LPCR_HVICE = 0x2
LPCR_HDICE = 0x1
L1_LPCR = C.LPCR_HR | C.LPCR_UPRT | C.LPCR_GTSE | LPCR_HVICE | LPCR_HDICE

_MB = 1 << 20

#: The default accounted table budget of an L1 (``create_l1(table_limit=...)``): room
#: for its own partition tree and 1024 nested guests' 64 KiB shadow PGDs with their
#: tables. Two L1s at this budget fit in L0's 240 MiB table area beside L0's own tables
#: (made before any L1, so never starved); more L1s than that (L0 can hold 1022) cannot
#: all have their full budgets there, so a full area is one more clean failure: -ENOMEM
#: or NULL at the kernel's call sites, a ConfigError from create_l1.
DEFAULT_TABLE_LIMIT = 112 * _MB


class TableAllocator(Allocator):
    """L0's allocator for page-table pages: the builder's bump allocator plus free
    lists, so that freed shadow trees (``pgd_free``, ``kvmppc_pte_free``) are reused.

    Once the area between ``start`` and ``end`` has been handed out, a request with no
    free block of its size is cut from a larger free block, and free buddies are merged
    when no larger block is free (as the kernel's page allocator does), so that tables
    freed at one size serve requests of another after churn.

    A table allocated for an L1 (``alloc(size, owner=vm)``, through
    :class:`ChargedTables`) is charged to that L1's budget (``vm.table_limit`` bytes,
    its memcg limit) and credited back when freed, whoever frees it. Tables without an
    owner (L0's partition table, host tree and process table) are charged to nobody.
    Both kinds of failure, an exhausted budget and a full table area, raise
    :class:`~pynest.mmu.builder.OutOfTableMemory`, which the kernel-shaped callers
    turn into NULL or -ENOMEM.

    What 4.20.1 charges (read in the source): ``pgd_alloc`` (``radix__pgd_alloc``) and
    ``pud_alloc_one`` pass ``pgtable_gfp_flags(kvm->mm, ...)``, which adds
    ``__GFP_ACCOUNT`` for any mm but ``init_mm`` (``asm/pgalloc.h``), so the PGDs of
    ``kvm->arch.pgtable`` and of every shadow tree and their PUD tables are charged to
    the memcg of the allocating task (the L1's QEMU). The PMD and PTE tables come from
    ``kvm_pmd_cache`` / ``kvm_pte_cache`` (``kvmppc_pmd_alloc`` / ``kvmppc_pte_alloc``,
    ``kmem_cache_alloc(..., GFP_KERNEL)``), which ``kvmppc_radix_init`` creates with
    flags 0, no ``SLAB_ACCOUNT``: 4.20 charges them to no one (later kernels too). The
    model charges every table of the L1 (a deliberate, stricter choice: with 4.20's
    accounting a hostile L1 could still fill the host with PTE tables).
    """

    def __init__(self, start: int, end: int) -> None:
        super().__init__(start, end)
        self.sizes: dict[int, int] = {}
        self.free_blocks: dict[int, list[int]] = {}
        self.owners: dict[int, L1Vm] = {}
        self._gaps: list[tuple[int, int]] = []  # alignment padding the bump skipped

    def can_alloc(self, size: int) -> bool:
        """Whether ``alloc(size)`` would find room in the area (ignoring budgets)."""
        align = 1 << (size - 1).bit_length()
        if self.free_blocks.get(align) or self._bump_fits(align):
            return True
        if self._larger_free(align) is None:
            self._coalesce()
        return bool(self.free_blocks.get(align)) or self._larger_free(align) is not None

    def _bump_fits(self, align: int) -> bool:
        return ((self.next + align - 1) & -align) + align <= self.end

    def _larger_free(self, align: int) -> int | None:
        return min((s for s, v in self.free_blocks.items() if v and s > align), default=None)

    def _split(self, align: int) -> int | None:
        """A block of ``align`` bytes cut from the smallest larger free block (its other
        halves go to the free lists), or None."""
        size = self._larger_free(align)
        if size is None:
            return None
        addr = self.free_blocks[size].pop()
        while size > align:
            size >>= 1
            self.free_blocks.setdefault(size, []).append(addr + size)
        return addr

    def _coalesce(self) -> None:
        """Merge free buddies (a block and its neighbour ``addr ^ size``) into blocks of
        twice the size, from the smallest size up. The padding the bump allocator
        skipped and the rest of the area above it join the free blocks first."""
        pool = {size: set(blocks) for size, blocks in self.free_blocks.items()}
        for lo, hi in [*self._gaps, (self.next, self.end)]:
            while lo < hi:
                size = lo & -lo
                while lo + size > hi:
                    size >>= 1
                pool.setdefault(size, set()).add(lo)
                lo += size
        self._gaps = []
        self.next = self.end
        size = min(pool, default=self.end)
        while size < self.end - self.start:
            blocks = pool.get(size, set())
            for addr in sorted(blocks):
                if addr in blocks and addr ^ size in blocks:
                    blocks -= {addr, addr ^ size}
                    pool.setdefault(size << 1, set()).add(addr & ~size)
            size <<= 1
        self.free_blocks = {size: sorted(b) for size, b in pool.items() if b}

    def alloc(self, size: int, owner: L1Vm | None = None) -> int:
        """A table of ``size`` bytes (rounded to a power of two), charged to ``owner``."""
        check_int("size", size, minimum=1)
        align = 1 << (size - 1).bit_length()
        if owner is not None and owner.table_bytes + align > owner.table_limit:
            raise OutOfTableMemory(
                f"-ENOMEM: L1 LPID {owner.lpid}'s table budget of {owner.table_limit:#x} "
                f"bytes is used up ({owner.table_bytes:#x} in use, {align:#x} more asked)"
            )
        blocks = self.free_blocks.get(align)
        if blocks:
            addr = blocks.pop()
        elif self._bump_fits(align):
            before = self.next
            addr = super().alloc(align)
            if addr > before:
                self._gaps.append((before, addr))
        else:  # the area is used up: split a larger free block, merging buddies if need be
            found = self._split(align)
            if found is None:
                self._coalesce()
                blocks = self.free_blocks.get(align)
                found = blocks.pop() if blocks else self._split(align)
            addr = found if found is not None else super().alloc(size)  # raises
        self.sizes[addr] = align
        if owner is not None:
            self.owners[addr] = owner
            owner.table_bytes += align
        return addr

    def free(self, addr: int) -> None:
        """Return a table allocated here (its contents need not be zero); its owner, if
        any, is credited."""
        size = self.sizes.pop(addr, None)
        if size is None:
            raise ConfigError(f"{addr:#x} is not an allocated table")
        owner = self.owners.pop(addr, None)
        if owner is not None:
            owner.table_bytes -= size
        self.free_blocks.setdefault(size, []).append(addr)

    def free_tree(self, tree: RadixTree) -> None:
        """Free every table of ``tree``, root included."""
        for base in tree.tables:
            self.free(base)
        tree.tables = []

    @property
    def in_use(self) -> int:
        """Bytes of tables currently allocated."""
        return sum(self.sizes.values())


class ChargedTables:
    """The allocator of the trees L0 keeps for one L1 (its partition tree, its nested
    guests' shadow trees): L0's :class:`TableAllocator`, every table charged to ``vm``
    (``__GFP_ACCOUNT`` in the L1's memcg, see :class:`TableAllocator`)."""

    def __init__(self, tables: TableAllocator, vm: L1Vm) -> None:
        self.tables = tables
        self.vm = vm

    def alloc(self, size: int) -> int:
        return self.tables.alloc(size, self.vm)

    def free(self, addr: int) -> None:
        self.tables.free(addr)


class LpidAllocator:
    """The global hardware-LPID bitmap (``lpid_inuse``, ``kvmppc_alloc_lpid``).

    ``alloc`` takes the lowest free LPID below ``nr_lpids``, or returns None where the
    kernel returns -ENOMEM after "No LPIDs free".
    """

    def __init__(self, nr_lpids: int) -> None:
        check_int("nr_lpids", nr_lpids, bits=32, minimum=1)
        self.nr_lpids = nr_lpids
        self.inuse: set[int] = set()

    def claim(self, lpid: int) -> None:
        """``kvmppc_claim_lpid``: mark ``lpid`` used."""
        check_int("lpid", lpid)
        self.inuse.add(lpid)

    def alloc(self) -> int | None:
        """``kvmppc_alloc_lpid``: the lowest free LPID, or None when all are taken."""
        for lpid in range(self.nr_lpids):
            if lpid not in self.inuse:
                self.inuse.add(lpid)
                return lpid
        return None

    def free(self, lpid: int) -> None:
        """``kvmppc_free_lpid``."""
        self.inuse.discard(lpid)

    @property
    def free_count(self) -> int:
        return self.nr_lpids - len(self.inuse)


@dataclass
class Vcpu:
    """The registers L0 keeps for one vcpu of an L1 (``struct kvm_vcpu`` + its vcore).

    ``hv`` holds the registers ``kvmhv_save_hv_regs``/``restore_hv_regs`` move (pcr,
    dpdes, dawr0, ...). While the vcpu runs an L2, ``nested`` is set and ``regs``/``msr``
    are the L2's. ``pcpu`` is the physical CPU the vcpu thread runs on (L0 places vcpu
    *i* on CPU *i*; a test may move it): ``kvmppc_prepare_radix_vcpu`` records it in
    the nested guest's ``prev_cpu[]``.
    """

    vcpu_id: int
    pcpu: int = -1
    msr: int = C.MSR_GUEST_KERNEL
    lpcr: int = L1_LPCR
    hfscr: int = HFSCR_DEFAULT
    tb_offset: int = 0
    regs: PtRegs = field(default_factory=PtRegs)
    hv: dict[str, int] = field(default_factory=dict)
    trap: int = 0
    fault_dar: int = 0
    fault_dsisr: int = 0
    fault_gpa: int = 0
    emul_inst: int = 0
    nested: NestedGuest | None = None
    nested_vcpu_id: int = 0
    pending_signal: bool = False
    mmio_needed: bool = False
    queued_dsi: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.pcpu < 0:
            self.pcpu = self.vcpu_id


class L1Space(TranslatedSpace):
    """The L1's guest real memory seen through L0's partition tree for it.

    Implements the builder's ``Space`` protocol, so an L1 builds radix trees and tables
    in its own memory with :class:`~pynest.mmu.builder.RadixTree`. With ``fault_in``
    (the L1's CPU touching its memory) a page L0 has not backed yet is instantiated;
    without it (a debugger's look) an unbacked page raises.
    """

    def __init__(self, vm: L1Vm, fault_in: bool = True) -> None:
        self.vm = vm
        self.fault_in = fault_in
        self.mem = vm.l0.mem

    def to_hra(self, gpa: int, writing: bool = False) -> int:
        vm = self.vm
        if not 0 <= gpa < vm.mem_size:
            raise AddressError(
                f"L1 guest real address {gpa:#x} is outside LPID {vm.lpid}'s memory "
                f"(0..{vm.mem_size:#x})"
            )
        found = vm.pgtable.find_leaf(gpa)
        if found is None or (writing and not found[1] & C.PTE_C):
            if not self.fault_in:
                raise ConfigError(f"L1 page {gpa:#x} of LPID {vm.lpid} is not backed by L0 yet")
            vm.instantiate_page(gpa, writing)
            found = vm.pgtable.find_leaf(gpa)
            assert found is not None
        _slot, pte, shift = found
        mask = (1 << shift) - 1
        return (pte & C.PTE_RPN & ~mask) | (gpa & mask)


class MemslotSpace(L1Space):
    """The L1's memory through its memslot (host real = allotment base + guest real):
    how L0's own code reads L1 memory (``kvm_read_guest``), whether or not the page is
    mapped in the partition tree yet."""

    def to_hra(self, gpa: int, writing: bool = False) -> int:
        vm = self.vm
        if not 0 <= gpa < vm.mem_size:
            raise AddressError(
                f"L1 guest real address {gpa:#x} is outside LPID {vm.lpid}'s memory "
                f"(0..{vm.mem_size:#x})"
            )
        return vm.mem_base + gpa


class L1Vm:
    """L0's ``struct kvm`` for one L1 guest (with ``kvm->arch`` nested fields).

    ``l1_ptcr`` is what the L1 registered with H_SET_PARTITION_TABLE (0: none);
    ``nested`` the nested-guest table (``nested_guests[]`` + ``max_nested_lpid``, or the
    later IDR); ``rmap`` the per-L1-page nested reverse map (``memslot->arch.rmap``),
    keyed by L1 guest frame number (L0 ``PAGE_SHIFT`` frames). ``table_limit`` is the
    L1's accounted table budget in bytes (its memcg limit) and ``table_bytes`` what its
    tables use now (its partition tree and its nested guests' shadow trees, charged
    through ``table_alloc``).
    """

    def __init__(
        self,
        l0: L0,
        lpid: int,
        mem_base: int,
        mem_size: int,
        backing: int,
        nesting_enabled: bool,
        little_endian: bool,
        nr_vcpus: int,
        table_limit: int = DEFAULT_TABLE_LIMIT,
    ) -> None:
        self.l0 = l0
        self.lpid = lpid
        self.mem_base = mem_base
        self.mem_size = mem_size
        self.backing = backing
        self.nesting_enabled = nesting_enabled
        self.table_limit = table_limit
        self.table_bytes = 0
        self.table_alloc = ChargedTables(l0.table_alloc, self)
        self.pgtable = RadixTree(l0.mem, self.table_alloc)  # kvmppc_init_vm_radix
        self.l1_ptcr = 0
        self.nested: NestedTable = vm_nested_init(l0.nested_table)
        self.rmap: dict[int, list[int]] = {}
        self.programs: dict[int, Program] = {}  # l1_lpid -> its "instruction memory"
        msr = C.MSR_GUEST_KERNEL | (C.MSR_LE if little_endian else 0)
        self.vcpus = [Vcpu(i, msr=msr) for i in range(nr_vcpus)]
        self.space = L1Space(self)
        self.peek = L1Space(self, fault_in=False)
        self.slot_space = MemslotSpace(self, fault_in=False)
        self.destroyed = False

    def __repr__(self) -> str:
        return (
            f"L1Vm(lpid={self.lpid}, memory {self.mem_base:#x}+{self.mem_size:#x}, "
            f"l1_ptcr={self.l1_ptcr:#x}, {len(self.nested)} nested guests)"
        )

    @property
    def allotment(self) -> tuple[int, int]:
        """The host real range [start, end) this L1 owns."""
        return self.mem_base, self.mem_base + self.mem_size

    @property
    def page_shift(self) -> int:
        return self.l0.page_shift

    # ------------------------------------------------------------- memslot accesses
    def is_visible_gfn(self, gfn: int) -> bool:
        """``kvm_is_visible_gfn``: the L1 page frame lies in its (single) memslot."""
        return 0 <= gfn < self.mem_size >> self.page_shift

    def read_guest(self, gpa: int, n: int) -> bytes | None:
        """``kvm_read_guest``: bytes of L1 memory, or None (-EFAULT) outside the memslot.

        Like the kernel it goes through the memslot (host real = allotment base + gpa),
        not through the partition tree, so it never faults a page in.
        """
        if n < 0 or gpa < 0 or gpa + n > self.mem_size:
            return None
        return self.l0.mem.read(self.mem_base + gpa, n)

    def write_guest(self, gpa: int, data: bytes) -> bool:
        """``kvm_write_guest``: False (-EFAULT) when the range leaves the memslot."""
        if gpa < 0 or gpa + len(data) > self.mem_size:
            return False
        self.l0.mem.write(self.mem_base + gpa, bytes(data))
        return True

    def enomem_detail(self, why: Exception) -> str:
        """The text of an "error" event for a table allocation that failed for this L1."""
        return (
            f"-ENOMEM: no table for L1 LPID {self.lpid} (budget {self.table_limit:#x} bytes, "
            f"{self.table_bytes:#x} in use): {why}"
        )

    # ------------------------------------------------------------- L0's tree for the L1
    def find_pte(self, gpa: int) -> tuple[int, int, int] | None:
        """``find_kvm_secondary_pte``: (pte address, pte, shift) of L0's leaf for ``gpa``."""
        if not 0 <= gpa < self.mem_size:
            return None
        return self.pgtable.find_leaf(gpa)

    def instantiate_page(self, gpa: int, writing: bool) -> tuple[int, int]:
        """Back the L1 page holding ``gpa``; returns (pte, shift).

        Models ``kvmppc_book3s_instantiate_page`` (``book3s_64_mmu_radix.c``): map the
        host page (``backing`` bytes, naturally aligned) read/write/execute with R set,
        and C set when the fault is a write. An existing leaf only gains C.

        When a table for the mapping cannot be had (the L1's budget or L0's table area
        is exhausted) ``kvmppc_create_pte`` and so this function return -ENOMEM: here an
        "error" event naming the L1 and its budget is logged and
        :class:`~pynest.mmu.builder.OutOfTableMemory` raised, which
        ``__kvmhv_nested_page_fault`` turns back into -ENOMEM.
        """
        found = self.find_pte(gpa)
        if found is not None:
            slot, pte, shift = found
            if writing and not pte & C.PTE_C:
                pte |= C.PTE_C
                self.l0.mem.write_u64(slot, pte)
            return pte, shift
        size = self.backing
        base = gpa & -size
        try:
            self.pgtable.map(base, self.mem_base + base, size, "rwx", r=True, c=writing)
        except OutOfTableMemory as e:
            self.l0.events.append(
                "error", "L0", lpid=self.lpid, l1_gpa=base, detail=self.enomem_detail(e)
            )
            raise
        found = self.pgtable.find_leaf(gpa)
        assert found is not None
        self.l0.events.append(
            "l0-fault-in", "L0", lpid=self.lpid, l1_gpa=base, hpa=self.mem_base + base, size=size
        )
        return found[1], found[2]

    def unmap_page(self, gpa: int) -> int | None:
        """L0 takes an L1 page away (``kvm_unmap_radix`` -> ``kvmppc_unmap_pte``).

        Clears L0's PTE, flushes the L1's TLB entries for it, and through the nested rmap
        removes every shadow PTE still pointing at that host page
        (``kvmhv_remove_nest_rmap_range``). Returns the old PTE, or None if unbacked.
        """
        found = self.find_pte(gpa)
        if found is None:
            return None
        slot, pte, shift = found
        size = 1 << shift
        base = gpa & -size
        self.l0.mem.write_u64(slot, 0)
        self.l0.flush_page(self.lpid, base, size)
        self.l0.events.append(
            "l0-unmap", "L0", lpid=self.lpid, l1_gpa=base, hpa=pte & C.PTE_RPN & -size, size=size
        )
        remove_nest_rmap_range(self, base, pte & C.PTE_RPN & -size, size)
        return pte


class L0:
    """The host hypervisor: memory, partition table, LPID allocator, L1 VMs, the TLB.

    ``kernel`` is the Linux version L0 runs: ``"4.20"`` (the merged series),
    ``"5.0"`` (which fixed nested dirty tracking, passed emulated MMIO through to L2s
    and added H_COPY_TOFROM_GUEST) or ``"5.14"``, which adds the two later
    H_ENTER_NESTED sanitisations (rows nested-lpcr-filter and nested-tm-sanitise:
    H_BAD_MODE for a mismatched MSR[TS], LPCR[TC] and AIL=1/2 filtered) and otherwise
    behaves like 5.0. Where they differ, L0 does what that version did
    (:mod:`pynest.kvm.versions` lists each difference). ``nested_table`` selects how
    each L1's nested guests are kept: ``"array"`` (the fixed
    ``nested_guests[KVM_MAX_NESTED_GUESTS]`` of both) or ``"dynamic"`` (the IDR that
    replaced it in 5.19).
    """

    TABLE_START = 16 * _MB
    TABLE_END = 256 * _MB
    RAM_START = 256 * _MB

    def __init__(
        self,
        mem_size: int = 4 << 30,
        page_shift: int = 16,
        nested_table: str = "array",
        kernel: str = DEFAULT_KERNEL,
    ) -> None:
        check_int("mem_size", mem_size, bits=60)
        if mem_size < 512 * _MB:
            raise ConfigError(f"L0 needs at least 512 MiB of host memory, got {mem_size:#x}")
        if page_shift not in (12, 16):
            raise ConfigError(f"L0 PAGE_SHIFT must be 12 or 16 (4K or 64K), got {page_shift}")
        if nested_table not in ("array", "dynamic"):
            raise ConfigError(f"nested_table must be 'array' or 'dynamic', got {nested_table!r}")
        self.kernel = check_kernel(kernel, L0_KERNELS)
        self.mem = PhysicalMemory(mem_size)
        self.page_shift = page_shift
        self.nested_table = nested_table
        self.events = EventLog()
        self.tlb = Tlb()
        self.timebase = 0
        self.table_alloc = TableAllocator(self.TABLE_START, self.TABLE_END)
        self.ram_alloc = Allocator(self.RAM_START, mem_size)
        # mmu_partition_table_init: a 64 KiB table, PTCR = base | (PATB_SIZE_SHIFT - 12)
        self.ptab = PartitionTable.create(self.mem, self.table_alloc, PATB_SIZE_SHIFT - 12)
        # LPID 0 is the host: an identity partition tree (QEMU translates the process
        # table address through it) and a process table for the host kernel.
        self.host_tree = RadixTree(self.mem, self.table_alloc)
        for gb in range(0, mem_size, C.PAGE_1G):
            self.host_tree.map(gb, gb, C.PAGE_1G, "rwx", r=True, c=True)
        self.host_prtab = ProcessTable.create(self.mem, self.table_alloc)
        self.ptab.set_entry(0, self.host_tree, self.host_prtab)
        self.lpids = LpidAllocator(KVMPPC_NR_LPIDS)
        self.lpids.claim(0)  # the host
        self.lpids.claim(LPID_RSVD)  # kvmppc_mmu_hv_init: reserved for partition switching
        self.guests: dict[int, L1Vm] = {}

    def __repr__(self) -> str:
        return (
            f"L0(Linux {self.kernel}, {self.mem.size >> 20} MiB, PTCR={self.ptcr:#x}, "
            f"{len(self.guests)} L1s, "
            f"{self.lpids.free_count} free LPIDs)"
        )

    @property
    def ptcr(self) -> int:
        return self.ptab.ptcr

    def nested_init(self) -> int:
        """``kvmhv_nested_init`` in the kernel that runs on bare metal (this L0):
        ``kvmhv_on_pseries()`` is false, so it returns 0 at once. No table is allocated
        and no hcall is made; KVM here fills the real partition table (``ptab``)."""
        return 0

    # ------------------------------------------------------------- partition table
    def set_ptbl_entry(self, lpid: int, dw0: int, dw1: int, why: str = "") -> None:
        """Write the real PATE[lpid] and flush what the hardware cached for it.

        Models ``kvmhv_set_ptbl_entry`` on bare metal -> ``mmu_partition_table_set_entry``
        (4.20: ``arch/powerpc/mm/pgtable-book3s64.c``), which follows the store with a
        ``tlbie`` RIC=2 IS=2 (TLB, walk caches and partition-table cache) for the LPID:
        partition- and process-scoped when the *old* entry was radix (HR), else one
        hash-form (R=0) tlbie -- "the type of flush depends on the previous use". A
        hash-form tlbie invalidates HPT translations only, and the TLB here holds radix
        ones, so that case removes nothing (an LPID whose entry was not radix has no
        radix translations cached).
        """
        old = self.ptab.raw(lpid)[0]
        self.ptab.write_raw(lpid, dw0, dw1)
        if old & C.PATE0_HR:
            for prs in (0, 1):
                self.tlb.tlbie(2 << 10, lpid, ric=2, prs=prs, r=1)
        self.events.append(
            "ptbl-set",
            "L0",
            shadow_lpid=lpid,
            detail=f"PATE[{lpid}] = {dw0:#018x} {dw1:#018x} {why}".rstrip(),
        )

    def flush_lpid(self, lpid: int) -> int:
        """``kvmhv_flush_lpid`` on bare metal (4.20 and 5.0): ``radix__flush_tlb_lpid`` =
        ``_tlbie_lpid(lpid, RIC_FLUSH_ALL)``, one partition-scoped (PRS=0) tlbie RIC=2
        IS=2. (Later kernels call ``radix__flush_all_lpid``, which adds PRS=1.) Returns
        the number of TLB entries removed."""
        return len(self.tlb.tlbie(2 << 10, lpid, ric=2, prs=0, r=1).removed)

    def flush_page(self, lpid: int, gpa: int, size: int) -> int:
        """``kvmppc_radix_tlbie_page``: partition-scoped tlbie IS=0 for one page."""
        rb = (gpa & ~(size - 1) & 0xFFFF_FFFF_FFFF_F000) | C.AP_OF_PAGE_SIZE[size] << 5
        return len(self.tlb.tlbie(rb, lpid, ric=0, prs=0, r=1).removed)

    # ------------------------------------------------------------- L1 guests
    def create_l1(
        self,
        mem_size: int = 256 * _MB,
        *,
        backing: int | None = None,
        nesting: bool = True,
        little_endian: bool = False,
        nr_vcpus: int = 2,
        table_limit: int = DEFAULT_TABLE_LIMIT,
    ) -> L1Vm:
        """Create an L1 VM: an LPID, a host memory allotment and an empty partition tree.

        Models ``kvmppc_core_init_vm_hv`` + ``kvmppc_init_vm_radix`` for a radix guest;
        ``nesting`` is the KVM_CAP_PPC_NESTED_HV capability (QEMU ``cap-nested-hv``).
        ``backing`` is the host page size that backs L1 memory: L0's PAGE_SIZE (the
        default) or a huge page, 2M or 1G (THP/hugetlbfs). A 4K-page L0 has no 64K
        backing: 4.20's ``add_huge_page_size`` (``arch/powerpc/mm/hugetlbpage.c``) accepts
        only MMU_PAGE_2M and MMU_PAGE_1G under radix.

        ``table_limit`` is the L1's accounted table budget in bytes (the memcg limit of
        its QEMU; see :class:`TableAllocator`): its partition tree and every shadow tree
        of its nested guests are charged to it, and an allocation past it takes the
        kernel's failure path (-ENOMEM, or NULL from ``kvmhv_alloc_nested``). When L0's
        table area has no room for the new partition tree's 64 KiB PGD, the LPID is
        given back and a ConfigError says so (``kvmppc_init_vm_radix`` -ENOMEM).
        """
        check_int("mem_size", mem_size, minimum=1)
        check_int("nr_vcpus", nr_vcpus, minimum=1)
        check_int("table_limit", table_limit, minimum=8 << C.ROOT_NLS)
        if nr_vcpus > 2048:
            raise ConfigError(f"nr_vcpus must be at most 2048 (CONFIG_NR_CPUS), got {nr_vcpus}")
        left = self.ram_alloc.end - self.ram_alloc.next
        if mem_size > left:
            raise ConfigError(
                f"mem_size {mem_size:#x} must be at most the {left:#x} bytes of host RAM left"
            )
        backing = 1 << self.page_shift if backing is None else backing
        check_int("backing", backing)
        if backing not in C.PAGE_SIZES or backing < 1 << self.page_shift:
            raise ConfigError(
                f"backing page size {backing:#x} must be one of 4K/64K/2M/1G and at least "
                f"L0's PAGE_SIZE {1 << self.page_shift:#x}"
            )
        if backing == C.PAGE_64K and self.page_shift == 12:
            raise ConfigError(
                "backing page size 0x10000 (64K) does not exist on a 4K-page L0: 4.20's "
                "add_huge_page_size (arch/powerpc/mm/hugetlbpage.c) accepts only 2M and 1G "
                "huge pages under radix; use 4K, 2M or 1G"
            )
        if mem_size % backing:
            raise ConfigError(
                f"L1 mem_size {mem_size:#x} must be a multiple of the backing page {backing:#x}"
            )
        lpid = self.lpids.alloc()
        if lpid is None:
            raise ConfigError(f"no hardware LPID left (all {self.lpids.nr_lpids} in use)")
        self.events.append("lpid-alloc", "L0", lpid=lpid, detail="L1 VM")
        if not self.table_alloc.can_alloc(8 << C.ROOT_NLS):  # pgd_alloc fails: -ENOMEM
            self.lpids.free(lpid)
            self.events.append("lpid-free", "L0", lpid=lpid)
            raise ConfigError(
                "-ENOMEM: L0's table area has no room for a new L1's 64 KiB partition-tree "
                f"PGD ({self.table_alloc.in_use:#x} bytes of tables in use)"
            )
        mem_base = self.ram_alloc.alloc(mem_size)
        vm = L1Vm(
            self, lpid, mem_base, mem_size, backing, nesting, little_endian, nr_vcpus, table_limit
        )
        self.guests[lpid] = vm
        self.set_ptbl_entry(lpid, C.PATE0_HR | vm.pgtable.dw0, 0, "(L1 partition tree)")
        self.events.append(
            "l1-create",
            "L0",
            lpid=lpid,
            hpa=mem_base,
            size=mem_size,
            detail=f"nesting {'on' if nesting else 'off'}",
        )
        return vm

    def destroy_l1(self, vm: L1Vm) -> None:
        """``kvmppc_core_destroy_vm_hv`` (4.20): free the L1's partition tree
        (``kvmppc_free_radix``: every table, then the PGD), release all nested guests
        (their shadow trees), clear the PATE, free the LPID. Every table charged to the
        L1 is given back."""
        tree = vm.pgtable
        for slot, _entry in self.mem.nonzero_u64(tree.root, 8 << C.ROOT_NLS):
            self.mem.write_u64(slot, 0)  # pgd_clear
        self.table_alloc.free_tree(tree)
        release_all_nested(vm)
        self.set_ptbl_entry(vm.lpid, 0, 0, "(L1 destroyed)")
        self.lpids.free(vm.lpid)
        self.events.append("lpid-free", "L0", lpid=vm.lpid)
        del self.guests[vm.lpid]
        vm.destroyed = True
        self.events.append("l1-destroy", "L0", lpid=vm.lpid)


@dataclass(frozen=True, slots=True)
class Violation:
    """One breach of the isolation invariant: what (``where``) of which LPID maps
    ``addr`` to host ``hpa`` for ``size`` bytes, and ``why`` that is a breach."""

    where: str
    lpid: int
    addr: int
    hpa: int
    size: int
    why: str = "outside the owner's allotment"

    def __str__(self) -> str:
        return (
            f"{self.where} LPID {self.lpid}: {self.addr:#x} -> host {self.hpa:#x}+{self.size:#x} "
            f"{self.why}"
        )


def _tree_violations(
    mem: PhysicalMemory, tree: RadixTree, lpid: int, where: str, lo: int, hi: int
) -> list[Violation]:
    """Walk ``tree`` as the hardware would (:func:`pynest.mmu.walk.leaves`: POWER9
    shapes only): every leaf must map inside [lo, hi) and every directory entry the walk
    follows must point to one of the tree's own tables.

    Each (table, level, size) is read once: a tree whose directories loop back (which
    only a bug could make in L0's trees) is checked in time linear in its tables, not in
    the number of paths through it.
    """
    out: list[Violation] = []
    own = set(tree.tables)
    seen = {(tree.root, 0, C.ROOT_NLS)}

    def descend(addr: int, base: int, nls: int, level: int) -> bool:
        if base not in own:
            why = "a directory entry pointing outside the tree's own tables"
            out.append(Violation(where, lpid, addr, base, 8 << nls, why))
            return False
        if (base, level, nls) in seen:
            return False
        seen.add((base, level, nls))
        return True

    for leaf in leaves(mem.nonzero_u64, tree.walk_root, descend=descend):
        ra, size = leaf.pte & C.PTE_RPN & -(1 << leaf.shift), 1 << leaf.shift
        if not (lo <= ra and ra + size <= hi):
            out.append(Violation(where, lpid, leaf.addr, ra, size))
    return out


def isolation_violations(l0: L0) -> list[Violation]:
    """Every breach of isolation (empty list: the invariant holds).

    The invariant, checked on what the hardware uses (L0's partition table, the trees
    it names, L0's TLB):

    * an LPID that belongs to nobody has an empty partition-table entry (dw0 = 0);
    * an owned LPID's entry is empty or the one L0 built: HR | the L1's partition tree
      for an L1 (``kvmppc_setup_partition_table``), HR | 52-bit | shadow tree | 13 for a
      nested guest's shadow LPID (``kvmhv_set_nested_ptbl``);
    * every leaf of those trees maps host memory inside the owning L1's allotment, and
      every directory entry a walk would follow points to one of the tree's own tables
      (a tree never reaches memory it does not own, nor another tree's tables);
    * every TLB entry of a guest LPID belongs to an owned LPID and maps inside the
      owner's allotment.

    Owners are the L1s, the nested guests in their tables, and a nested guest that a
    vcpu still runs after it left the table (``vcpu->arch.nested``: it keeps its shadow
    LPID until the vcpu drops the last reference).
    """
    out: list[Violation] = []
    owners: dict[int, tuple[L1Vm, RadixTree, int, str]] = {}
    for vm in l0.guests.values():
        owners[vm.lpid] = (vm, vm.pgtable, C.PATE0_HR | vm.pgtable.dw0, "L1 tree")
        running = [v.nested for v in vm.vcpus if v.nested is not None]
        for gp in [*vm.nested.values(), *running]:
            tree = gp.shadow_pgtable
            if tree is None or gp.freed:
                continue
            dw0 = C.PATE0_HR | C.POWER9_RTS_FIELD | tree.root | RADIX_PGD_INDEX_SIZE
            owners[gp.shadow_lpid] = (vm, tree, dw0, "shadow tree")
    ptab = l0.ptab
    for addr, dw0 in l0.mem.nonzero_u64(ptab.base, 16 * ptab.num_lpids):
        lpid, dw = divmod(addr - ptab.base, 16)
        if dw or lpid == 0:
            continue
        if lpid not in owners:
            out.append(Violation("PATE of an unowned", lpid, 0, dw0 & C.RPDB_MASK, 0))
        elif dw0 != owners[lpid][2]:
            why = f"named by a PATE dw0 {dw0:#x} that L0 did not build"
            out.append(Violation("PATE", lpid, 0, dw0 & C.RPDB_MASK, 0, why))
    for lpid, (vm, tree, _dw0, where) in owners.items():
        lo, hi = vm.allotment
        out += _tree_violations(l0.mem, tree, lpid, where, lo, hi)
    for e in l0.tlb:
        if e.lpid == 0:
            continue  # the host's own translations
        if e.lpid not in owners:
            out.append(Violation("TLB", e.lpid, e.epn, e.rpn, e.page_size, "of an unowned LPID"))
            continue
        lo, hi = owners[e.lpid][0].allotment
        if not (lo <= e.rpn and e.rpn + e.page_size <= hi):
            out.append(Violation("TLB", e.lpid, e.epn, e.rpn, e.page_size))
    return out
