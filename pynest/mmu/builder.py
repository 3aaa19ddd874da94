"""Build valid radix structures in memory: partition table, process table, trees.

This is how notebooks and tests make every world: the builder writes the same
doublewords Linux/KVM would (``radix__map_kernel_page``-style trees with the POWER9
shape 13/9/9/9, or 13/9/9/5 below a 64K page), so :func:`pynest.mmu.translate` then
walks real bytes. A tree lives in an *address space*: host real memory for LPID 0 and
for partition-scoped trees, or a guest's real memory (:class:`GuestSpace`) for a
guest's process tree, whose table addresses are guest real.

Misuse raises :mod:`pynest.errors` exceptions: misaligned addresses, page sizes other
than 4K/64K/2M/1G, mixing 4K and 64K pages under one 2M region, mapping over an
existing larger leaf, running out of table memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..errors import AddressError, AlignmentError, ConfigError, FieldError, check_int
from ..memory import PhysicalMemory
from . import constants as C
from .formats import (
    PartitionTableEntry,
    ProcessTableEntry,
    Ptcr,
    RadixRoot,
    bits_to_rts_field,
    page_size_text,
)
from .walk import find_leaf, leaves

_LEVEL_OF_SIZE = {C.PAGE_1G: 1, C.PAGE_2M: 2, C.PAGE_64K: 3, C.PAGE_4K: 3}
_SHIFTS = (39, 30, 21)  # address bits left below levels 0, 1, 2


class Space(Protocol):
    """Where a structure's bytes live: strict 8-byte reads/writes in its own addresses."""

    def read_u64(self, addr: int) -> int: ...
    def write_u64(self, addr: int, value: int) -> None: ...
    def to_hra(self, addr: int) -> int: ...
    def zero(self, addr: int, size: int) -> None: ...


class HostSpace:
    """Host real memory seen directly."""

    def __init__(self, mem: PhysicalMemory) -> None:
        self.mem = mem

    def read_u64(self, addr: int) -> int:
        return self.mem.read_u64(addr)

    def write_u64(self, addr: int, value: int) -> None:
        self.mem.write_u64(addr, value)

    def to_hra(self, addr: int) -> int:
        return addr

    def zero(self, addr: int, size: int) -> None:
        if addr < 0 or addr + size > self.mem.size:
            raise AddressError(f"table {addr:#x}+{size:#x} runs past memory ({self.mem.size:#x})")
        self.mem.write(addr, bytes(size))


class TranslatedSpace:
    """Base of every space whose addresses reach host real memory through ``to_hra``.

    A subclass sets ``self.mem`` and defines ``to_hra(addr, writing=False)`` (``writing``
    tells a lazily backed space that the page will be written). Reads, writes and
    zeroing go page by page through it, so a table may straddle unrelated host pages.
    """

    mem: PhysicalMemory

    def to_hra(self, addr: int, writing: bool = False) -> int:
        raise NotImplementedError

    def read_u64(self, addr: int) -> int:
        return self.mem.read_u64(self.to_hra(addr))

    def write_u64(self, addr: int, value: int) -> None:
        self.mem.write_u64(self.to_hra(addr, writing=True), value)

    def zero(self, addr: int, size: int) -> None:
        pos = addr
        while pos < addr + size:
            chunk = min(C.PAGE_4K - (pos & (C.PAGE_4K - 1)), addr + size - pos)
            self.mem.write(self.to_hra(pos, writing=True), bytes(chunk))
            pos += chunk


class GuestSpace(TranslatedSpace):
    """A partition's guest real memory, reached through its partition-scoped tree."""

    def __init__(self, mem: PhysicalMemory, partition_tree: RadixTree) -> None:
        self.mem = mem
        self.partition_tree = partition_tree

    def to_hra(self, gra: int, writing: bool = False) -> int:
        found = self.partition_tree.lookup(gra)
        if found is None:
            raise ConfigError(f"guest real address {gra:#x} is not mapped by the partition tree")
        return found.ra


def _space(where: PhysicalMemory | Space) -> Space:
    return HostSpace(where) if isinstance(where, PhysicalMemory) else where


class OutOfTableMemory(ConfigError):
    """A table allocation found no room (an allocator's range, or an L1's accounted
    budget in L0: :class:`pynest.kvm.host.TableAllocator`). Kernel-shaped callers turn
    it into the kernel's failure value (NULL, -ENOMEM); elsewhere it is the error."""


