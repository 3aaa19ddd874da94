"""H_SET_PARTITION_TABLE and the nested-guest lifecycle (book3s_hv_nested.c)."""

import pytest

from pynest.kvm import nested as N
from pynest.kvm.hcalls import H_FUNCTION, H_PARAMETER, H_SET_PARTITION_TABLE, H_SUCCESS, do_hcall
from pynest.kvm.host import L0
from pynest.kvm.l1 import L1, ptb_order_and_ptcr
from pynest.kvm.nested_table import nested_table_costs


# ------------------------------------------------------------- H_SET_PARTITION_TABLE
@pytest.mark.parametrize(
    "ptcr, rc",
    [
        (0x10000 | 4, H_SUCCESS),  # PRTS 4: 4096 entries, the most allowed
        (0x10000 | 5, H_PARAMETER),  # (5 + 12 - 4) > 12  (kvmhv_set_partition_table)
        (0x10000 | 0x1F, H_PARAMETER),
        (0, H_SUCCESS),  # deregister: gfn 0 is visible
        (0x11000 | 2, H_SUCCESS),  # not aligned to the table size: not checked
        ((256 << 20) | 0, H_PARAMETER),  # base just past the L1's memory: no memslot
        (0xFFFF_FFFF_FFFF_FFFF, H_PARAMETER),
    ],
)
def test_set_partition_table_validation(vm, ptcr, rc):
    assert do_hcall(vm, H_SET_PARTITION_TABLE, ptcr) == rc
    assert vm.l1_ptcr == (ptcr if rc == H_SUCCESS else 0)


def test_set_partition_table_needs_nesting(l0):
    vm = l0.create_l1(256 << 20, nesting=False)
    assert do_hcall(vm, H_SET_PARTITION_TABLE, 0x10000) == H_FUNCTION
    assert vm.l1_ptcr == 0


def test_ptb_order_and_ptcr():
    # kvmhv_nested_init 4.20: ptb_order = ceil(log2(1024)) = 10 entries -> 16 KiB, PRTS 2
    assert ptb_order_and_ptcr(0x1000000) == (16 << 10, 0x1000000 | 2)
    # 5.19+: ptb_order = 12 + 4 = 16 bytes -> 64 KiB, PRTS 4
    assert ptb_order_and_ptcr(0x1000000, "5.19") == (1 << 16, 0x1000000 | 4)


def test_nested_init_registers_table(l1, vm):
    assert vm.l1_ptcr == l1.ptcr and l1.ptcr & 0x1F == 2
    assert l1.nested_exit() == H_SUCCESS and vm.l1_ptcr == 0


# ------------------------------------------------------------- lifecycle
def test_get_nested_creates_with_refcnt_two_and_puts(vm, l1, l0):
    gp = N.get_nested(vm, 1, True)
    assert gp.refcnt == 2 and gp.shadow_lpid == 2  # LPID 1 is the L1 itself
    assert vm.nested.find(1) is gp and vm.nested.max_nested_lpid == 1
    assert N.get_nested(vm, 1, False) is gp and gp.refcnt == 3
    N.put_nested(gp)
    N.put_nested(gp)
    assert gp.refcnt == 1 and not gp.freed
    N.remove_nested(gp)
    assert gp.freed and vm.nested.find(1) is None
    assert 2 not in l0.lpids.inuse and l0.ptab.raw(2) == (0, 0)


def test_get_nested_bounds(vm, l1):
    # l1_ptcr PRTS 2 -> 1024 entries: lpid 1024 is past the L1's table
    assert N.get_nested(vm, 1023, True) is not None
    assert N.get_nested(vm, 1024, True) is None
    assert N.get_nested(vm, -1, True) is None
    assert N.get_nested(vm, 5, False) is None


def test_array_limit_vs_dynamic_table():
    for kind, expect in (("array", None), ("dynamic", 2000)):
        l0 = L0(nested_table=kind)
        vm = l0.create_l1(256 << 20)
        l1 = L1(vm, kernel="5.19")  # registers a 4096-entry table (PRTS 4)
        assert l1.nested_init() == 0
        gp = N.get_nested(vm, 2000, True)
        assert (gp.l1_lpid if gp else None) == expect


def test_someone_else_beat_us_to_it(vm, l1, monkeypatch, l0):
    """kvmhv_get_nested re-checks the table after the unlocked allocation."""
    real_alloc = N.alloc_nested
    state = {"raced": False}

    def racing_alloc(vm_, lpid):
        mine = real_alloc(vm_, lpid)
        if not state["raced"]:
            state["raced"] = True
            N.get_nested(vm_, lpid, True)  # another vcpu creates it meanwhile
        return mine

    monkeypatch.setattr(N, "alloc_nested", racing_alloc)
    gp = N.get_nested(vm, 7, True)
    assert vm.nested.find(7) is gp and len(vm.nested) == 1
    assert gp.refcnt == 3  # slot + the other vcpu + us
    lost = l0.events.filter("nested-race-lost")
    assert len(lost) == 1 and lost[0].shadow_lpid != gp.shadow_lpid
    assert lost[0].shadow_lpid not in l0.lpids.inuse


def test_max_nested_lpid_recomputation(vm, l1):
    gps = {i: N.get_nested(vm, i, True) for i in (1, 5, 3)}
    assert vm.nested.max_nested_lpid == 5
    N.remove_nested(gps[5])
    assert vm.nested.max_nested_lpid == 3
    N.remove_nested(gps[1])
    assert vm.nested.max_nested_lpid == 3
    N.remove_nested(gps[3])
    assert vm.nested.max_nested_lpid == -1


def test_release_all_nested(vm, l1, l0):
    gps = [N.get_nested(vm, i, True) for i in (1, 2, 3)]
    N.put_nested(gps[1])  # only the slot holds 2 now
    N.release_all_nested(vm)
    assert len(vm.nested) == 0 and vm.nested.max_nested_lpid == -1
    assert [g.freed for g in gps] == [False, True, False]  # 1 and 3 still referenced
    N.put_nested(gps[0])
    assert gps[0].freed


def test_update_ptbl_cache_and_set_nested_ptbl(vm, l1, l0):
    l1.set_ptbl_entry(4, 0xC0000000010100AD, 0x8000000000100000)
    gp = N.get_nested(vm, 4, True)
    N.update_ptbl_cache(gp)
    assert gp.l1_gr_to_hr == 0xC0000000010100AD and gp.process_table == 0x8000000000100000
    # kvmhv_set_nested_ptbl: HR | radix__get_tree_size() | __pa(shadow) | 13; dw1 verbatim
    dw0, dw1 = l0.ptab.raw(gp.shadow_lpid)
    assert dw0 == 0xC0000000000000A0 | gp.shadow_pgtable.root | 13
    assert dw1 == 0x8000000000100000


def test_update_ptbl_cache_unreadable_entry(vm, l1, l0):
    gp = N.get_nested(vm, 4, True)
    vm.l1_ptcr = (vm.mem_size - 16) | 0  # entry 4 lies past the end of L1 memory
    N.update_ptbl_cache(gp)
    assert (gp.l1_gr_to_hr, gp.process_table) == (0, 0)
    assert l0.ptab.raw(gp.shadow_lpid)[1] == 0


def test_memory_cost_of_the_two_tables():
    costs = nested_table_costs([1, 2])
    assert costs["array"] == 8 * 1024 + 4  # nested_guests[1024] pointers + max_nested_lpid
    assert costs["dynamic"] == 24 + 576  # one xarray node
    assert nested_table_costs([])["dynamic"] == 24
    assert nested_table_costs(list(range(1, 1024)))["dynamic"] > costs["array"]
