"""L0: LPIDs, the host partition table, L1 creation, lazy backing, isolation invariant."""

import pytest

from pynest.errors import AddressError, ConfigError
from pynest.kvm.host import KVMPPC_NR_LPIDS, L0, LPID_RSVD, LpidAllocator, isolation_violations
from pynest.mmu import constants as C


def test_lpid_allocator_reserves_host_and_rsvd():
    l0 = L0()
    # kvmppc_mmu_hv_init (4.20): 1024 LPIDs, 0 (host) and LPID_RSVD 0x3ff claimed
    assert KVMPPC_NR_LPIDS == 1024 and LPID_RSVD == 0x3FF
    assert l0.lpids.free_count == 1022
    vm = l0.create_l1(256 << 20)
    assert vm.lpid == 1
    a = LpidAllocator(4)
    a.claim(0)
    assert [a.alloc(), a.alloc(), a.alloc(), a.alloc()] == [1, 2, 3, None]
    a.free(2)
    assert a.alloc() == 2


def test_host_partition_table_and_l1_entry(l0, vm):
    # mmu_partition_table_init: 64 KiB table (PATB_SIZE_SHIFT 16) -> PATS = 16 - 12 = 4
    assert l0.ptcr & C.PTCR_PATS == 4
    assert l0.ptcr & C.PTCR_PATB == l0.ptab.base
    dw0, dw1 = l0.ptab.raw(vm.lpid)
    # HR | RTS(52 bits: RTS1=2, RTS2=5) | root | RPDS 13
    assert dw0 == 0xC0000000000000A0 | vm.pgtable.root | 13
    assert dw1 == 0
    lo, hi = vm.allotment
    assert hi - lo == 256 << 20 and lo % (256 << 20) == 0


def test_l1_memory_is_backed_on_first_touch(vm, l0):
    mark = l0.events.mark()
    assert vm.pgtable.lookup(0x123000) is None
    vm.space.write_u64(0x123008, 0xDEAD)
    ev = l0.events.since(mark)[0]
    assert ev.kind == "l0-fault-in" and ev.l1_gpa == 0x120000 and ev.size == 0x10000
    assert l0.mem.read_u64(vm.mem_base + 0x123008) == 0xDEAD
    pte = vm.pgtable.lookup(0x123008).pte
    assert pte & C.PTE_R and pte & C.PTE_C  # instantiated for a write
    with pytest.raises(AddressError):
        vm.space.read_u64(vm.mem_size)
    with pytest.raises(ConfigError):
        vm.peek.read_u64(0x900000)  # never touched: a peek does not fault it in


def test_backing_page_size_checks(l0):
    with pytest.raises(ConfigError):
        l0.create_l1(256 << 20, backing=C.PAGE_4K)  # below L0's 64K PAGE_SIZE
    vm = l0.create_l1(256 << 20, backing=C.PAGE_2M)
    vm.space.read_u64(0x345678 & ~7)
    assert vm.pgtable.lookup(0x345678).size == C.PAGE_2M


def test_destroy_l1_frees_lpid_and_entry(l0, vm):
    lpid = vm.lpid
    l0.destroy_l1(vm)
    assert l0.ptab.raw(lpid) == (0, 0)
    assert lpid not in l0.lpids.inuse
    assert l0.events.last().kind == "l1-destroy"


def test_isolation_invariant_detects_a_stray_mapping(l0, vm):
    assert isolation_violations(l0) == []
    other = l0.create_l1(256 << 20)
    # a bug that maps one L1's page to another L1's memory
    vm.pgtable.map(0x0, other.mem_base, C.PAGE_64K, "rw")
    bad = isolation_violations(l0)
    assert len(bad) == 1 and bad[0].lpid == vm.lpid and bad[0].hpa == other.mem_base
    assert "outside" in str(bad[0])


def test_bad_l0_configuration_is_refused():
    with pytest.raises(ConfigError):
        L0(page_shift=13)
    with pytest.raises(ConfigError):
        L0(nested_table="list")
