"""One radix tree walk, every step recorded.

Models ``ppc_radix64_walk_tree()`` / ``ppc_radix64_next_level()`` /
``ppc_radix64_is_valid_level()`` in QEMU 7.2 ``target/ppc/mmu-radix64.c`` and ISA v3.0B
Book III "Radix Tree Translation". The same loop serves every tree:

* a partition-scoped tree (table addresses are host real);
* a process-scoped tree of the hypervisor (LPID 0: table addresses are host real);
* a process-scoped tree of a guest, where each entry address is a guest real address
  that first goes through the partition-scoped tree (the 2-D walk). The caller passes
  that translation as ``xlate_entry``.

Layout of the address a POWER9 tree translates (52 bits, EA 12:63)::

     0 1 2      11 12        24 25     33 34     42 43     51 52        63
    +---+---------+------------+---------+---------+---------+------------+
    | Q | 0 ... 0 |  L0 index  | L1 idx  | L2 idx  | L3 idx  |   offset   |
    +---+---------+------------+---------+---------+---------+------------+
     quadrant      13 bits: PGD  9: PUD   9: PMD    9 (or 5): PTE   4K page

Leaves at level 1 map 1 GiB, at level 2 2 MiB, at level 3 4 KiB (NLS 9) or 64 KiB (NLS 5).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

from . import constants as C
from .formats import RadixRoot, decode_entry

if TYPE_CHECKING:
    from ..memory import PhysicalMemory

_V = C.PTE_V
_L = C.PTE_L
_NLB = C.PDE_NLB
_NLS = C.PDE_NLS
_RPN = C.PTE_RPN


class TextEnum(str, Enum):
    """An enum whose members are their text: ``str()``, ``format()`` and ``==`` behave as
    the plain string (``enum.StrEnum`` of Python 3.11, written out for 3.10)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class Tree(TextEnum):
    """What a walk step read (:attr:`WalkStep.tree`); also the stage a fault stopped in
    (:class:`Stage`). Members equal their text, so records print as before."""

    PARTITION_TABLE = "partition-table"  # a PATE doubleword
    PROCESS_TABLE = "process-table"  # a PRTE
    PROCESS = "process"  # an entry of a process-scoped tree
    PARTITION = "partition"  # an entry of a partition-scoped tree


class Stage(TextEnum):
    """Where a translation stopped (:attr:`pynest.mmu.Fault.stage`)."""

    SEGMENT = "segment"
    PARTITION_TABLE = "partition-table"
    PROCESS_TABLE = "process-table"
    PROCESS = "process"
    PARTITION = "partition"


class PurposeKind(TextEnum):
    """What a partition-scoped walk serves: the data access, a PRTE, or a guest
    process-tree entry (the 2-D walk)."""

    NONE = ""
    DATA = "data"
    PRTE = "PRTE"
    TABLE = "table"


class Purpose(str):
    """The purpose of a walk step or a partition-scoped fault: the text views print
    ("data", "PRTE[3]", "process L2 entry", or "" for none), with its ``kind`` and
    ``number`` (the PID of a PRTE, the level of a table entry) as fields, so no view
    has to read the text."""

    kind: PurposeKind
    number: int | None

    def __new__(cls, kind: PurposeKind, number: int | None = None) -> Purpose:
        if kind is PurposeKind.PRTE:
            text = f"PRTE[{number}]"
        elif kind is PurposeKind.TABLE:
            text = f"process L{number} entry"
        else:
            text = kind.value
        self = super().__new__(cls, text)
        self.kind = kind
        self.number = number
        return self

    def matches(self, kind: PurposeKind, number: int | None = None) -> bool:
        """Whether this is of ``kind`` (and ``number``, when given)."""
        return self.kind is kind and (number is None or self.number == number)


NO_PURPOSE = Purpose(PurposeKind.NONE)
DATA = Purpose(PurposeKind.DATA)
TABLE_PURPOSE = tuple(Purpose(PurposeKind.TABLE, level) for level in range(5))
"""``TABLE_PURPOSE[level]``: a partition walk for a guest process-tree entry."""


