"""A fetch whose own page tables share an L1 page without execute (issue 12, item 5b).

The L1 maps all of an L2's memory read/write but not execute (``perms="rw"``), and the
L2 runs code at EA 0x10000 -> L2 real 0x12F000: the 64 KiB L1 page 0x120000 that also
holds the L2's lower page tables (L1 directory 0x120000, L2 directory 0x121000, PTE page
0x122000; PRTE[1] is at 0x100010, the root at 0x110000).

What the hardware reports decides everything. POWER9, like QEMU 7.2
(``ppc_radix64_process_scoped_xlate`` translates the PRTE and every PDE/PTE address with
access type 0, a load), raises an **HDSI** (HDSISR NOHPTE | PRTABLE_FAULT, HDAR = the
fetch's EA, ASDR = the table entry) when a table read made for a fetch misses in the
shadow tree, not an HISI. A 4.20 L0 then checks the L1's read permission only
(``kvmhv_translate_addr_nested``: not a store, trap 0xE00) and inserts the shadow PTE;
the fetch itself then raises an HISI (HSRR1 N_G) on that PTE; the L1's tree does not
allow execute, and because the hardware *found* a PTE (NOEXEC_OR_G) 4.20 goes to
``inval`` (book3s_hv_nested.c 1133-1141): the shadow PTE is removed and the L2 retries,
whose first fault is the table read again. The L1 never hears of it: a livelock that
only the L1's HDEC deadline or a signal ends. It is real 4.20 behaviour, reachable only
by an L1 that maps guest memory without execute (a Linux L1 never does:
``kvmppc_book3s_instantiate_page`` always adds ``_PAGE_EXEC``). The same loop needs no
fetch at all: a store into a table page the L1 maps read-only livelocks alike.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from pynest.kvm import shadow as S
from pynest.kvm.constants import (
    _PAGE_READ,
    _PAGE_WRITE,
    RESUME_GUEST,
    RESUME_HOST,
    SRR1_ISI_N_G_OR_CIP,
)
from pynest.kvm.hcalls import H_CEDE
from pynest.kvm.host import L0, L1_LPCR, Vcpu
from pynest.kvm.l1 import L1
from pynest.kvm.l2 import MAX_RESUMES
from pynest.kvm.program import Hcall, Load, Program, Spin, Store
from pynest.kvm.radix import invalidate_shadow_pte, shadow_ptes
from pynest.kvm.run import handle_nested_exit
from pynest.mmu import constants as C
from pynest.mmu.tlb import Tlb
from pynest.mmu.xlate import CpuState, translate

CODE_EA, CODE_GPA = 0x10000, 0x12F000
TABLE_PAGE = 0x120000  # the 64 KiB L1 page holding the code and the lower tables
LINEAR_EA = 0xC000_0000_0000_0000
NOTE = "table read made for an instruction fetch faults as an HDSI"
HDSI_TABLE_MISS = C.DSISR_NOPTE | C.DSISR_PRTABLE_FAULT  # 0x40020000
IMAGE = C.MSR_GUEST_KERNEL  # the L2's MSR: SF | ME | IR | DR = 0x8000000000001030


def world(perms: str = "rw", code_gpa: int = CODE_GPA):
    l0 = L0()
    vm = l0.create_l1(256 << 20)
    l1 = L1(vm)
    assert l1.nested_init() == 0
    l2 = l1.create_l2(16 << 20, perms=perms)
    l1.l2_map(l2, CODE_EA, code_gpa, 0x1000, "rx")
    return l0, vm, l1, l2


def cpu_of(l0, gp) -> CpuState:
    return CpuState(ptcr=l0.ptcr, lpidr=gp.shadow_lpid, pidr=1, lpcr=L1_LPCR, msr=IMAGE)


def warmed():
    """The repro world after one L2 load of the code (``fetch=False``): the shadow tree
    has the three table pages, 0x120000 with the L1's rights (read/write, no execute)."""
    l0, vm, l1, l2 = world()
    l1.load_program(l2, Program((Load(CODE_EA), Hcall(H_CEDE)), entry=CODE_EA, fetch=False))
    assert l1.run_l2(l2).stopped == "ceded"
    gp = vm.nested.find(l2.l1_lpid)
    assert [p.gpa for p in shadow_ptes(gp)] == [0x100000, 0x110000, TABLE_PAGE]
    return l0, gp


