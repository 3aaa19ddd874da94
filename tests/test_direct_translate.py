"""scenarios.direct_translate against the real thing: the host address an L2 load reaches
through L0's shadow tables (the 'l2-access' event)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from pynest.kvm.hcalls import H_CEDE
from pynest.kvm.host import L0
from pynest.kvm.l1 import L1
from pynest.kvm.program import Hcall, Load, Program
from pynest.mmu import constants as C
from pynest.scenarios import direct_translate

CODE = 0x10000
EA = 0x1000_0000


def _world():
    l0 = L0()
    l1 = L1(l0.create_l1(256 << 20))
    assert l1.nested_init() == 0
    l2 = l1.create_l2(16 << 20)
    l1.l2_map(l2, CODE, 0x300000, C.PAGE_4K, "x")
    return l0, l1, l2


def _load(l0, l1, l2, ea):
    l1.load_program(l2, Program((Load(ea), Hcall(H_CEDE)), entry=CODE))
    mark = l0.events.mark()
    assert l1.run_l2(l2).stopped == "ceded"
    hits = [e.hpa for e in l0.events.since(mark) if e.kind == "l2-access"]
    return hits[0] if hits else None


def test_rpn_bits_52_to_56_select_nothing():
    """The issue's repro: a process PTE RPN with bit 52 set; the load lands at host
    0x14800000 = the L1's allotment (0x10000000) + the L2's base in the L1 (0x4000000)
    + L2 real 0x800000, and direct_translate says the same."""
    l0, l1, l2 = _world()
    l1.process_tree(l2).map(EA, (1 << 52) | 0x800000, C.PAGE_4K, "rw", r=True, c=True)
    l1.map_l2_page(l2, 0x800000)
    assert l1.vm.mem_base == 0x1000_0000 and l2.l1_gpa_base == 0x400_0000
    assert _load(l0, l1, l2, EA) == 0x1480_0000
    assert direct_translate(l1, l2, EA) == 0x1480_0000


_L2_FREE = (0x40_0000, 0x100_0000)  # L2 real past its tables (1-4 MiB) and code


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    size=st.sampled_from([C.PAGE_4K, C.PAGE_64K, C.PAGE_2M]),
    ea_2m=st.integers(1, (1 << 31) - 1),
    page=st.integers(0, (_L2_FREE[1] - _L2_FREE[0]) // C.PAGE_4K - 1),
    high=st.integers(0, 31),
    offset=st.integers(0, (1 << 21) - 8),
    mapped=st.booleans(),
    l1_first=st.booleans(),
)
def test_direct_translate_is_where_the_load_lands(
    size, ea_2m, page, high, offset, mapped, l1_first
):
    """Random quadrant-0 EA (any 2 MiB region but the code's), random L2 real page in
    the L2's free memory, RPN bits 52-56 random, process mapping or none, the L1's page
    mapped before the run or left to the L1's fault handler (which maps it for a plain
    L2 real address and, seeing an address past the L2's memory when bits 52-56 are
    set, gives the L2 a storage interrupt instead). After the run, direct_translate is
    where the load went, and None exactly when it went nowhere."""
    l0, l1, l2 = _world()
    base = ea_2m << 21
    gpa = (_L2_FREE[0] + page * C.PAGE_4K) & -size
    ea = base + (offset & (size - 1) & ~7)
    if mapped:
        l1.process_tree(l2).map(base, (high << 52) | gpa, size, "rw", r=True, c=True)
        if l1_first:
            l1.map_l2_page(l2, gpa + (ea - base))
    landed = _load(l0, l1, l2, ea)
    if mapped and (l1_first or not high):
        assert landed == l1.vm.mem_base + l2.l1_gpa_base + gpa + (ea - base)
    else:
        assert landed is None
    assert direct_translate(l1, l2, ea) == landed


def test_a_process_root_of_another_shape_maps_nothing():
    """The PRTE names the tree: with RPDS 12 (2^12 root entries, not POWER9's 2^13) the
    hardware walk faults at the root, so the L2's load reaches no host page, and
    direct_translate, reading the same PRTE, finds nothing either (it used to build the
    tree from the L1's bookkeeping and translate anyway). The same world with RPDS 13
    is the control."""
    for rpds, landed in ((13, 0x1480_0000), (12, None)):
        l0, l1, l2 = _world()
        l1.process_tree(l2).map(EA, 0x800000, C.PAGE_4K, "rw", r=True, c=True)
        l1.map_l2_page(l2, 0x800000)
        prte = l2.prtab.base + 16 * l2.pid
        dw0 = l2.space.read_u64(prte)
        assert dw0 & C.RPDS_MASK == 13
        l2.space.write_u64(prte, dw0 & ~C.RPDS_MASK | rpds)
        l1.load_program(l2, Program((Load(EA), Hcall(H_CEDE)), entry=CODE))
        mark = l0.events.mark()
        stopped = l1.run_l2(l2).stopped
        hits = [e.hpa for e in l0.events.since(mark) if e.kind == "l2-access"]
        # RPDS 12: even the instruction fetch faults (the L2 takes an ISI and runs off)
        assert (stopped, hits) == (("ceded", [landed]) if landed else ("ran past its program", []))
        assert direct_translate(l1, l2, EA) == landed


def test_a_pid_past_the_process_table_maps_nothing():
    """PRTS 0: a 4 KiB process table holds PIDs 0..255 (QEMU 7.2 faults at offset >=
    size); PID 256 names no entry even where memory after the table holds one."""
    _l0, l1, l2 = _world()
    assert l2.prtab.dw1 & C.PRTS_MASK == 0
    assert direct_translate(l1, l2, EA, pid=255) is None  # in range, empty entry
    l1.process_tree(l2, 255).map(EA, 0x800000, C.PAGE_4K, "rw", r=True, c=True)
    l1.map_l2_page(l2, 0x800000)
    l1.vm.instantiate_page(l2.l1_gpa_base + 0x800000, writing=False)  # L0 backs the page
    assert direct_translate(l1, l2, EA, pid=255) == 0x1480_0000
    past = l2.prtab.base + 16 * 256  # what a PID-256 entry would be, past the table
    l2.space.write_u64(past, l2.space.read_u64(l2.prtab.base + 16 * 255))
    assert direct_translate(l1, l2, EA, pid=256) is None