@lru_cache(maxsize=256)
def prte_purpose(pid: int) -> Purpose:
    """A partition walk for the PRTE of ``pid``."""
    return Purpose(PurposeKind.PRTE, pid)


@dataclass(slots=True)
class WalkStep:
    """One memory read made by a translation.

    ``tree`` is a :class:`Tree`: a PATE doubleword, a PRTE, or an entry of a process-
    or partition-scoped tree. ``entry_addr`` is the entry's address in its tree's own
    address space (guest real for a guest's process tree); ``hra`` is the host real
    address actually read. ``purpose`` (a :class:`Purpose`) says what a partition-scoped
    read serves: the data, a PRTE, or a process-tree entry of a 2-D walk.

    The walk records steps as plain tuples in this field order (the hot loop);
    everything else reads them through this record (``Translation.steps``).
    """

    tree: Tree
    level: int
    index: int
    entry_addr: int
    hra: int
    raw: int
    purpose: Purpose = NO_PURPOSE

    @property
    def decoded(self) -> object:
        """The entry as a record (PDE/PTE, or the PATE/PRTE doubleword's fields)."""
        from .formats import PateDw0, PateDw1, ProcessTableEntry

        if self.tree == Tree.PROCESS_TABLE:
            return ProcessTableEntry.decode(self.raw)
        if self.tree == Tree.PARTITION_TABLE:  # level 0 is dw0 (the tree), level 1 dw1
            return PateDw0.decode(self.raw) if self.level == 0 else PateDw1.decode(self.raw)
        return decode_entry(self.raw)

    def __str__(self) -> str:
        where = f"{self.hra:#x}"
        if self.entry_addr != self.hra:
            where = f"{self.entry_addr:#x} -> {self.hra:#x}"
        if self.tree == Tree.PARTITION_TABLE:
            what = f"PATE[{self.index}].dw{self.level}"
            text = f"{self.raw:#018x}"
        elif self.tree == Tree.PROCESS_TABLE:
            what = f"PRTE[{self.index}]"
            text = str(self.decoded)
        else:
            what = f"{self.tree} L{self.level}[{self.index:#x}]"
            text = str(self.decoded)
        why = f" ({self.purpose})" if self.purpose else ""
        return f"{what:<24} @ {where}: {text}{why}"


class WalkFault(Exception):
    """Raised inside a walk; the translator turns it into an architected fault."""

    def __init__(self, cause: int, level: int, reason: str) -> None:
        super().__init__(reason)
        self.cause = cause
        self.level = level
        self.reason = reason


def valid_level(level: int, remaining: int, nls: int) -> bool:
    """POWER9 tree-shape rule checked before each level (QEMU ppc_radix64_is_valid_level):
    root 52 bits with 2^13 entries, levels 1-2 with 2^9, level 3 with 2^9 or 2^5."""
    if level == 0:
        return remaining == 52 and nls == 13
    if level in (1, 2):
        return nls == 9
    if level == 3:
        return nls in (9, 5)
    return False


_ROOT = {
    Tree.PROCESS: ("PRTE", "process", "PID", "a"),
    Tree.PARTITION: ("PATE", "partition", "LPID", "an"),
}


def shape_reason(tree: Tree, level: int, remaining: int, nls: int, base: int = 0) -> str:
    """Why :func:`valid_level` refused a table, in words a learner can act on: what the
    MMU found, why it stops, what to change (short: figures show it on one line).
    ``base`` is the root table's address (level 0: an all-zero root is an empty entry)."""
    if level == 0:
        entry, table, ident, an = _ROOT.get(tree, ("root entry", str(tree), "ID", "an"))
        if remaining == 31 and nls == 0 and base == 0:
            return (
                f"empty {entry}: this {ident} has no {table} tree (its entry is all zero); "
                f"try {an} {ident} that has one"
            )
        return (
            f"bad {entry} root: a {remaining}-bit tree with 2^{nls} root entries, but POWER9 "
            "needs 52 bits and 2^13 (RTS 21, RPDS 13)"
        )
    where = f"{tree} tree level {level}"
    if level > 3:
        return f"{where}: POWER9 trees have 4 levels, so the level-3 entry must be a leaf (L=1)"
    allowed = "2^9" if level < 3 else "2^9 or 2^5"
    return (
        f"{where}: this table has 2^{nls} entries, but POWER9 needs {allowed} here: fix NLS "
        f"in the level-{level - 1} entry"
    )