def shadowed(gp) -> list[int]:
    return [p.gpa for p in shadow_ptes(gp)]


def nested_vcpu(gp, trap: int, **regs: int) -> Vcpu:
    vcpu = Vcpu(0)
    vcpu.nested, vcpu.trap = gp, trap
    vcpu.regs.nip = CODE_EA
    for name, value in regs.items():
        if name == "msr":
            vcpu.regs.msr = value
        else:
            setattr(vcpu, name, value)
    return vcpu


# --------------------------------------------------------------------- the repro
def test_the_code_shares_its_l1_page_with_the_l2_tables():
    l0, gp = warmed()
    t = translate(l0.mem.copy(), cpu_of(l0, gp), CODE_EA, "fetch", update_rc=False)
    tables = [(s.tree, s.entry_addr) for s in t.steps if s.tree in ("process", "process-table")]
    assert tables == [
        ("process-table", 0x100010),  # PRTE[1]
        ("process", 0x110000),  # root (13 bits, 64 KiB)
        ("process", 0x120000),  # L1 directory
        ("process", 0x121000),  # L2 directory
        ("process", 0x122080),  # PTE of EA 0x10000 (index 0x10)
    ]
    assert {a & -C.PAGE_64K for _, a in tables[2:]} == {TABLE_PAGE} == {CODE_GPA & -C.PAGE_64K}


