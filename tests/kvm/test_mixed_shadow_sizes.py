"""Issue 13 A: shadow PTEs of every size an L1 can produce on a legal L0, as 4.20.1
``kvmppc_create_pte`` places them (a larger leaf replaces a lower-level table, a smaller
leaf replaces a larger one), driven by an L1 that collapses and splits its L2's pages.
"""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pynest.errors import ConfigError
from pynest.kvm.constants import PTE_RPN_MASK
from pynest.kvm.hcalls import H_CEDE
from pynest.kvm.host import L0
from pynest.kvm.l1 import L1
from pynest.kvm.program import Hcall, Load, Program, Store
from pynest.kvm.radix import create_shadow_pte, shadow_leaves
from pynest.mmu import constants as C

EA = 0x4000_0000  # L2 EA = EA + L2 real, mapped with 2M process pages
L2_MEM = 16 << 20
REGIONS = (0x80_0000, 0xA0_0000, 0xC0_0000)  # 2M regions of L2 real memory

# (L0 PAGE_SHIFT, backing): every legal pair. With 1G backing an L1 2M leaf still gets
# PAGE_SIZE shadow PTEs: 4.20 takes PMD_SHIFT only when PMD_SHIFT < the L1's shift.
LEGAL = [
    (12, C.PAGE_4K),
    (12, C.PAGE_2M),
    (12, C.PAGE_1G),
    (16, C.PAGE_64K),
    (16, C.PAGE_2M),
    (16, C.PAGE_1G),
]


def test_64k_backing_on_a_4k_l0_is_refused():
    with pytest.raises(ConfigError, match="add_huge_page_size"):
        L0(page_shift=12).create_l1(256 << 20, backing=C.PAGE_64K)


def _world(page_shift, backing):
    l0 = L0(page_shift=page_shift, kernel="4.20")
    baseline = l0.table_alloc.in_use
    vm = l0.create_l1(max(256 << 20, backing), backing=backing)
    l1 = L1(vm)
    assert l1.nested_init() == 0
    l2 = l1.create_l2(L2_MEM, page_size=1 << page_shift)
    for gpa in range(0, L2_MEM, C.PAGE_2M):
        l1.l2_map(l2, EA + gpa, gpa, C.PAGE_2M, "rw")
    return l0, vm, l1, l2, baseline


def _touch(l1, l2, *ops):
    l1.load_program(l2, Program((*ops, Hcall(H_CEDE)), fetch=False))
    res = l1.run_l2(l2)
    assert res.stopped == "ceded", res
    return res


def _gp(vm, l2):
    return vm.nested.find(l2.l1_lpid)


def _leaves(gp, lo, hi):
    return sorted((a, 1 << sh) for a, _slot, _pte, sh in shadow_leaves(gp, lo, hi))


def _map_small(l1, l2, region, perms="rwx"):
    """The L1 maps ``region`` with its small pages (after a split: replacing the 2M leaf)."""
    small = l2.page_size
    for off in range(0, C.PAGE_2M, small):
        l2.tree.map(
            region + off, l2.l1_gpa_base + region + off, small, perms, r=True, c=True, replace=True
        )


def _map_huge(l1, l2, region, perms="rwx"):
    """The L1 collapses ``region`` into one 2M leaf (THP), in place in its memory."""
    l2.tree.map(region, l2.l1_gpa_base + region, C.PAGE_2M, perms, r=True, c=True, replace=True)


def _check_tree(l0, vm, gp):
    """The shadow tree's own bookkeeping: its table list is exactly what its root
    reaches, and the L1's budget use is the sum of the tables charged to it."""
    tree = gp.shadow_pgtable
    reached = {tree.root}
    todo = [(tree.root, C.ROOT_NLS, 52)]
    while todo:
        base, nls, remaining = todo.pop()
        shift = remaining - nls
        for _slot, e in l0.mem.nonzero_u64(base, 8 << nls):
            if e & C.PTE_V and not e & C.PTE_L:
                sub = e & C.PDE_NLS
                child = e & C.PDE_NLB & ~((8 << sub) - 1)
                reached.add(child)
                todo.append((child, sub, shift))
    assert reached == set(tree.tables)
    charged = sum(l0.table_alloc.sizes[a] for a, o in l0.table_alloc.owners.items() if o is vm)
    assert charged == vm.table_bytes <= vm.table_limit