def table_index(addr: int, remaining: int, nls: int) -> int:
    """Index into a table of 2**nls entries when ``remaining`` address bits are left.

    A bad NLS can make the shift negative; QEMU computes it in C where x86 hosts use
    the count modulo 64, which ``& 63`` reproduces.
    """
    return (addr >> ((remaining - nls) & 63)) & ((1 << nls) - 1)


Leaf = tuple[int, int, int, int, int]
"""The end of a successful walk: (leaf PTE, its host real address, the real address it
gives, the page shift, the level of the leaf)."""


class TreeLeaf(NamedTuple):
    """A valid leaf a software walk reached: the page's first address in the tree's
    input space (``addr``), the entry's address in the tree's own space (``slot``), the
    raw ``pte``, the page ``shift`` and the tree ``level`` of the leaf."""

    addr: int
    slot: int
    pte: int
    shift: int
    level: int


#: one read of a walk as the hot loop keeps it, in :class:`WalkStep` field order:
#: (tree, level, index, entry address, host real address read, entry, purpose)
RawStep = tuple[Tree, int, int, int, int, int, Purpose]


def walk(
    mem: PhysicalMemory,
    steps: list[RawStep],
    addr: int,
    root: RadixRoot,
    tree: Tree,
    purpose: Purpose = NO_PURPOSE,
    xlate_entry: Callable[[int, int], int] | None = None,
) -> Leaf:
    """The architected walk of one radix tree for ``addr`` from ``root``.

    Models QEMU 7.2 ``ppc_radix64_walk_tree()`` / ``ppc_radix64_next_level()``. Per
    level: translate the entry's address (only when ``xlate_entry`` is given, the 2-D
    case), check the POWER9 shape rule :func:`valid_level` (fault R_BADCONFIG), read the
    entry (V=0: fault NOPTE), stop at a leaf. A misaligned NLB has its low bits masked as
    QEMU does; the root base is masked only in the host-real walk (QEMU's 2-D loop adds
    the index to the raw RPDB). Each read is appended to ``steps`` as a raw tuple in
    :class:`WalkStep` field order (records are built only when someone looks).
    Raises :class:`WalkFault`.

    Table addresses here are always 8-byte aligned (every base is masked to at least
    256 bytes), so the bus read is a look-up in ``mem.bus_words()``, inlined for speed; with
    an access log open the logged ``load64`` is used instead.
    """
    words = mem.bus_words()
    base, nls, remaining = root
    index = (addr >> ((remaining - nls) & 63)) & ((1 << nls) - 1)
    if xlate_entry is None:
        base &= ~((8 << nls) - 1)
    pa = base + 8 * index
    level = 0
    while True:
        hra = pa if xlate_entry is None else xlate_entry(pa, level)
        # valid_level(level, remaining, nls), inlined: the scalar walk's hottest test
        if level == 0:
            ok = remaining == 52 and nls == 13
        elif level < 3:
            ok = nls == 9
        else:
            ok = level == 3 and (nls == 9 or nls == 5)
        if not ok:
            raise WalkFault(
                C.DSISR_R_BADCONFIG, level, shape_reason(tree, level, remaining, nls, base)
            )
        entry = mem.load64(hra) if words is None else words.get(hra, 0)
        steps.append((tree, level, index, pa, hra, entry, purpose))
        if not entry & _V:
            raise WalkFault(C.DSISR_NOPTE, level, f"{tree} tree level {level}: entry invalid")
        remaining -= nls
        if entry & _L:
            mask = (1 << remaining) - 1
            return entry, hra, (entry & _RPN & ~mask) | (addr & mask), remaining, level
        nls = entry & _NLS
        index = (addr >> ((remaining - nls) & 63)) & ((1 << nls) - 1)
        pa = (entry & _NLB & ~((8 << nls) - 1)) + 8 * index
        level += 1


