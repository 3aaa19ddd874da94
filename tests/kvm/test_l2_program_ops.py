"""L2 program ops accept only what an instruction could encode (issue 13, D): a bad
operand is refused when the op is built, with a pynest error naming it, so nothing
reaches H_ENTER_NESTED that would raise inside it or move L0's timebase backwards."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pynest.errors import PynestError
from pynest.kvm.hcalls import H_CEDE
from pynest.kvm.program import Hcall, Load, Program, Spin, Store
from pynest.scenarios import one_l1

U64 = (1 << 64) - 1


@pytest.mark.parametrize(
    "build, operand",
    [
        (lambda: Load(0x1000, rt=32), "Load rt"),
        (lambda: Load(0x1000, rt=-1), "Load rt"),
        (lambda: Load(1 << 64), "Load ea"),
        (lambda: Spin("x"), "Spin ticks"),
        (lambda: Spin(-5), "Spin ticks"),
        (lambda: Spin(0.5), "Spin ticks"),
        (lambda: Spin(True), "Spin ticks"),
        (lambda: Hcall("x"), "Hcall nr"),
        (lambda: Hcall(H_CEDE, (1,) * 10), "Hcall args"),
        (lambda: Hcall(H_CEDE, [1]), "Hcall args"),
        (lambda: Hcall(H_CEDE, (1 << 64,)), "Hcall r4"),
        (lambda: Store(0x1000, 1 << 64), "Store value"),
        (lambda: Store(0x1000, -(1 << 63) - 1), "Store value"),
        (lambda: Store(-8, 0), "Store ea"),
    ],
)
def test_bad_operands_are_refused_when_built(build, operand):
    with pytest.raises(PynestError, match=operand):
        build()


def test_register_values_may_be_written_signed():
    assert Store(0, -1).value == -1 and Hcall(H_CEDE, (-1, U64)).args == (-1, U64)
    assert Spin(0).ticks == 0 and Load(0, rt=31).rt == 31


@settings(max_examples=15, deadline=None, derandomize=True)
@given(
    rt=st.integers(0, 31),
    ticks=st.integers(0, 50),
    value=st.integers(-(1 << 63), U64),
    args=st.lists(st.integers(-(1 << 63), U64), max_size=9),
)
def test_every_op_that_builds_runs(rt, ticks, value, args):
    """Whatever builds runs through H_ENTER_NESTED without an exception, and the
    timebase never goes backwards."""
    w = one_l1()
    l1 = w.l1
    l2 = l1.create_l2(16 << 20)
    l1.l2_map(l2, 0x10000, 0x300000, 0x1000, "x")
    l1.l2_map(l2, 0x2000_0000, 0x200000, 0x1000, "rw")
    ops = (
        Store(0x2000_0000, value),
        Load(0x2000_0000, rt=rt),
        Spin(ticks),
        Hcall(0xF810, tuple(args)),  # not the L1's: it answers H_FUNCTION and re-enters
        Hcall(H_CEDE),
    )
    l1.load_program(l2, Program(ops, entry=0x10000))
    before = w.l0.timebase
    res = l1.run_l2(l2)
    assert res.stopped == "ceded"
    if rt not in range(3, 4 + len(args)):  # not overwritten by the hcalls' r3, r4..
        assert l2.regs.gpr[rt] == value & U64
    assert w.l0.timebase >= before + ticks
    assert w.l0.mem.read_u64(w.vm.mem_base + l2.l1_gpa_base + 0x200000) == value & U64