def _check_leaves(vm, gp):
    """Shadow leaves never overlap and all map the L1's own memory."""
    leaves = sorted(
        (a, 1 << sh, pte & PTE_RPN_MASK & -(1 << sh)) for a, _s, pte, sh in shadow_leaves(gp)
    )
    for (a, size, _h), (b, _s2, _h2) in zip(leaves, leaves[1:], strict=False):
        assert a + size <= b, f"shadow leaves {a:#x}+{size:#x} and {b:#x} overlap"
    lo, hi = vm.allotment
    for a, size, hpa in leaves:
        assert lo <= hpa and hpa + size <= hi, f"shadow leaf {a:#x} -> {hpa:#x} outside the L1"


@pytest.mark.parametrize(("page_shift", "backing"), LEGAL)
def test_thp_collapse_then_touch(page_shift, backing):
    """The L1 maps an L2 2M region with small pages, the L2 touches it (small shadow
    PTEs), the L1 collapses it into one 2M leaf and invalidates the range with
    H_TLB_INVALIDATE (AP 2M), the L2 touches it again."""
    l0, vm, l1, l2, baseline = _world(page_shift, backing)
    small = 1 << page_shift
    region = REGIONS[0]
    _map_small(l1, l2, region)
    _touch(l1, l2, Store(EA + region + 8, 0x1111), Load(EA + region + 3 * small))
    gp = _gp(vm, l2)
    assert _leaves(gp, region, region + C.PAGE_2M) == [(region, small), (region + 3 * small, small)]
    tables = len(gp.shadow_pgtable.tables)
    _map_huge(l1, l2, region)
    assert l1.tlbie_page(l2, region, C.PAGE_2M) == 0  # H_SUCCESS
    assert _leaves(gp, region, region + C.PAGE_2M) == []
    _touch(l1, l2, Load(EA + region + 8, rt=5), Store(EA + region + C.PAGE_2M - 8, 0x2222))
    assert l2.regs.gpr[5] == 0x1111  # the collapse kept the data in place
    got = _leaves(gp, region, region + C.PAGE_2M)
    if backing == C.PAGE_2M:  # L0's page and the L1's are 2M: one 2M shadow leaf
        assert got == [(region, C.PAGE_2M)]
        assert len(gp.shadow_pgtable.tables) == tables - 1  # the PTE table went
    else:  # L0's page is small: the shadow stays at L0's PAGE_SIZE
        assert got == [(region, small), (region + C.PAGE_2M - small, small)]
    _check_leaves(vm, gp)
    _check_tree(l0, vm, gp)
    l0.destroy_l1(vm)
    assert l0.table_alloc.in_use == baseline


@pytest.mark.parametrize(("page_shift", "backing"), LEGAL)
def test_thp_split_then_touch(page_shift, backing):
    """The L1 maps a 2M region with one 2M leaf, the L2 touches it, the L1 splits it
    into small pages and invalidates the 2M page, the L2 touches it again."""
    l0, vm, l1, l2, baseline = _world(page_shift, backing)
    small = 1 << page_shift
    region = REGIONS[1]
    _map_huge(l1, l2, region)
    _touch(l1, l2, Store(EA + region + 5 * small, 0x3333))
    gp = _gp(vm, l2)
    first = _leaves(gp, region, region + C.PAGE_2M)
    assert first == (
        [(region, C.PAGE_2M)] if backing == C.PAGE_2M else [(region + 5 * small, small)]
    )
    _map_small(l1, l2, region)
    assert l1.tlbie_page(l2, region, C.PAGE_2M) == 0
    _touch(l1, l2, Load(EA + region + 5 * small, rt=6), Load(EA + region + 7 * small))
    assert l2.regs.gpr[6] == 0x3333
    assert _leaves(gp, region, region + C.PAGE_2M) == [
        (region + 5 * small, small),
        (region + 7 * small, small),
    ]
    _check_leaves(vm, gp)
    _check_tree(l0, vm, gp)
    l0.destroy_l1(vm)
    assert l0.table_alloc.in_use == baseline