class TableSource(Protocol):
    """Where a tree or table gets its memory: ``alloc(size)`` returns the base of a
    naturally aligned block or raises :class:`OutOfTableMemory`. (A source that can also
    ``free(addr)`` gets the tables of a dropped subtree back.)"""

    def alloc(self, size: int) -> int: ...


class Allocator:
    """Bump allocator of naturally aligned blocks in ``[start, end)`` of one space."""

    def __init__(self, start: int, end: int) -> None:
        check_int("start", start, bits=64)
        check_int("end", end, bits=64)
        if end <= start:
            raise ConfigError(f"allocator range [{start:#x}, {end:#x}) is empty")
        self.start, self.end, self.next = start, end, start

    def alloc(self, size: int) -> int:
        """A ``size``-byte block aligned to ``size`` (rounded up to a power of two)."""
        check_int("size", size, minimum=1)
        align = 1 << (size - 1).bit_length()
        addr = (self.next + align - 1) & -align
        if addr + size > self.end:
            raise OutOfTableMemory(
                f"out of table memory: size {size:#x} does not fit in [{self.start:#x}, "
                f"{self.end:#x}) (next free {self.next:#x})"
            )
        self.next = addr + size
        return addr

    def __repr__(self) -> str:
        return f"Allocator({self.start:#x}..{self.end:#x}, next {self.next:#x})"


def parse_perms(perms: str) -> int:
    """EAA bits from a string of 'p' (privileged), 'r', 'w' (read/write), 'x'."""
    if not isinstance(perms, str) or set(perms) - set("prwx"):
        raise FieldError(f"perms must use only the letters p, r, w, x; got {perms!r}")
    eaa = 0
    for ch, bit in (
        ("p", C.PTE_EAA_PRIV),
        ("r", C.PTE_EAA_READ),
        ("w", C.PTE_EAA_RW),
        ("x", C.PTE_EAA_EXEC),
    ):
        if ch in perms:
            eaa |= bit
    return eaa


def make_pte(ra: int, perms: str = "rw", *, r: bool = False, c: bool = False, att: int = 0) -> int:
    """A valid leaf PTE for real page ``ra`` (Linux ``radix__pte`` style)."""
    check_int("ra", ra)
    if ra & ~C.PTE_RPN:
        raise AddressError(f"real address {ra:#x} does not fit PTE[RPN] (57-bit, 4K aligned)")
    if att & ~C.PTE_ATT:
        raise FieldError(f"att={att:#x} is not one of 0x00, 0x10, 0x20, 0x30")
    pte = C.PTE_V | C.PTE_L | ra | parse_perms(perms) | att
    if r:
        pte |= C.PTE_R
    if c:
        pte |= C.PTE_C
    return pte


def make_pde(nlb: int, nls: int) -> int:
    """A valid directory entry pointing at a table of ``2**nls`` entries at ``nlb``."""
    if nlb & ~C.PDE_NLB or nlb & ((8 << nls) - 1):
        raise AlignmentError(f"next-level base {nlb:#x} is not aligned to {8 << nls:#x}")
    return C.PTE_V | nlb | nls


@dataclass(frozen=True, slots=True)
class Mapping:
    """A leaf of a tree: ``addr`` maps to ``ra`` for ``size`` bytes; ``pte`` is raw."""

    addr: int
    ra: int
    size: int
    pte: int
    pte_addr: int

    def __str__(self) -> str:
        size = page_size_text(self.size)
        return f"{self.addr:#014x} -> {self.ra:#014x} {size:>3} pte {self.pte:#018x}"