def test_pynest_livelocks_as_a_4_20_l0_on_power9_would():
    l0, vm, l1, l2 = world()
    l1.load_program(l2, Program((Spin(1), Hcall(H_CEDE)), entry=CODE_EA))
    mark = l0.events.mark()
    res = l1.run_l2(l2, max_entries=3)
    events = l0.events.since(mark)
    assert res.returns == (0, 0, 0) and res.stopped == "max_entries reached"
    assert [e.detail for e in events if e.kind == "hcall-return"] == ["H_INTERRUPT"] * 3
    assert not [e for e in events if e.kind in ("reflect", "l1-handle")]  # L1 never told
    starts = [i for i, e in enumerate(events) if e.kind == "enter"] + [len(events)]
    per_entry = [events[a:b] for a, b in zip(starts, starts[1:], strict=False)]
    pairs = (MAX_RESUMES - 3) // 2  # 498 with MAX_RESUMES = 1000
    traps = [[e.trap for e in ev if e.kind == "exit"] for ev in per_entry]
    assert traps[0] == [0xE00] * 3 + [0xE20, 0xE00] * pairs + [0xE20]
    assert traps[1] == traps[2] == [0xE00, 0xE20] * (MAX_RESUMES // 2)
    inserts = [[e.gpa for e in ev if e.kind == "shadow-insert"] for ev in per_entry]
    removes = [[e.gpa for e in ev if e.kind == "shadow-remove"] for ev in per_entry]
    assert inserts[0] == [0x100000, 0x110000] + [TABLE_PAGE] * (pairs + 1)  # 501
    assert removes[0] == [TABLE_PAGE] * (pairs + 1)  # 499
    assert inserts[1] == removes[1] == inserts[2] == removes[2] == [TABLE_PAGE] * 500
    assert sum(map(len, inserts)) == 1501 and sum(map(len, removes)) == 1499
    faults = [e for e in events if e.kind == "nested-fault"]
    assert {e.dsisr for e in faults} == {HDSI_TABLE_MISS}  # every insert: a table read
    # the last exit was the fetch's HISI: its HSRR1 cause bits stay in the L2's MSR
    assert l2.regs.nip == CODE_EA
    assert l2.regs.msr & C.SRR1_INTERRUPT_MASK == C.SRR1_NOEXEC_GUARD


# ------------------------------------------------------- the two halves of the loop
def test_the_fetch_is_an_hisi_and_4_20_drops_the_shadow_pte():
    l0, gp = warmed()
    t = S.hw_translate(l0, cpu_of(l0, gp), CODE_EA, "fetch")
    f = t.fault
    assert f is not None and f.interrupt == "HISI"
    assert (f.hsrr0, f.hsrr1, f.asdr) == (CODE_EA, IMAGE | C.SRR1_NOEXEC_GUARD, CODE_GPA)
    vcpu = nested_vcpu(gp, 0xE20, msr=f.hsrr1, fault_gpa=f.asdr)
    assert handle_nested_exit(vcpu) == RESUME_GUEST  # inval: not reflected
    assert vcpu.fault_dsisr == SRR1_ISI_N_G_OR_CIP  # what the L1 would have been told
    assert shadowed(gp) == [0x100000, 0x110000]


def test_the_retry_is_an_hdsi_for_the_table_read_and_4_20_reinserts():
    l0, gp = warmed()
    invalidate_shadow_pte(gp, TABLE_PAGE)
    t = S.hw_translate(l0, cpu_of(l0, gp), CODE_EA, "fetch")
    f = t.fault
    assert f is not None and f.interrupt == "HDSI"
    assert (f.hdsisr, f.hdar, f.asdr, f.hsrr1) == (HDSI_TABLE_MISS, CODE_EA, 0x120000, IMAGE)
    assert any(NOTE in n for n in t.notes)
    qemu = translate(l0.mem.copy(), cpu_of(l0, gp), CODE_EA, "fetch")
    assert qemu.fault == f  # QEMU 7.2 says the same
    vcpu = nested_vcpu(gp, 0xE00, fault_dar=f.hdar, fault_dsisr=f.hdsisr, fault_gpa=f.asdr)
    assert handle_nested_exit(vcpu) == RESUME_GUEST
    (pte,) = [p for p in shadow_ptes(gp) if p.gpa == TABLE_PAGE]
    assert pte.pte & 0x7 == _PAGE_READ | _PAGE_WRITE  # no execute: the HISI comes back


def test_an_hisi_with_prtable_would_have_been_reflected():
    """The counterfactual: had POWER9 reported the table read as HISI[PRTABLE], 4.20's
    trap-0xE20 branch would check execute on the table page and reflect at once, with
    N_G in HSRR1 and the table's address in ASDR."""
    _l0, gp = warmed()
    invalidate_shadow_pte(gp, TABLE_PAGE)
    vcpu = nested_vcpu(gp, 0xE20, msr=IMAGE | HDSI_TABLE_MISS, fault_gpa=0x120000)
    assert handle_nested_exit(vcpu) == RESUME_HOST
    assert vcpu.fault_dsisr == SRR1_ISI_N_G_OR_CIP
    assert vcpu.regs.msr == IMAGE | SRR1_ISI_N_G_OR_CIP
    assert vcpu.fault_gpa == 0x120000
    assert shadowed(gp) == [0x100000, 0x110000]  # nothing inserted


# ------------------------------------------------------------------ contrasts
def test_a_linux_l1_maps_with_execute_and_the_l2_runs():
    l0, vm, l1, l2 = world(perms="rwx")
    l1.load_program(l2, Program((Spin(1), Hcall(H_CEDE)), entry=CODE_EA))
    mark = l0.events.mark()
    res = l1.run_l2(l2, max_entries=3)
    assert res.stopped == "ceded" and res.returns == (0xC00,)
    events = l0.events.since(mark)
    assert [e.gpa for e in events if e.kind == "shadow-insert"] == [0x100000, 0x110000, 0x120000]
    assert not [e for e in events if e.kind == "shadow-remove"]


def test_code_away_from_the_tables_is_reflected():
    """Code in an L2 page with no tables: the fetch is the first fault of every try, so
    4.20 checks execute on the code page and reflects (NOHPTE first, while the L1 has
    not mapped the page; then N_G). The L1 hands the L2 an ISI (skips the op)."""
    l0, vm, l1, l2 = world(code_gpa=0x500000)
    l1.load_program(l2, Program((Spin(1), Hcall(H_CEDE)), entry=CODE_EA))
    mark = l0.events.mark()
    res = l1.run_l2(l2, max_entries=3)
    events = l0.events.since(mark)
    assert res.returns == (0xE20, 0xE20, 0xE20)
    reflects = [(e.trap, e.dsisr) for e in events if e.kind == "reflect"]
    assert reflects == [(0xE20, C.DSISR_NOPTE)] + [(0xE20, C.SRR1_NOEXEC_GUARD)] * 2
    assert not [e for e in events if e.kind == "shadow-remove"]


def test_a_store_into_a_read_only_table_page_livelocks_too():
    """No fetch at all: an L2 store to its table page, which the L1 maps read-only. The
    store's HDSI (PROTFAULT | ISSTORE) finds a shadow PTE the L1 does not allow: inval;
    the retry's first fault is the walk's table read (an HDSI without ISSTORE, so L0
    checks read) and the PTE is back. The loop is 4.20's inval path, not the fetch."""
    l0 = L0()
    vm = l0.create_l1(256 << 20)
    l1 = L1(vm)
    assert l1.nested_init() == 0
    l2 = l1.create_l2(16 << 20, perms="r")
    for gpa in range(0, 16 << 20, C.PAGE_2M):
        l1.l2_map(l2, LINEAR_EA + gpa, gpa, C.PAGE_2M, "rw", pid=0)
    l1.load_program(
        l2, Program((Store(LINEAR_EA + CODE_GPA, 5), Hcall(H_CEDE)), entry=CODE_EA, fetch=False)
    )
    mark = l0.events.mark()
    res = l1.run_l2(l2, max_entries=2)
    events = l0.events.since(mark)
    assert res.returns == (0, 0) and not [e for e in events if e.kind == "reflect"]
    assert {e.trap for e in events if e.kind == "exit"} == {0xE00}
    assert {e.dsisr for e in events if e.kind == "nested-fault"} == {HDSI_TABLE_MISS}
    inserts = [e.gpa for e in events if e.kind == "shadow-insert"]
    removes = [e.gpa for e in events if e.kind == "shadow-remove"]
    assert inserts[:2] == [0x100000, 0x110000] and set(inserts[2:]) == set(removes) == {TABLE_PAGE}
    assert (len(inserts), len(removes)) == (MAX_RESUMES + 1, MAX_RESUMES - 1)  # 1001, 999


# --------------------------------------------- property: hw_translate vs translate
POOL = (
    CODE_EA,
    CODE_EA + 0x40,
    0x20000,  # no process mapping: ISI/DSI from the L2's own tables
    *(LINEAR_EA + g for g in (0x100010, 0x110000, 0x120008, 0x12F000, 0x500000, 0x900008)),
)
DATA_PAGES = (LINEAR_EA + 0x500000, LINEAR_EA + 0x900008)
# warm-up stores stay out of the table pages: a store there that the L1 does not allow
# livelocks too (test_a_store_into_a_read_only_table_page_livelocks_too)
WARM = st.lists(
    st.one_of(
        st.tuples(st.just("load"), st.sampled_from(POOL[3:])),
        st.tuples(st.just("store"), st.sampled_from(DATA_PAGES)),
    ),
    max_size=4,
)


@functools.lru_cache(maxsize=64)
def warm_world(perms: str, set_rc: bool, kernel: str, warm: tuple):
    """An L1 world after the L2 ran ``warm`` (data accesses, fetches not translated):
    shadow PTEs with assorted rights and R/C (5.0 copies the L1's R/C, 4.20 L0's)."""
    l0 = L0(kernel=kernel)
    vm = l0.create_l1(256 << 20)
    l1 = L1(vm)
    assert l1.nested_init() == 0
    l2 = l1.create_l2(16 << 20, perms=perms, set_rc=set_rc)
    l1.l2_map(l2, CODE_EA, CODE_GPA, 0x1000, "rx")
    for gpa in range(0, 16 << 20, C.PAGE_2M):
        l1.l2_map(l2, LINEAR_EA + gpa, gpa, C.PAGE_2M, "rw", pid=0)
    ops = [Load(ea) if kind == "load" else Store(ea, 7) for kind, ea in warm]
    l1.load_program(l2, Program((*ops, Hcall(H_CEDE)), entry=CODE_EA, fetch=False))
    l1.run_l2(l2, max_entries=16)
    return l0, vm.nested.find(l2.l1_lpid)


def compare(l0, gp, ea: int, access: str):
    cpu = cpu_of(l0, gp)
    mq, mh = l0.mem.copy(), l0.mem.copy()
    tq = translate(mq, cpu, ea, access)  # QEMU 7.2: sets partition-scoped R/C itself
    th = S.hw_translate(SimpleNamespace(mem=mh, tlb=Tlb()), cpu, ea, access)  # type: ignore[arg-type]
    return tq, th, mq, mh


@settings(max_examples=80, deadline=None)
@given(
    perms=st.sampled_from(("r", "rw", "rx", "rwx")),
    set_rc=st.booleans(),
    kernel=st.sampled_from(("4.20", "5.0")),
    warm=WARM,
    ea=st.sampled_from(POOL),
    access=st.sampled_from(("load", "store", "fetch")),
)
def test_hw_translate_is_translate_but_for_partition_scoped_rc(
    perms, set_rc, kernel, warm, ea, access
):
    l0, gp = warm_world(perms, set_rc, kernel, tuple(warm))
    tq, th, mq, mh = compare(l0, gp, ea, access)
    part = [u for u in tq.rc_updates if u.tree == "partition"]
    if not part:  # no POWER9 rule applies: the same answer and the same memory
        assert (th.fault, th.ra, th.page_size) == (tq.fault, tq.ra, tq.page_size)
        assert dict(mh.written()) == dict(mq.written())
    else:  # the documented rule: R/C not set, HDSI/HISI[ATOMIC_RC] instead
        f = th.fault
        assert th.ra is None and f is not None and f.cause & C.DSISR_ATOMIC_RC
        if f.interrupt == "HISI":
            assert access == "fetch" and not f.cause & C.DSISR_PRTABLE_FAULT
        else:
            assert f.interrupt == "HDSI" and f.hdar == ea
        undone = {u.hra for u in part}
        assert all(mh.load64(u.hra) == u.old for u in part)
        rest = {a: v for a, v in mh.written() if a not in undone}
        assert rest == {a: v for a, v in mq.written() if a not in undone}
    f = th.fault
    if access == "fetch" and f is not None and f.cause & C.DSISR_PRTABLE_FAULT:
        assert f.interrupt == "HDSI" and f.hdar == ea and not f.cause & C.DSISR_ISSTORE
        assert any(NOTE in n for n in th.notes)


def test_the_property_sees_both_branches():
    """Hand-picked draws of the property: a fetch's table miss (no rule: both HDSI) and
    a store needing C in a 5.0 shadow PTE (the rule: HDSI[ATOMIC_RC], C left clear)."""
    l0, gp = warm_world("rw", True, "4.20", ())
    tq, th, _, _ = compare(l0, gp, CODE_EA, "fetch")
    assert not tq.rc_updates and th.fault == tq.fault
    assert (th.fault.interrupt, th.fault.cause) == ("HDSI", HDSI_TABLE_MISS)
    l0, gp = warm_world("rw", True, "5.0", (("load", LINEAR_EA + 0x500000),))
    tq, th, mq, mh = compare(l0, gp, LINEAR_EA + 0x500000, "store")
    (u,) = [u for u in tq.rc_updates if u.tree == "partition"]
    assert tq.ok and (u.new ^ u.old) == C.PTE_C
    assert th.fault.interrupt == "HDSI"
    assert th.fault.hdsisr == C.DSISR_ATOMIC_RC | C.DSISR_ISSTORE
    assert mh.load64(u.hra) == u.old and mq.load64(u.hra) == u.new