@pytest.mark.parametrize("page_shift", [12, 16])
def test_split_without_invalidation_replaces_the_2m_shadow_leaf(page_shift):
    """An L1 that splits a read-only 2M page into writable small pages and does not
    invalidate: the L2's store takes a permission fault inside the 2M shadow leaf and
    L0 puts a small leaf there (``kvmppc_create_pte`` level 0 under a PMD leaf: unmap
    it, then a new PTE table)."""
    l0, vm, l1, l2, baseline = _world(page_shift, C.PAGE_2M)
    small = 1 << page_shift
    region = REGIONS[2]
    _map_huge(l1, l2, region, "r")
    _touch(l1, l2, Load(EA + region))
    gp = _gp(vm, l2)
    assert _leaves(gp, region, region + C.PAGE_2M) == [(region, C.PAGE_2M)]
    _map_small(l1, l2, region, "rw")
    _touch(l1, l2, Store(EA + region + 2 * small, 0x4444))
    assert _leaves(gp, region, region + C.PAGE_2M) == [(region + 2 * small, small)]
    removed = [e for e in l0.events.filter("shadow-remove") if e.gpa == region]
    assert [e.size for e in removed] == [C.PAGE_2M]
    _check_leaves(vm, gp)
    _check_tree(l0, vm, gp)
    l0.destroy_l1(vm)
    assert l0.table_alloc.in_use == baseline


@pytest.mark.parametrize("page_shift", [12, 16])
def test_collapse_without_invalidation_frees_the_table_and_its_leaves(page_shift):
    """An L1 that collapses without invalidating: the fault for an untouched address
    wants a 2M shadow leaf where a PTE table with leaves is (the kernel's WARN_ON_ONCE
    case): the table is freed with its leaves."""
    l0, vm, l1, l2, baseline = _world(page_shift, C.PAGE_2M)
    small = 1 << page_shift
    region = REGIONS[0]
    _map_small(l1, l2, region)
    _touch(l1, l2, Load(EA + region), Load(EA + region + small))
    gp = _gp(vm, l2)
    assert len(_leaves(gp, region, region + C.PAGE_2M)) == 2
    _map_huge(l1, l2, region)
    _touch(l1, l2, Load(EA + region + 9 * small))
    assert _leaves(gp, region, region + C.PAGE_2M) == [(region, C.PAGE_2M)]
    warned = [e for e in l0.events.filter("shadow-remove") if "WARN_ON_ONCE" in (e.detail or "")]
    assert sorted(e.gpa for e in warned) == [region, region + small]
    _check_leaves(vm, gp)
    _check_tree(l0, vm, gp)
    l0.destroy_l1(vm)
    assert l0.table_alloc.in_use == baseline