class RadixTree:
    """A POWER9-shaped radix tree (52 bits, 2^13-entry root) in one address space.

    ``map(addr, ra, size, perms)`` adds leaves, allocating directory tables from
    ``alloc`` as needed; ``unmap(addr)`` invalidates one; ``lookup(addr)`` walks in
    software without touching R/C. ``dw0`` is the value for a PATE/PRTE dw0 (HR not set).
    """

    def __init__(
        self, where: PhysicalMemory | Space, alloc: TableSource, root: int | None = None
    ) -> None:
        self.space = _space(where)
        self.alloc = alloc
        if root is None:
            root = alloc.alloc(8 << C.ROOT_NLS)
            self.space.zero(root, 8 << C.ROOT_NLS)
        elif check_int("root", root, bits=64) & ((8 << C.ROOT_NLS) - 1):
            raise AlignmentError(f"root {root:#x} must be 64 KiB aligned (2^13 entries of 8 B)")
        self.root = root
        self.tables = [root]

    @property
    def dw0(self) -> int:
        return bits_to_rts_field(C.RADIX_TREE_BITS) | self.root | C.ROOT_NLS

    @property
    def walk_root(self) -> RadixRoot:
        """The root as the walk takes it (what ``dw0`` names)."""
        return RadixRoot(rpdb=self.root, rpds=C.ROOT_NLS, tree_bits=C.RADIX_TREE_BITS)

    def __repr__(self) -> str:
        return f"RadixTree(root={self.root:#x}, {len(self.tables)} tables)"

    # ------------------------------------------------------------------ helpers
    def _entry_addr(self, table: int, nls: int, addr: int, shift: int) -> int:
        return table + 8 * ((addr >> shift) & ((1 << nls) - 1))

    def _new_table(self, nls: int) -> int:
        base = self.alloc.alloc(8 << nls)
        self.space.zero(base, 8 << nls)
        self.tables.append(base)
        return base

    @staticmethod
    def _check_addr(name: str, addr: int) -> int:
        check_int(name, addr, bits=64)
        if addr & C.EA_SEGMENT_CHECK:
            raise AddressError(f"{name}={addr:#x} has bits 2:11 set: a 52-bit tree cannot map it")
        return addr & ((1 << C.RADIX_TREE_BITS) - 1)

    # ------------------------------------------------------------------ map / unmap
    def map(
        self,
        addr: int,
        ra: int,
        size: int = C.PAGE_4K,
        perms: str = "rw",
        *,
        r: bool = False,
        c: bool = False,
        att: int = 0,
        replace: bool = False,
    ) -> int:
        """Map ``[addr, addr+size)`` to ``ra``; returns the address of the new PTE.

        ``addr`` is an EA (quadrant bits ignored) or, for a partition tree, a guest real
        address. ``perms`` letters: p privileged, r read, w read/write, x execute.

        Without ``replace`` a larger page around ``addr``, a directory of smaller pages
        where the leaf goes, or a 2M region holding the other small page size is an
        error. With ``replace`` the new leaf takes their place, as a hypervisor's
        ``kvmppc_create_pte`` does in its own tree (a THP collapse maps one 2M leaf over
        a table of 4K pages; a split maps a 4K page inside a 2M leaf): what is in the
        way is dropped, with its tables (given back when the allocator can ``free``),
        and the rest of a dropped larger page is left unmapped. Invalidating what was
        dropped is the caller's business, as in the kernel.
        """
        a = self._check_addr("addr", addr)
        check_int("ra", ra, bits=64)
        if check_int("size", size) not in _LEVEL_OF_SIZE:
            raise FieldError(f"size must be one of 4K, 64K, 2M or 1G (a page size), got {size:#x}")
        if a & (size - 1) or ra & (size - 1):
            raise AlignmentError(
                f"addr {addr:#x} and ra {ra:#x} must both be aligned to the "
                f"{page_size_text(size)} page"
            )
        pte = make_pte(ra, perms, r=r, c=c, att=att)
        leaf_level = _LEVEL_OF_SIZE[size]
        table, nls = self.root, C.ROOT_NLS
        for level in range(leaf_level):
            slot = self._entry_addr(table, nls, a, _SHIFTS[level])
            entry = self.space.read_u64(slot)
            want_nls = 5 if (level == 2 and size == C.PAGE_64K) else 9
            if entry & C.PTE_V and entry & C.PTE_L:
                if not replace:
                    raise ConfigError(
                        f"{addr:#x} lies inside an existing "
                        f"{page_size_text(1 << _SHIFTS[level])} page; unmap it first"
                    )
                entry = 0  # the larger page goes; a new table takes its slot
            elif entry & C.PTE_V and replace and (entry & C.PDE_NLS) != want_nls:
                self._drop_subtree(entry, a, 1 << _SHIFTS[level], level + 1)
                entry = 0
            if entry & C.PTE_V:
                if (entry & C.PDE_NLS) != want_nls:
                    raise ConfigError(
                        f"cannot map a {page_size_text(size)} page at {addr:#x}: its 2M region "
                        "already holds pages of the other small size (4K and 64K pages need "
                        "level-3 tables of 2^9 and 2^5 entries)"
                    )
                table, nls = entry & C.PDE_NLB, want_nls
            else:
                new = self._new_table(want_nls)
                self.space.write_u64(slot, make_pde(new, want_nls))
                table, nls = new, want_nls
        shift = 16 if size == C.PAGE_64K else (_SHIFTS[leaf_level] if leaf_level < 3 else 12)
        slot = self._entry_addr(table, nls, a, shift)
        old = self.space.read_u64(slot)
        if old & C.PTE_V and not old & C.PTE_L:
            if not replace:
                raise ConfigError(
                    f"{addr:#x}: a directory of smaller pages is already there; unmap those first"
                )
            self._drop_subtree(old, a, 1 << shift, leaf_level + 1)
        self.space.write_u64(slot, pte)
        return slot

    def _drop_subtree(self, pde: int, addr: int, span: int, level: int) -> None:
        """Forget the table that directory entry ``pde`` names (the level-``level`` table
        for the ``span`` bytes around ``addr``) and every table below it that
        :func:`pynest.mmu.walk.leaves` follows; give each back to the allocator if it can
        take them (``free``). Only the tree's own tables are touched."""
        nls = pde & C.PDE_NLS
        base = pde & C.PDE_NLB & ~((8 << nls) - 1)
        if base not in self.tables or base == self.root:
            return
        lo = addr & -span
        doomed = [base]

        def below(_addr: int, table: int, _nls: int, at: int) -> bool:
            if at <= level:
                return at < level or table == base  # the path down to ``base``
            if table in self.tables and table != self.root:
                doomed.append(table)
            return True

        leaves(self._entries, self.walk_root, lo, lo + span, descend=below)
        free = getattr(self.alloc, "free", None)
        for table in doomed:
            if table in self.tables:
                self.tables.remove(table)
                if free is not None:
                    free(table)

    def find_leaf(self, addr: int) -> tuple[int, int, int] | None:
        """(pte address, raw pte, page shift) of the valid leaf the hardware walk reaches
        for ``addr`` (:func:`pynest.mmu.walk.find_leaf`: POWER9 shapes only), or None."""
        found = find_leaf(self.space.read_u64, self.walk_root, self._check_addr("addr", addr))
        return None if found is None else (found.slot, found.pte, found.shift)

    def lookup(self, addr: int) -> Mapping | None:
        """The mapping covering ``addr`` with the exact real address, or None."""
        a = self._check_addr("addr", addr)
        found = find_leaf(self.space.read_u64, self.walk_root, a)
        if found is None:
            return None
        mask = (1 << found.shift) - 1
        ra = (found.pte & C.PTE_RPN & ~mask) | (a & mask)
        return Mapping(found.addr, ra, 1 << found.shift, found.pte, found.slot)

    def unmap(self, addr: int) -> int | None:
        """Invalidate the leaf covering ``addr``; returns the old PTE, or None if unmapped."""
        found = self.find_leaf(addr)
        if found is None:
            return None
        slot, pte, _ = found
        self.space.write_u64(slot, 0)
        return pte

    def set_pte_bits(self, addr: int, set_bits: int = 0, clear_bits: int = 0) -> int:
        """Change bits of the leaf covering ``addr`` (e.g. clear R/C); returns the new PTE."""
        found = self.find_leaf(addr)
        if found is None:
            raise ConfigError(f"{addr:#x} is not mapped")
        slot, pte, _ = found
        new = (pte | set_bits) & ~clear_bits
        self.space.write_u64(slot, new)
        return new

    def mappings(self) -> list[Mapping]:
        """Every valid leaf, in address order, as the hardware walk reaches them
        (:func:`pynest.mmu.walk.leaves`: POWER9 shapes only, NLB masked to its table)."""
        return [
            Mapping(leaf.addr, leaf.pte & C.PTE_RPN & -(1 << leaf.shift), 1 << leaf.shift,
                    leaf.pte, leaf.slot)
            for leaf in leaves(self._entries, self.walk_root)
        ]  # fmt: skip

    def _entries(self, table: int, size: int) -> list[tuple[int, int]]:
        """(slot, entry) of the non-zero entries of ``size`` bytes of one table, in
        order. In host memory they come from one bulk read; other spaces are read entry
        by entry."""
        if isinstance(self.space, HostSpace):
            return self.space.mem.nonzero_u64(table, size)
        read = self.space.read_u64
        return [(slot, v) for slot in range(table, table + size, 8) if (v := read(slot))]


