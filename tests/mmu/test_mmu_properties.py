"""Properties of the MMU core (hypothesis): formats round-trip, a mapped page translates
to where it was mapped in every size and quadrant, an unmapped one faults as the ISA
says, R/C are set exactly as the access type asks, tlbie removes exactly its scope, and
bad arguments raise pynest errors that name them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pynest.errors import AddressError, AlignmentError, ArgumentTypeError, FieldError, PynestError
from pynest.memory import PhysicalMemory
from pynest.mmu import (
    MSR_GUEST_KERNEL,
    PAGE_1G,
    PAGE_2M,
    PAGE_4K,
    PAGE_64K,
    Allocator,
    CpuState,
    GuestSpace,
    PartitionTable,
    PateDw0,
    PateDw1,
    Pde,
    ProcessTable,
    ProcessTableEntry,
    Ptcr,
    Pte,
    RadixTree,
    Tlb,
    TlbEntry,
    TlbieRb,
    TlbieRs,
    translate,
)
from pynest.mmu import constants as C

SIZES = (PAGE_4K, PAGE_64K, PAGE_2M, PAGE_1G)
u64 = st.integers(0, 2**64 - 1)


# ------------------------------------------------------------------ formats round-trip
@given(u64)
def test_ptcr_round_trip(raw):
    raw &= C.PTCR_PATB | C.PTCR_PATS
    assert Ptcr.decode(raw).encode() == raw


@given(u64)
def test_pate_dw0_dw1_round_trip(raw):
    dw0 = raw & (C.PATE0_HR | 3 << 61 | 0x0FFF_FFFF_FFFF_FF00 | 7 << 5 | 0x1F)
    assert PateDw0.decode(dw0).encode() == dw0
    dw1 = raw & (0x0FFF_FFFF_FFFF_F000 | 0x1F)
    assert PateDw1.decode(dw1).encode() == dw1


@given(u64)
def test_prte_round_trip(raw):
    dw0 = raw & (3 << 61 | 0x0FFF_FFFF_FFFF_FF00 | 7 << 5 | 0x1F)
    assert ProcessTableEntry.decode(dw0).encode() == dw0


@given(u64)
def test_pde_and_pte_round_trip(raw):
    pde = raw & ~C.PTE_L
    assert Pde.decode(pde).encode() == pde
    pte = raw | C.PTE_L
    assert Pte.decode(pte).encode() == pte


@given(u64, u64)
def test_tlbie_operands_round_trip(rb, rs):
    rb &= 0xFFFF_FFFF_FFFF_F000 | 3 << 10 | 7 << 5
    assert TlbieRb.decode(rb).encode() == rb
    assert TlbieRs.decode(rs).encode() == rs


# ------------------------------------------------------------------ map then translate
def _host_world(pid: int):
    mem = PhysicalMemory(8 << 30)
    alloc = Allocator(0x100000, 0x2000000)
    ptab = PartitionTable.create(mem, alloc)
    host = RadixTree(mem, alloc)
    host.map(0, 0, PAGE_1G, "rwx", r=True, c=True)
    prtab = ProcessTable.create(mem, alloc)
    ptab.set_entry(0, host, prtab)
    proc = RadixTree(mem, alloc)
    prtab.set_entry(pid, proc)
    return mem, ptab, proc


@st.composite
def page(draw, sizes=SIZES, ra_base=0x4000000, ra_limit=8 << 30):
    size = draw(st.sampled_from(sizes))
    ea = draw(st.integers(0, (1 << 52) - size)) & -size
    ra = draw(st.integers(ra_base, ra_limit - size)) & -size
    offset = draw(st.integers(0, size - 1))
    return size, ea, ra, offset


@settings(max_examples=60, deadline=None)
@given(page(), st.sampled_from([0, 3]), st.sampled_from(["load", "store", "fetch"]))
def test_hv_mapped_page_translates_in_quadrants_0_and_3(p, quadrant, access):
    size, ea, ra, offset = p
    pid = 9 if quadrant == 0 else 0  # quadrant 3 of a hypervisor is PID 0
    mem, ptab, proc = _host_world(pid)
    proc.map(ea, ra, size, "rwx")
    cpu = CpuState(ptcr=ptab.ptcr, pidr=9)
    t = translate(mem, cpu, quadrant << 62 | ea | offset, access)
    assert t.fault is None
    assert t.ra == ra | offset and t.page_size == size


@settings(max_examples=40, deadline=None)
@given(
    page(sizes=(PAGE_4K, PAGE_64K, PAGE_2M), ra_base=0x800000, ra_limit=64 << 20),
    st.sampled_from([0, 3]),
)
def test_guest_mapped_page_translates_through_both_trees(p, quadrant):
    size, ea, gra, offset = p
    mem = PhysicalMemory(1 << 30)
    alloc = Allocator(0x100000, 0x1000000)
    ptab = PartitionTable.create(mem, alloc)
    host = RadixTree(mem, alloc)
    host.map(0, 0, PAGE_1G, "rwx", r=True, c=True)
    ptab.set_entry(0, host, ProcessTable.create(mem, alloc))
    part = RadixTree(mem, alloc)  # guest real 0..64M -> host real 0x10000000..
    for g in range(0, 64 << 20, PAGE_2M):
        part.map(g, 0x10000000 + g, PAGE_2M, "rwx")
    gspace = GuestSpace(mem, part)
    galloc = Allocator(0x10000, 0x400000)
    gprtab = ProcessTable.create(gspace, galloc)
    ptab.set_entry(4, part, gprtab)
    pid = 2 if quadrant == 0 else 0
    proc = RadixTree(gspace, galloc)
    gprtab.set_entry(pid, proc)
    proc.map(ea, gra, size, "rw")
    cpu = CpuState(ptcr=ptab.ptcr, lpidr=4, pidr=2, msr=MSR_GUEST_KERNEL)
    t = translate(mem, cpu, quadrant << 62 | ea | offset)
    assert t.fault is None
    assert t.gra == gra | offset and t.ra == 0x10000000 + (gra | offset)
    assert t.page_size == size  # the partition pages are 2M: never smaller here


@settings(max_examples=40, deadline=None)
@given(page(sizes=(PAGE_4K, PAGE_64K)), st.sampled_from(["load", "store", "fetch"]))
def test_unmapped_neighbour_faults_with_nopte(p, access):
    size, ea, ra, offset = p
    mem, ptab, proc = _host_world(9)
    proc.map(ea, ra, size, "rwx")
    other = ea ^ size  # the neighbouring page in the same last-level table
    t = translate(mem, CpuState(ptcr=ptab.ptcr, pidr=9), other | offset, access)
    assert t.ra is None
    if access == "fetch":
        assert t.fault.interrupt == "ISI" and t.fault.srr1 & C.DSISR_NOPTE
        assert t.fault.srr0 == other | offset
    else:
        store = C.DSISR_ISSTORE if access == "store" else 0
        assert t.fault.interrupt == "DSI" and t.fault.dsisr == C.DSISR_NOPTE | store
        assert t.fault.dar == other | offset


@settings(max_examples=40, deadline=None)
@given(page(), st.sampled_from(["load", "store", "fetch"]))
def test_rc_set_exactly_as_the_access_asks(p, access):
    size, ea, ra, offset = p
    mem, ptab, proc = _host_world(9)
    pte_addr = proc.map(ea, ra, size, "rwx")
    before = mem.read_u64(pte_addr)
    assert not before & (C.PTE_R | C.PTE_C)
    cpu = CpuState(ptcr=ptab.ptcr, pidr=9)
    translate(mem, cpu, ea | offset, access, update_rc=False)
    assert mem.read_u64(pte_addr) == before  # the debugger's view writes nothing
    translate(mem, cpu, ea | offset, access)
    after = mem.read_u64(pte_addr)
    assert after & C.PTE_R
    assert bool(after & C.PTE_C) == (access == "store")
    assert after & ~(C.PTE_R | C.PTE_C) == before  # nothing else changes


# ------------------------------------------------------------------ tlbie scope
LPIDS, PIDS = (0, 1, 2), (0, 5, 6)


@st.composite
def tlb_entries(draw):
    out = []
    for i in range(draw(st.integers(1, 12))):
        lpid = draw(st.sampled_from(LPIDS))
        kind = draw(st.sampled_from(["process", "combined", "partition"]))
        if lpid == 0 and kind != "process":
            kind = "process"  # the host's own translations: no partition stage
        size = draw(st.sampled_from(SIZES))
        epn = (i + 1) * PAGE_1G
        pid = None if kind == "partition" else draw(st.sampled_from(PIDS))
        gra = epn + PAGE_1G * 64 if kind == "combined" else None
        out.append(
            TlbEntry(
                lpid=lpid,
                pid=pid,
                epn=epn,
                page_size=size,
                rpn=0x80000000 + epn,
                gra=gra,
                proc_pte=None,
                part_pte=None,
            )
        )
    return out


def _expected_removed(entries, is_, prs, lpid, pid):
    """What the ISA's tlbie (RIC 0, R 1) names, written independently of pynest.mmu.tlb."""
    out = set()
    for e in entries:
        in_lpid = is_ == 3 or e.lpid == lpid
        if prs:  # process-scoped translations
            if e.pid is None or not in_lpid:
                continue
            if is_ == 1 and e.pid != pid:
                continue
        else:  # partition-scoped, and translations that went through one
            if not in_lpid or (e.pid is not None and e.gra is None):
                continue
        out.add((e.lpid, e.pid, e.epn))
    return out


