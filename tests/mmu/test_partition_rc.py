"""translate(partition_rc=...): QEMU 7.2 sets partition-scoped R/C, POWER9 faults.

A guest (LPID 4) whose tables live in one 2M partition page and whose data lives in
another; each partition PTE has R and C on or off. With ``"fault"`` the first
partition-scoped PTE that needs R (a table read, a load or fetch) or C (a store) stops
the walk with HDSI/HISI[ATOMIC_RC] (plus PRTABLE_FAULT for a table), ASDR = the guest
real address concerned, and nothing is written.
"""

from __future__ import annotations

import itertools

import pytest

from pynest.errors import FieldError
from pynest.memory import PhysicalMemory
from pynest.mmu import CpuState, translate
from pynest.mmu import constants as C
from pynest.mmu.builder import Allocator, GuestSpace, PartitionTable, ProcessTable, RadixTree

EA = 0x7000_1234
DATA_GRA = 0x80_0000  # its own 2M partition page
TABLES_HRA, DATA_HRA = 0x1000_0000, 0x1080_0000
PID = 2


def _world(table_rc: tuple[bool, bool], data_rc: tuple[bool, bool]):
    mem = PhysicalMemory(1 << 30)
    alloc = Allocator(0x100000, 0x1000000)
    ptab = PartitionTable.create(mem, alloc)
    host = RadixTree(mem, alloc)
    host.map(0, 0, C.PAGE_1G, "rwx", r=True, c=True)
    ptab.set_entry(0, host, ProcessTable.create(mem, alloc))
    part = RadixTree(mem, alloc)
    part.map(0, TABLES_HRA, C.PAGE_2M, "rwx", r=table_rc[0], c=table_rc[1])
    part.map(DATA_GRA, DATA_HRA, C.PAGE_2M, "rwx", r=data_rc[0], c=data_rc[1])
    gspace = GuestSpace(mem, part)
    galloc = Allocator(0x10000, 0x200000)
    gprtab = ProcessTable.create(gspace, galloc)
    ptab.set_entry(4, part, gprtab)
    proc = RadixTree(gspace, galloc)
    gprtab.set_entry(PID, proc)
    proc.map(EA & ~0xFFF, DATA_GRA, C.PAGE_4K, "rwx", r=True, c=True)
    cpu = CpuState(ptcr=ptab.ptcr, lpidr=4, pidr=PID, msr=C.MSR_GUEST_KERNEL)
    return mem, cpu, gprtab.base + 16 * PID


CASES = list(
    itertools.product(
        itertools.product([False, True], repeat=2),
        itertools.product([False, True], repeat=2),
        ["load", "store", "fetch"],
    )
)


@pytest.mark.parametrize(("table_rc", "data_rc", "access"), CASES)
def test_fault_mode_is_powers9_rule_and_set_mode_is_qemu(table_rc, data_rc, access):
    mem, cpu, prte_gra = _world(table_rc, data_rc)
    before = list(mem.written())
    f = translate(mem, cpu, EA, access, partition_rc="fault")
    assert not [u for u in f.rc_updates if u.tree == "partition"]
    assert list(mem.written()) == before  # process PTE already has R and C: nothing to write
    s = translate(mem.copy(), cpu, EA, access)  # QEMU 7.2: sets them and translates
    assert s.fault is None and s.ra == DATA_HRA | (EA & 0xFFF)
    data_needs = not data_rc[0] or (access == "store" and not data_rc[1])
    if not table_rc[0]:  # the PRTE read (a load) is the first to need R
        assert f.fault.interrupt == "HDSI"
        assert f.fault.cause == C.DSISR_ATOMIC_RC | C.DSISR_PRTABLE_FAULT
        assert (f.fault.asdr, f.fault.hdar, f.fault.stage) == (prte_gra, EA, "partition")
    elif data_needs:
        cause = C.DSISR_ATOMIC_RC | (C.DSISR_ISSTORE if access == "store" else 0)
        assert f.fault.interrupt == ("HISI" if access == "fetch" else "HDSI")
        assert f.fault.cause == cause and f.fault.asdr == DATA_GRA | (EA & 0xFFF)
        assert f.gra == DATA_GRA | (EA & 0xFFF) and f.ra is None
    else:
        assert f.fault is None
        assert (f.ra, f.page_size, f.raw_steps) == (s.ra, s.page_size, s.raw_steps)


def test_partition_rc_must_be_named():
    mem, cpu, _ = _world((True, True), (True, True))
    with pytest.raises(FieldError, match="partition_rc"):
        translate(mem, cpu, EA, partition_rc="clear")