class PartitionTable:
    """A partition table in host real memory; ``ptcr`` is the PTCR value naming it."""

    def __init__(self, mem: PhysicalMemory, base: int, pats: int = 0) -> None:
        check_int("pats", pats, bits=5)
        size = 1 << (pats + 12)
        check_int("base", base)
        if base & (size - 1):
            raise AlignmentError(
                f"partition table base {base:#x} must be aligned to its size {size:#x} "
                f"(PATS={pats})"
            )
        if base & ~C.PTCR_PATB:
            raise AddressError(f"partition table base {base:#x} does not fit PTCR[PATB]")
        self.mem = mem
        self.space = HostSpace(mem)
        self.base = base
        self.pats = pats
        self.space.zero(base, size)

    @classmethod
    def create(cls, mem: PhysicalMemory, alloc: TableSource, pats: int = 0) -> PartitionTable:
        return cls(mem, alloc.alloc(1 << (pats + 12)), pats)

    @property
    def ptcr(self) -> int:
        return self.base | self.pats

    @property
    def num_lpids(self) -> int:
        return 1 << (self.pats + 8)

    def _check_lpid(self, lpid: int) -> None:
        check_int("lpid", lpid)
        if lpid >= self.num_lpids:
            raise ConfigError(
                f"LPID {lpid} is beyond this partition table ({self.num_lpids} entries, "
                f"PATS={self.pats})"
            )

    def set_entry(
        self,
        lpid: int,
        tree: RadixTree | None,
        process_table: ProcessTable | None,
        *,
        hr: bool = True,
    ) -> tuple[int, int]:
        """Write PATE[lpid] (dw0 = HR | partition tree, dw1 = process table); returns it."""
        self._check_lpid(lpid)
        dw0 = (C.PATE0_HR if hr else 0) | (tree.dw0 if tree is not None else 0)
        dw1 = process_table.dw1 if process_table is not None else 0
        self.write_raw(lpid, dw0, dw1)
        return dw0, dw1

    def write_raw(self, lpid: int, dw0: int, dw1: int) -> None:
        """Store arbitrary doublewords in PATE[lpid] (for experiments with bad entries)."""
        self._check_lpid(lpid)
        self.mem.write_u64(self.base + 16 * lpid, dw0)
        self.mem.write_u64(self.base + 16 * lpid + 8, dw1)

    def clear(self, lpid: int) -> None:
        self.write_raw(lpid, 0, 0)

    def raw(self, lpid: int) -> tuple[int, int]:
        self._check_lpid(lpid)
        addr = self.base + 16 * lpid
        return self.mem.read_u64(addr), self.mem.read_u64(addr + 8)

    def entry(self, lpid: int) -> PartitionTableEntry:
        return PartitionTableEntry.decode(*self.raw(lpid))

    def __str__(self) -> str:
        return str(Ptcr.decode(self.ptcr))