@settings(max_examples=80, deadline=None)
@given(
    tlb_entries(),
    st.sampled_from([(1, 1), (2, 1), (3, 1), (2, 0), (3, 0)]),
    st.sampled_from(LPIDS),
    st.sampled_from(PIDS),
)
def test_tlbie_removes_exactly_its_scope(entries, is_prs, lpid, pid):
    is_, prs = is_prs
    tlb = Tlb()
    for e in entries:
        tlb.insert(e)
    before = {(e.lpid, e.pid, e.epn) for e in tlb}
    res = tlb.tlbie(is_ << 10, pid << 32 | lpid, ric=0, prs=prs, r=1)
    removed = {(e.lpid, e.pid, e.epn) for e in res.removed}
    assert removed == _expected_removed(entries, is_, prs, lpid, pid)
    assert {(e.lpid, e.pid, e.epn) for e in tlb} == before - removed


def test_tlbie_one_page_removes_only_the_overlapping_entry():
    tlb = Tlb()
    for epn in (0x10000000, 0x10001000, 0x10200000):
        tlb.insert(
            TlbEntry(
                lpid=1,
                pid=5,
                epn=epn,
                page_size=PAGE_4K,
                rpn=0x4000000 + epn,
                gra=None,
                proc_pte=None,
                part_pte=None,
            )
        )
    tlb.insert(
        TlbEntry(
            lpid=1,
            pid=6,
            epn=0x10001000,
            page_size=PAGE_4K,
            rpn=0x9000000,
            gra=None,
            proc_pte=None,
            part_pte=None,
        )
    )
    # IS 0, AP 0 (4K), EPN 0x10001000, PID 5, LPID 1: one entry
    res = tlb.tlbie(0x10001000, 5 << 32 | 1, ric=0, prs=1, r=1)
    assert [(e.pid, e.epn) for e in res.removed] == [(5, 0x10001000)]
    # AP 1 (2M) at 0x10000000 covers both remaining 4K pages of PID 5 below 2M
    res = tlb.tlbie(0x10000000 | 1 << 5, 5 << 32 | 1, ric=0, prs=1, r=1)
    assert sorted(e.epn for e in res.removed) == [0x10000000]
    assert len(tlb) == 2


