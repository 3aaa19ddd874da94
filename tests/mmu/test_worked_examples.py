"""The worked examples of radix-mmu.md section 7, vector by vector.

Each expectation was worked out by hand from the ISA (the fact sheet shows the arithmetic)
and confirmed on qemu-system-ppc64 7.2; the comments repeat the step that gives it.
"""

from __future__ import annotations

import pytest
from worked_examples import PTCR, image_memory

from pynest.mmu import CpuState, translate
from pynest.mmu import constants as C

HV = CpuState(ptcr=PTCR, pidr=5)  # MSR SF|HV|ME|IR|DR, LPIDR 0
GUEST = CpuState(ptcr=PTCR, lpidr=7, pidr=3, msr=C.MSR_GUEST_KERNEL)


def test_example_1_hv_quadrant_0_4k_page():
    # PATE[0] (2 reads), PRTE[5] through LPID 0's tree (2 PDE/PTE reads + the PRTE),
    # then the 4 levels of PID 5's tree: 2 + 3 + 4 = 9 reads; RA = 0x3000000 | 0xabc
    mem = image_memory()
    t = translate(mem, HV, 0x10000ABC, "load")
    assert t.fault is None and t.ra == 0x3000ABC and t.page_size == C.PAGE_4K
    assert t.memory_reads == 9
    assert [s.entry_addr for s in t.steps][-4:] == [0x210000, 0x220000, 0x221400, 0x222000]
    # R and C are already set: a store passes (EAA RW) and writes nothing back
    s = translate(mem, HV, 0x10000ABC, "store")
    assert s.ra == 0x3000ABC and s.rc_updates == []


def test_example_2_read_only_2m_page():
    mem = image_memory()
    # level-2 index 0x10212345 >> 21 = 0x81 -> 0x221408 is a leaf with 21 bits left
    t = translate(mem, HV, 0x10212345, "load")
    assert t.ra == 0x4012345 and t.page_size == C.PAGE_2M and t.memory_reads == 8
    # a store to EAA read-only: DSI with PROTFAULT | STORE, DAR = EA, PTE unchanged
    s = translate(mem, HV, 0x10212345, "store")
    assert s.ra is None and s.fault.interrupt == "DSI"
    assert s.fault.dsisr == 0x0A000000 and s.fault.dar == 0x10212345
    assert mem.read_u64(0x221408) == 0xC000000004000104


def test_example_2b_rc_write_back():
    mem = image_memory()
    mem.write_u64(0x222000, 0xC000000003000006)  # R = C = 0
    translate(mem, HV, 0x10000ABC, "load", update_rc=False)
    assert mem.read_u64(0x222000) == 0xC000000003000006  # the debugger's view writes nothing
    translate(mem, HV, 0x10000ABC, "load")
    assert mem.read_u64(0x222000) == 0xC000000003000106  # a load sets R
    translate(mem, HV, 0x10000ABC, "store")
    assert mem.read_u64(0x222000) == 0xC000000003000186  # a store sets R and C


@pytest.mark.parametrize(("access", "dsisr"), [("load", 0x40000000), ("store", 0x42000000)])
def test_example_3_no_pte(access, dsisr):
    # level-3 index 1 -> 0x222008 is zero: DSI NOPTE (| STORE for a store), DAR = EA
    f = translate(image_memory(), HV, 0x10001ABC, access).fault
    assert f.interrupt == "DSI" and f.dsisr == dsisr and f.dar == 0x10001ABC


def test_example_3_empty_prte_is_a_bad_config_not_nopte():
    # quadrant 3 -> PID 0: PRTE[0] is zero, RTS = 31 and RPDS = 0 fail the level-0 shape
    f = translate(image_memory(), HV, 0xC000000010000ABC).fault
    assert f.interrupt == "DSI" and f.dsisr == C.DSISR_R_BADCONFIG == 0x00080000


def test_example_3_segment_check_reads_nothing():
    t = translate(image_memory(), HV, 0x0010000000000000)  # EA bit 11 set
    assert t.fault.interrupt == "DSEG" and t.fault.dar == 0x0010000000000000
    assert t.memory_reads == 0


def test_example_3_partition_table_alignment():
    mem = image_memory()
    # PATS 1: an 8 KiB table; 0x100000 is 8 KiB aligned, so the walk works
    assert translate(mem, HV.replace(ptcr=0x100001), 0x10000ABC).ra == 0x3000ABC
    # PATB 0x101000 is not: HDSI R_BADCONFIG with HDAR = ASDR = EA
    f = translate(mem, HV.replace(ptcr=0x101001), 0x10000ABC).fault
    assert f.interrupt == "HDSI" and f.hdsisr == 0x00080000
    assert f.hdar == f.asdr == 0x10000ABC


def test_example_4_guest_two_dimensional_walk():
    # 2 PATE reads + (3 partition + 1) for the PRTE + 4 x (3 + 1) for the process
    # levels + 3 for the final guest real address = 25; gRA 0x201678 -> hRA 0xa01678
    t = translate(image_memory(), GUEST, 0x12345678)
    assert t.ra == 0xA01678 and t.gra == 0x201678 and t.memory_reads == 25
    hras = [s.hra for s in t.steps if s.tree == "process"]
    assert hras == [0x820000, 0x830000, 0x831488, 0x832A28]


def test_example_4_guest_faults():
    mem = image_memory()
    # level-3 index 0x146 -> gRA 0x32a30 -> hRA 0x832a30 is zero: NOPTE after 22 reads
    t = translate(mem, GUEST, 0x12346678)
    assert t.fault.interrupt == "DSI" and t.fault.dsisr == 0x40000000
    assert t.memory_reads == 22
    # quadrant 1 as a guest: a segment interrupt
    f = translate(mem, GUEST, 0x4000000012345678).fault
    assert f.interrupt == "DSEG" and f.dar == 0x4000000012345678


def test_example_5_hv_quadrant_1_isa_walk_and_qemu_quirk():
    mem = image_memory()
    cpu = HV.replace(lpidr=7, pidr=3)
    # the ISA: the guest's process tree is walked 2-D, as in example 4
    assert translate(mem, cpu, 0x4000000012345678).ra == 0xA01678
    # QEMU 7.2 reads the root entry at host real 0x20000 (the gRA used as an hRA): zero
    q = translate(mem, cpu, 0x4000000012345678, qemu_7_2_quirk=True)
    assert q.fault.interrupt == "DSI" and q.fault.dsisr == 0x40000000
    assert q.memory_reads == 7


def test_example_6_fetch_from_no_execute_page():
    mem = image_memory()
    f = translate(mem, HV, 0x10000AB0, "fetch").fault
    assert f.interrupt == "ISI" and f.srr0 == 0x10000AB0
    assert f.srr1 & 0x10000000
    # EAA X set but ATT = 0b10 (non-idempotent I/O): the same cause
    mem.write_u64(0x222000, 0xC000000003000187 | 0x20)
    f = translate(mem, HV, 0x10000AB0, "fetch").fault
    assert f.interrupt == "ISI" and f.srr1 & 0x10000000
    # the data path of the same EA still maps it
    assert translate(mem, HV, 0x10000AB0, "load", update_rc=False).ra == 0x3000AB0