class ProcessTable:
    """A process table in some address space (guest real for a guest's table)."""

    def __init__(self, where: PhysicalMemory | Space, base: int, prts: int = 0) -> None:
        check_int("prts", prts, bits=5)
        size = 1 << (prts + 12)
        check_int("base", base)
        if base & (size - 1):
            raise AlignmentError(
                f"process table base {base:#x} must be aligned to its size {size:#x} (PRTS={prts})"
            )
        if base & ~C.PRTB_MASK:
            raise AddressError(f"process table base {base:#x} does not fit PATE[PRTB]")
        self.space = _space(where)
        self.base = base
        self.prts = prts
        self.space.zero(base, size)

    @classmethod
    def create(
        cls, where: PhysicalMemory | Space, alloc: TableSource, prts: int = 0
    ) -> ProcessTable:
        return cls(where, alloc.alloc(1 << (prts + 12)), prts)

    @property
    def dw1(self) -> int:
        """The PATE dw1 naming this table."""
        return self.base | self.prts

    @property
    def num_pids(self) -> int:
        return 1 << (self.prts + 8)

    def _check_pid(self, pid: int) -> None:
        check_int("pid", pid)
        if pid >= self.num_pids:
            raise ConfigError(
                f"PID {pid} is beyond this process table ({self.num_pids} entries, "
                f"PRTS={self.prts})"
            )

    def set_entry(self, pid: int, tree: RadixTree) -> int:
        """Write PRTE[pid].dw0 for ``tree``; returns it."""
        self._check_pid(pid)
        self.space.write_u64(self.base + 16 * pid, tree.dw0)
        return tree.dw0

    def write_raw(self, pid: int, dw0: int) -> None:
        self._check_pid(pid)
        self.space.write_u64(self.base + 16 * pid, dw0)

    def entry(self, pid: int) -> ProcessTableEntry:
        self._check_pid(pid)
        return ProcessTableEntry.decode(self.space.read_u64(self.base + 16 * pid))