def test_1g_leaf_replaces_a_pmd_table_and_a_small_leaf_splits_a_1g_leaf():
    """The 1G shapes, inserted as ``__kvmhv_nested_page_fault`` would (an L1 1G page
    on 1G backing): a 1G leaf over a PMD table holding a 2M leaf and a PTE table, then
    a small leaf inside the 1G leaf."""
    l0 = L0(kernel="4.20")
    baseline = l0.table_alloc.in_use
    vm = l0.create_l1(1 << 30, backing=C.PAGE_1G)
    l1 = L1(vm)
    assert l1.nested_init() == 0
    l2 = l1.create_l2(L2_MEM)
    _touch(l1, l2)
    gp = _gp(vm, l2)
    g = 1 << 30  # L2 real 1G..2G
    hpa = vm.mem_base
    leaf = C.PTE_V | C.PTE_L | 0x187
    assert create_shadow_pte(gp, leaf | hpa, g, 21) == 0
    assert create_shadow_pte(gp, leaf | (hpa + C.PAGE_2M), g + C.PAGE_2M, 16) == 0
    assert _leaves(gp, g, 2 * g) == [(g, C.PAGE_2M), (g + C.PAGE_2M, C.PAGE_64K)]
    assert create_shadow_pte(gp, leaf | hpa, g, 30) == 0
    assert _leaves(gp, g, 2 * g) == [(g, 1 << 30)]
    _check_tree(l0, vm, gp)
    assert create_shadow_pte(gp, leaf | (hpa + C.PAGE_64K), g + C.PAGE_64K, 16) == 0
    assert _leaves(gp, g, 2 * g) == [(g + C.PAGE_64K, C.PAGE_64K)]
    _check_tree(l0, vm, gp)
    l0.destroy_l1(vm)
    assert l0.table_alloc.in_use == baseline


# ----------------------------------------------------------------------------- property
def _ops(seed: int, n: int = 16) -> list[tuple]:
    """``n`` L1/L2 steps drawn from ``seed``: touches most often, then invalidations,
    collapses, splits and unmaps, over three 2M regions."""
    rng = random.Random(seed)
    kinds = ["touch"] * 6 + ["inval"] * 3 + ["huge"] * 2 + ["small"] * 2 + ["unmap"]
    out = []
    for _ in range(n):
        kind, region = rng.choice(kinds), rng.randrange(3)
        if kind in ("small", "huge"):
            out.append((kind, region, rng.choice(["rwx", "rwx", "r"])))
        elif kind == "unmap":
            out.append((kind, region, rng.randrange(32)))
        elif kind == "inval":
            out.append((kind, region, rng.choice([C.PAGE_2M, C.PAGE_2M, 0])))
        else:
            out.append((kind, region, rng.randrange(32), rng.random() < 0.5))
    return out


@pytest.mark.parametrize("config", LEGAL)
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 2**32 - 1))
def test_any_l1_map_unmap_collapse_split_and_touch_sequence(config, seed):
    """Any sequence of L1 maps (small pages or one 2M leaf, over whatever is there),
    unmaps, invalidations (or none) and L2 loads/stores: no exception leaves
    H_ENTER_NESTED, shadow leaves never overlap and stay in the L1's memory, the tree's
    tables are what its root reaches, and destroy_l1 gives every table back."""
    page_shift, backing = config
    l0, vm, l1, l2, baseline = _world(page_shift, backing)
    small = 1 << page_shift
    _touch(l1, l2)
    gp = _gp(vm, l2)
    for op in _ops(seed):
        kind, region = op[0], REGIONS[op[1]]
        if kind == "small":
            _map_small(l1, l2, region, op[2])
        elif kind == "huge":
            _map_huge(l1, l2, region, op[2])
        elif kind == "unmap":
            gpa = region + op[2] * (C.PAGE_2M // 32)
            if l2.tree.find_leaf(gpa) is not None:
                l1.unmap_l2_page(l2, gpa)
        elif kind == "inval" and op[2]:
            l1.tlbie_page(l2, region, op[2])
        elif kind == "touch":
            ea = EA + region + (op[2] * (C.PAGE_2M // 32) & -small) + 8
            _touch(l1, l2, Store(ea, 0x5A5A) if op[3] else Load(ea))
        _check_leaves(vm, gp)
        _check_tree(l0, vm, gp)
    assert not [e for e in l0.events.filter("error") if e.lpid == vm.lpid]
    l0.destroy_l1(vm)
    assert l0.table_alloc.in_use == baseline
