"""RadixTree.map(replace=True) drops what is in the way with exactly its tables.

The tables under a dropped directory are found by the one enumerator
(:func:`pynest.mmu.walk.leaves`), and each goes back to an allocator that can ``free``.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pynest.memory import PhysicalMemory
from pynest.mmu import constants as C
from pynest.mmu.builder import Allocator, RadixTree
from pynest.mmu.walk import leaves

GB, MB = 1 << 30, 1 << 20


class FreeingAllocator(Allocator):
    """An allocator that records what it is given back."""

    def __init__(self) -> None:
        super().__init__(0x100000, 0x1000000)
        self.freed: list[int] = []

    def free(self, addr: int) -> None:
        self.freed.append(addr)


def _tree() -> tuple[RadixTree, FreeingAllocator]:
    alloc = FreeingAllocator()
    return RadixTree(PhysicalMemory(64 * MB), alloc), alloc


def _reached(tree: RadixTree, lo: int = 0, hi: int | None = None, from_level: int = 0) -> set[int]:
    """The tables the architected walk enters at ``from_level`` or deeper over [lo, hi)."""
    found: set[int] = set()

    def note(_addr: int, base: int, _nls: int, level: int) -> bool:
        if level >= from_level:
            found.add(base)
        return True

    leaves(tree.space.mem.nonzero_u64, tree.walk_root, lo, hi, descend=note)
    return found


def test_a_2m_leaf_over_4k_pages_frees_their_level_3_table():
    tree, alloc = _tree()
    tree.map(GB + 2 * MB, 0x2000000, C.PAGE_4K)
    tree.map(GB + 2 * MB + 0x1000, 0x2001000, C.PAGE_4K)
    tree.map(GB + 8 * MB, 0x3000000, C.PAGE_4K)  # another 2M region: stays
    before = list(tree.tables)
    assert len(before) == 5  # root, level 1, level 2, two level-3 tables
    level3 = tree.find_leaf(GB + 2 * MB)[0] & ~0xFFF  # the 4K table of the region
    tree.map(GB + 2 * MB, 0x4000000, C.PAGE_2M, replace=True)
    assert alloc.freed == [level3]
    assert tree.tables == [t for t in before if t != level3]
    assert [(m.addr, m.size) for m in tree.mappings()] == [
        (GB + 2 * MB, C.PAGE_2M),
        (GB + 8 * MB, C.PAGE_4K),
    ]


def test_a_1g_leaf_over_a_directory_frees_every_table_below_it():
    tree, alloc = _tree()
    tree.map(GB, 0x2000000, C.PAGE_4K)
    tree.map(GB + 2 * MB, 0x2200000, C.PAGE_4K)
    tree.map(GB + 4 * MB, 0x2400000, C.PAGE_64K)  # a level-3 table of 2^5 entries
    tree.map(3 * GB, 0x3000000, C.PAGE_4K)  # another 1G region: stays
    before = set(tree.tables)
    dropped = _reached(tree, GB, 2 * GB, from_level=2)
    assert len(dropped) == 4  # the level-2 table and three level-3 tables
    tree.map(GB, 0x40000000, C.PAGE_1G, replace=True)
    assert sorted(alloc.freed) == sorted(dropped)
    assert set(tree.tables) == before - dropped
    assert [(m.addr, m.size) for m in tree.mappings()] == [(GB, C.PAGE_1G), (3 * GB, C.PAGE_4K)]


@settings(max_examples=60, deadline=None)
@given(
    pages=st.lists(
        st.tuples(st.integers(0, 7), st.integers(0, 31), st.sampled_from([C.PAGE_4K, C.PAGE_2M])),
        min_size=1,
        max_size=12,
    ),
    big=st.integers(0, 7),
)
def test_replacing_then_unmapping_leaves_only_the_tables_the_walk_reaches(pages, big):
    """After any replace, the tree's table list is exactly the root plus the tables the
    architected walk reaches, and every table dropped went back to the allocator."""
    tree, alloc = _tree()
    for region, slot, size in pages:
        addr = region * 2 * MB + (slot * C.PAGE_4K if size == C.PAGE_4K else 0)
        tree.map(addr, 0x2000000 + (addr & (32 * MB - 1)) & -size, size, replace=True)
    allocated = set(tree.tables) | set(alloc.freed)
    tree.map(big * 2 * MB, 0x3000000, C.PAGE_2M, replace=True)
    assert set(tree.tables) == {tree.root} | _reached(tree)
    assert set(tree.tables) | set(alloc.freed) == allocated
    assert len(alloc.freed) == len(set(alloc.freed))  # nothing freed twice
