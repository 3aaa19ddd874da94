"""Issue 13 B: every table L0 allocates for an L1 is charged to that L1's budget (its
memcg limit), and exhaustion takes the kernel's failure path: ``kvmhv_alloc_nested``
NULL (H_ENTER_NESTED gives H_PARAMETER), ``kvmppc_create_pte`` / instantiate -ENOMEM
(the run ends, H_ENTER_NESTED returns the trap to the L1). One L1 cannot exhaust what
the others or L0 need, and L0 returns to its baseline when the L1 goes."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pynest.errors import ConfigError
from pynest.kvm.hcalls import H_CEDE, H_PARAMETER
from pynest.kvm.host import DEFAULT_TABLE_LIMIT, L0, isolation_violations
from pynest.kvm.l1 import L1
from pynest.kvm.nested import lifecycle_violations
from pynest.kvm.program import Hcall, Load, Program, Store
from pynest.mmu import constants as C

KIB = 1 << 10
PGD = 8 << C.ROOT_NLS  # a 64 KiB radix PGD
REAL_MODE = C.MSR_SF | C.MSR_ME  # an L2 running with IR=DR=0


def _hostile_tree(l1, l2):
    """The L1's tree for ``l2`` shares one table per level: every root entry names one
    PUD table, every PUD entry one PMD table, every PMD entry the same 2M leaf, so
    every L2 real address (below 2^52) maps to the same 2M of L1 memory."""
    space = l1.vm.space
    pud, pmd = l1.alloc.alloc(4096), l1.alloc.alloc(4096)
    page = (l2.l1_gpa_base + C.PAGE_2M - 1) & -C.PAGE_2M
    leaf = C.PTE_V | C.PTE_L | page | C.PTE_R | C.PTE_C | 0x7
    for i in range(512):
        space.write_u64(pmd + 8 * i, leaf)
        space.write_u64(pud + 8 * i, C.PTE_V | pmd | 9)
    for i in range(1 << C.ROOT_NLS):
        space.write_u64(l2.tree.root + 8 * i, C.PTE_V | pud | 9)


def _hostile(l0, table_limit, page_shift_unused=None):
    vm = l0.create_l1(256 << 20, table_limit=table_limit)
    l1 = L1(vm)
    assert l1.nested_init() == 0
    l2 = l1.create_l2(16 << 20)
    _hostile_tree(l1, l2)
    return vm, l1, l2


def _run_real_mode(l1, l2, addrs):
    l1.load_program(l2, Program((*(Load(a) for a in addrs), Hcall(H_CEDE)), fetch=False))
    l2.regs.msr = REAL_MODE
    return l1.run_l2(l2, max_entries=4 * len(addrs) + 8)


def _benign(l0):
    """A second L1 with a new L2 that stores, loads back and cedes."""
    vm = l0.create_l1(256 << 20)
    l1 = L1(vm)
    assert l1.nested_init() == 0
    l2 = l1.create_l2(16 << 20)
    l1.l2_map(l2, 0, 0x30_0000, perms="x")
    l1.l2_map(l2, 0x1000_0000, 0x20_0000, perms="rw")
    ops = (Store(0x1000_0008, 0xBE11), Load(0x1000_0008, rt=7), Hcall(H_CEDE))
    l1.load_program(l2, Program(ops))
    res = l1.run_l2(l2)
    assert res.stopped == "ceded" and l2.regs.gpr[7] == 0xBE11
    return vm


def test_default_budget_is_documented_size():
    vm = L0().create_l1()
    assert vm.table_limit == DEFAULT_TABLE_LIMIT >= 96 << 20
    assert vm.table_bytes == PGD  # the partition tree's root, charged at creation


def test_budget_must_hold_the_partition_tree_root():
    with pytest.raises(Exception, match="table_limit"):
        L0().create_l1(table_limit=PGD - 1)


def test_hostile_l1_exhausts_only_its_own_budget():
    """The issue's repro with a small budget: the L2 runs in real mode over distinct
    2M regions (one per 1G, so each needs a new PMD and PTE table) until -ENOMEM."""
    l0 = L0()
    baseline = l0.table_alloc.in_use
    limit = 256 * KIB
    vm, l1, l2 = _hostile(l0, limit)
    addrs = [i << 30 for i in range(1, 80)]
    res = _run_real_mode(l1, l2, addrs)  # no exception leaves H_ENTER_NESTED
    assert res.stopped == "ceded"
    assert 0xE00 in res.returns  # the -ENOMEM runs ended with the trap back to the L1
    assert vm.table_bytes <= vm.table_limit == limit
    errors = [e for e in l0.events.filter("error") if e.lpid == vm.lpid]
    nomem = [e for e in errors if e.detail and e.detail.startswith("-ENOMEM")]
    assert nomem and all(f"budget {limit:#x}" in e.detail for e in nomem)
    assert any(e.detail == "errno -12" for e in errors)  # the run ended with -ENOMEM
    gp = vm.nested.find(l2.l1_lpid)
    inserted = {e.gpa for e in l0.events.filter("shadow-insert") if e.l1_lpid == l2.l1_lpid}
    assert 0 < len(inserted & set(addrs)) < len(addrs)  # some regions fit, not all
    assert isolation_violations(l0) == [] and lifecycle_violations(l0) == []
    # a new nested guest of the hostile L1 needs a 64 KiB PGD: kvmhv_alloc_nested NULL
    if vm.table_limit - vm.table_bytes < PGD:
        l2b = l1.create_l2(16 << 20)
        res_b = _run_real_mode(l1, l2b, [0])
        assert res_b.returns == (H_PARAMETER,)
    # another L1 is not affected, nor L0's create_l1
    other = _benign(l0)
    assert isolation_violations(l0) == [] and lifecycle_violations(l0) == []
    assert gp.shadow_pgtable is not None
    l0.destroy_l1(vm)
    assert l0.table_alloc.in_use == baseline + other.table_bytes
    l0.destroy_l1(other)
    assert l0.table_alloc.in_use == baseline


def test_exhausted_table_area_is_enomem_for_everyone_and_no_exception():
    """If L0's table area itself is full (whatever filled it), the same kernel paths
    fail cleanly: -ENOMEM for a fault, NULL for a new nested guest, and create_l1
    refuses with a ConfigError after giving the LPID back."""
    l0 = L0()
    vm, l1, l2 = _hostile(l0, DEFAULT_TABLE_LIMIT)
    res = _run_real_mode(l1, l2, [1 << 30])
    assert res.stopped == "ceded"
    l2b = l1.create_l2(16 << 20)  # the L1 builds it in its memory while L0 has room
    ta = l0.table_alloc
    filler = []
    for size in (PGD, 4096, 256):
        while ta.can_alloc(size):
            filler.append(ta.alloc(size))
    res = _run_real_mode(l1, l2, [5 << 30])
    assert res.stopped == "ceded" and 0xE00 in res.returns
    assert any(e.detail and "out of table memory" in e.detail for e in l0.events.filter("error"))
    assert _run_real_mode(l1, l2b, [0]).returns == (H_PARAMETER,)
    free_lpids = l0.lpids.free_count
    with pytest.raises(ConfigError, match="-ENOMEM"):
        l0.create_l1()
    assert l0.lpids.free_count == free_lpids
    for addr in filler:
        ta.free(addr)
    assert _benign(l0).table_bytes > PGD  # room again: a new L1 and its L2 run


@settings(max_examples=10, deadline=None, derandomize=True)
@given(
    st.integers(160, 400),
    st.lists(st.integers(1, 4000), min_size=1, max_size=60),
)
def test_any_budget_and_touches_stay_within_budget_and_return_to_baseline(kib, regions):
    """Any budget and any real-mode touches of the hostile tree (regions in units of
    2M): no exception, use never above the budget, all of it back after destroy_l1."""
    l0 = L0()
    baseline = l0.table_alloc.in_use
    vm, l1, l2 = _hostile(l0, max(kib * KIB, 4 * PGD))
    res = _run_real_mode(l1, l2, [r * C.PAGE_2M for r in regions])
    assert res.stopped == "ceded"
    assert vm.table_bytes <= vm.table_limit
    charged = sum(
        ta for a, ta in l0.table_alloc.sizes.items() if l0.table_alloc.owners.get(a) is vm
    )
    assert charged == vm.table_bytes
    assert isolation_violations(l0) == []
    l0.destroy_l1(vm)
    assert l0.table_alloc.in_use == baseline


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from([256, 4096, PGD]), st.booleans()), max_size=80))
def test_table_area_blocks_never_overlap_and_serve_any_size_after_churn(steps):
    """L0's table allocator over a small area: any sequence of allocations (of the three
    table sizes) and frees gives disjoint, aligned blocks inside the area, and once all
    are freed the whole area serves 64 KiB PGDs again (split blocks are merged)."""
    from pynest.kvm.host import TableAllocator

    ta = TableAllocator(16 << 20, (16 << 20) + 8 * PGD)
    live: list[int] = []
    for size, free in steps:
        if free and live:
            ta.free(live.pop(len(live) // 2))
        elif ta.can_alloc(size):
            live.append(ta.alloc(size))
        spans = sorted((a, ta.sizes[a]) for a in live)
        for (a, n), (b, _m) in zip(spans, spans[1:], strict=False):
            assert a + n <= b
        assert all(a % n == 0 and ta.start <= a and a + n <= ta.end for a, n in spans)
        assert ta.in_use == sum(n for _a, n in spans)
    for addr in live:
        ta.free(addr)
    pgds = [ta.alloc(PGD) for _ in range(8)]
    assert sorted(pgds) == [ta.start + i * PGD for i in range(8)]
    assert not ta.can_alloc(256)