def find_leaf(read_u64: Callable[[int], int], root: RadixRoot, addr: int) -> TreeLeaf | None:
    """The leaf :func:`walk` would reach for ``addr``, or None where it would fault.

    The software walk (a debugger's, a hypervisor's look-up in its own tree): the same
    POWER9 shape rule (:func:`valid_level`), NLB masking and root masking as the
    host-real :func:`walk`, entries read with ``read_u64`` (addresses in the tree's own
    space), nothing recorded, no R/C, no fault built.
    """
    base, nls, remaining = root
    base &= ~((8 << nls) - 1)
    for level in range(4):
        if not valid_level(level, remaining, nls):
            return None
        slot = base + 8 * ((addr >> ((remaining - nls) & 63)) & ((1 << nls) - 1))
        entry = read_u64(slot)
        if not entry & _V:
            return None
        remaining -= nls
        if entry & _L:
            return TreeLeaf(
                addr=addr & -(1 << remaining), slot=slot, pte=entry, shift=remaining, level=level
            )
        nls = entry & _NLS
        base = entry & _NLB & ~((8 << nls) - 1)
    return None  # a directory at level 3: the walk faults at level 4


TableReader = Callable[[int, int], list[tuple[int, int]]]
"""``read_table(addr, nbytes)``: (slot, entry) of the non-zero doublewords of a table
range, in address order (``PhysicalMemory.nonzero_u64`` is one)."""


def leaves(
    read_table: TableReader,
    root: RadixRoot,
    lo: int = 0,
    hi: int | None = None,
    descend: Callable[[int, int, int, int], bool] | None = None,
) -> list[TreeLeaf]:
    """Every valid leaf :func:`walk` can reach whose page overlaps ``[lo, hi)``, in
    address order.

    The enumerator twin of :func:`find_leaf` (the same shape rule and NLB masking): a
    directory is followed only where the next level is a POWER9 shape (elsewhere the
    walk faults: nothing is mapped below it). ``descend(addr, base, nls, level)``, when
    given, is asked before following a directory to the table at ``base`` (at tree level
    ``level``, mapping from ``addr``); False skips that subtree (a caller checking the
    tree's own tables, or reading each table once).
    """
    base, nls, bits = root
    out: list[TreeLeaf] = []
    if not valid_level(0, bits, nls):
        return out
    if hi is None:
        hi = 1 << bits
    _leaves_below(read_table, base & ~((8 << nls) - 1), nls, bits, 0, 0, lo, hi, descend, out)
    return out


def _leaves_below(
    read_table: TableReader,
    table: int,
    nls: int,
    remaining: int,
    prefix: int,
    level: int,
    lo: int,
    hi: int,
    descend: Callable[[int, int, int, int], bool] | None,
    out: list[TreeLeaf],
) -> None:
    shift = remaining - nls
    first = (lo - prefix) >> shift if lo > prefix else 0
    last = min((1 << nls) - 1, (hi - 1 - prefix) >> shift)
    if last < first:
        return
    for slot, entry in read_table(table + 8 * first, 8 * (last + 1 - first)):
        if not entry & _V:
            continue
        addr = prefix | (((slot - table) >> 3) << shift)
        if entry & _L:
            out.append(TreeLeaf(addr=addr, slot=slot, pte=entry, shift=shift, level=level))
            continue
        sub = entry & _NLS
        if not valid_level(level + 1, shift, sub):
            continue  # the walk faults here: nothing is mapped below
        base = entry & _NLB & ~((8 << sub) - 1)
        if descend is None or descend(addr, base, sub, level + 1):
            _leaves_below(read_table, base, sub, shift, addr, level + 1, lo, hi, descend, out)
