"""Regression: a store to an L2 page whose shadow PTE also maps the L2's page tables.

hw_translate used to name the first partition-scoped walk through the updated shadow
PTE as the one needing R/C. When that PTE also maps a table the walk read earlier (with
R already set), the C the store needs was reported as a table read's R (PRTABLE_FAULT,
no ISSTORE); L0 then set only R and the L2 faulted again, for ever (H_INTERRUPT after
MAX_RESUMES re-entries).

The HDSI exists only where the shadow PTE's R/C follow the L1's PTE: Linux 5.0 (row
"nested-rc" of pynest.kvm.versions), so these worlds run an L0 with kernel="5.0". Under
4.20 the shadow PTE takes R and C from L0's own PTE and the store needs no R/C update at
all (the last test).
"""

from pynest.kvm import shadow as S
from pynest.kvm.hcalls import H_CEDE
from pynest.kvm.host import L1_LPCR
from pynest.kvm.program import Hcall, Load, Program, Store
from pynest.mmu import constants as C
from pynest.mmu.xlate import CpuState
from pynest.scenarios.shadow import CODE_EA, LINEAR_EA, shadow_world

SPARE = 0x12F000  # in the 64K L2 page 0x120000, past the L2's last table (0x122000)


def run(w, op):
    w.l1.load_program(w.l2, Program((op, Hcall(H_CEDE)), entry=CODE_EA, fetch=False))
    mark = w.l0.events.mark()
    res = w.l1.run_l2(w.l2)
    return res, w.l0.events.since(mark)


def test_store_into_the_page_holding_the_l2_tables_completes():
    w = shadow_world(l0_kernel="5.0")
    assert w.l2.alloc.next <= SPARE < 0x130000
    # the first load shadows the page (tables and SPARE alike) with R but not C
    assert run(w, Load(LINEAR_EA + SPARE))[0].stopped == "ceded"
    res, events = run(w, Store(LINEAR_EA + SPARE, 0x1234))
    assert res.stopped == "ceded" and res.returns == (0xC00,)
    hpa = w.vm.mem_base + w.l2.l1_gpa_base + SPARE
    assert [e.hpa for e in events if e.kind == "l2-access"] == [hpa]
    assert w.l0.mem.read_u64(hpa) == 0x1234
    updates = [e.detail for e in events if e.kind == "rc-update"]
    assert updates == [
        f"R+C in L0 PTE of the L1 @ {w.l2.l1_gpa_base + SPARE:#x}",
        f"R+C in shadow PTE @ {SPARE:#x}",
    ]


def test_the_hdsi_names_the_store_not_the_table_read():
    w = shadow_world(l0_kernel="5.0")
    run(w, Load(LINEAR_EA + SPARE))
    gp = w.gp
    cpu = CpuState(
        ptcr=w.l0.ptcr, lpidr=gp.shadow_lpid, pidr=0, lpcr=L1_LPCR, msr=C.MSR_GUEST_KERNEL
    )
    before = list(w.l0.mem.written())
    t = S.hw_translate(w.l0, cpu, LINEAR_EA + SPARE, "store")
    assert t.fault is not None and t.fault.interrupt == "HDSI"
    assert t.fault.hdsisr == C.DSISR_ATOMIC_RC | C.DSISR_ISSTORE  # no PRTABLE_FAULT
    assert t.fault.asdr == SPARE  # the data address, not a table's
    assert list(w.l0.mem.written()) == before  # the R/C update was undone


def test_under_4_20_the_store_needs_no_rc_update():
    """4.20: the first load's shadow PTE got R and C from L0's PTE (which the L1's page
    has after L0 instantiated it for the L2's table walk), so the store completes
    without an HDSI, and nothing sets the L1's C bit (the bug 5.0 fixed)."""
    w = shadow_world()
    assert w.l0.kernel == "4.20"
    assert run(w, Load(LINEAR_EA + SPARE))[0].stopped == "ceded"
    res, events = run(w, Store(LINEAR_EA + SPARE, 0x1234))
    assert res.stopped == "ceded" and res.returns == (0xC00,)
    assert [e.kind for e in events if e.kind in ("rc-update", "nested-fault")] == []
    assert [e.trap for e in events if e.kind == "reflect"] == [0xC00]  # only the H_CEDE
    assert w.l0.mem.read_u64(w.vm.mem_base + w.l2.l1_gpa_base + SPARE) == 0x1234