@pytest.mark.parametrize(
    ("rb", "ric", "prs", "why"),
    [
        (0, 3, 1, "RIC=3"),
        (0, 1, 1, "IS=0"),  # one page allows only RIC 0
        (1 << 10, 0, 0, "IS=1"),  # one PID needs PRS 1
        (3 << 5, 0, 1, "AP=3"),  # AP 3 names no page size
    ],
)
def test_tlbie_invalid_forms_remove_nothing(rb, ric, prs, why):
    tlb = Tlb()
    tlb.insert(
        TlbEntry(
            lpid=1,
            pid=5,
            epn=0,
            page_size=PAGE_4K,
            rpn=0x4000000,
            gra=None,
            proc_pte=None,
            part_pte=None,
        )
    )
    res = tlb.tlbie(rb, 5 << 32 | 1, ric=ric, prs=prs, r=1)
    assert res.removed == () and why in res.invalid and len(tlb) == 1


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("call", "error", "names"),
    [
        (lambda m: m.read_u64(0x1004), AlignmentError, "0x1004"),
        (lambda m: m.read_u64(-8), PynestError, "-0x8"),
        (lambda m: m.read_u64(1 << 40), AddressError, "0x10000000000"),
        (lambda m: m.write_u64(0x1000, 1 << 64), FieldError, "64 bits"),
        (lambda m: m.write(0x1000, "text"), PynestError, "str"),
        (lambda m: translate(m, CpuState(), 1.5), ArgumentTypeError, "float"),
        (lambda m: translate(m, CpuState(), -1), AddressError, "ea"),
        (lambda m: translate(m, CpuState(), 0, "write"), FieldError, "'write'"),
        (lambda m: CpuState(lpidr=1 << 32), FieldError, "lpidr"),
        (lambda m: CpuState(msr=-1), AddressError, "msr"),
    ],
)
def test_bad_arguments_raise_errors_that_name_them(call, error, names):
    mem = PhysicalMemory(1 << 20)
    with pytest.raises(error) as info:
        call(mem)
    assert names in str(info.value)


def test_builder_rejects_misaligned_and_odd_sizes():
    mem = PhysicalMemory(64 << 20)
    alloc = Allocator(0x100000, 0x1000000)
    tree = RadixTree(mem, alloc)
    with pytest.raises(AlignmentError, match="2 MiB|2M"):
        tree.map(0x1000, 0x200000, PAGE_2M)
    with pytest.raises(FieldError, match="0x2000"):
        tree.map(0, 0, 0x2000)
    with pytest.raises(AlignmentError, match="64 KiB"):
        RadixTree(mem, alloc, root=0x101000)
    ptab = PartitionTable.create(mem, alloc)
    with pytest.raises(PynestError, match="256"):
        ptab.set_entry(256, tree, ProcessTable.create(mem, alloc))
