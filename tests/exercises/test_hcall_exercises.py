"""The hcall exercises of notebooks 05 and 12, and the model facts they rest on.

Hand-checked vectors: kvmhv_set_partition_table accepts PRTS 0..4 (at most 4096
entries) with the base's 64 KiB frame inside the L1's memslot, and nothing else; PTCR 0
deregisters; a table may straddle the end of memory or be misaligned (only the base
page is checked). The IDR estimate is 24 bytes + 576 per xarray node.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pynest.errors import FieldError
from pynest.exercises import generate
from pynest.exercises.hcalls import (
    GENERATORS,
    SET_PTBL_CASES,
    ReturnCodeAnswer,
    idr_nodes,
    nested_cost,
    set_ptbl,
    set_ptbl_case,
)
from pynest.kvm.hcalls import H_FUNCTION, H_PARAMETER, H_SUCCESS
from pynest.kvm.host import L0
from pynest.kvm.l1 import L1, ptb_order_and_ptcr
from pynest.kvm.nested_table import idr_memory_cost
from pynest.scenarios.set_ptbl import set_ptbl_outcome

MB = 1 << 20


@pytest.fixture(scope="module")
def vm():
    return L0().create_l1(256 * MB)


@pytest.mark.parametrize(
    ("ptcr", "rc"),
    [
        (0x1004002, H_SUCCESS),  # 4.20 nested_init: 16 KiB at 16 MiB + 16 KiB
        (0x1000004, H_SUCCESS),  # PRTS 4: 4096 entries, the limit
        (0x1000005, H_PARAMETER),  # PRTS 5: 8192 entries
        (0x100001F, H_PARAMETER),
        (0x0, H_SUCCESS),  # deregister
        (0xFFF0000, H_SUCCESS),  # last 64 KiB frame of 256 MiB
        (0xFFFF004, H_SUCCESS),  # base in the last frame, table runs past the end
        (0x10000000, H_PARAMETER),  # first frame past the end
        (0x1004003, H_SUCCESS),  # misaligned 32 KiB table: not checked
        (0xF000000001004002, H_SUCCESS),  # bits above PRTB are masked off the gfn
        (0x1004FE2, H_SUCCESS),  # bits 5..11 are neither PRTB nor PRTS
    ],
)
def test_set_partition_table_vectors(vm, ptcr, rc):
    vm.l1_ptcr = 0x1234000
    out = set_ptbl_outcome(vm, ptcr)
    assert out.rc == rc
    assert out.ptcr_after == (ptcr if rc == H_SUCCESS else 0x1234000)
    assert out.r3 == rc & (2**64 - 1)


def test_nesting_off_is_h_function():
    vm = L0().create_l1(256 * MB, nesting=False)
    out = set_ptbl_outcome(vm, 0x1004002)
    assert out.rc == H_FUNCTION and not out.reached_handler
    assert "KVM_CAP_PPC_NESTED_HV" in out.reasons()[0]
    assert out.ptcr_after == 0


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**64 - 1), st.sampled_from([128 * MB, 256 * MB]))
def test_success_iff_both_checks_pass(ptcr, mem):
    vm = _vms[mem]
    vm.l1_ptcr = 0x5550000
    out = set_ptbl_outcome(vm, ptcr)
    passes = (ptcr & 0x1F) <= 4 and ((ptcr & 0x0FFF_FFFF_FFFF_F000) >> 16) < mem >> 16
    assert (out.rc == H_SUCCESS) == passes
    assert out.rc in (H_SUCCESS, H_PARAMETER)
    assert vm.l1_ptcr == (ptcr if passes else 0x5550000)
    assert out.dropped == ()


_vms = {m: L0().create_l1(m) for m in (128 * MB, 256 * MB)}


def test_existing_nested_guests_are_kept():
    from pynest.scenarios import two_l2s

    w = two_l2s(0, run=True)
    before = sorted(lp for lp, _ in w.vm.nested.items())
    out = set_ptbl_outcome(w.vm, 0)
    assert before == [1, 2] and out.nested_after == (1, 2) and out.dropped == ()
    assert out.max_nested_lpid_after == out.max_nested_lpid_before == 2
    assert w.vm.l1_ptcr == 0


def test_nested_init_values():
    assert ptb_order_and_ptcr(0x1004000) == (16384, 0x1004002)
    assert ptb_order_and_ptcr(0x1010000, "5.19") == (65536, 0x1010004)
    l0 = L0()
    l1 = L1(l0.create_l1(256 * MB))
    assert l1.nested_init() == H_SUCCESS and l1.vm.l1_ptcr == l1.ptcr == 0x1004002
    hcalls = [e for e in l0.events if e.kind == "hcall"]
    assert [e.hcall for e in hcalls] == ["H_SET_PARTITION_TABLE"]


def test_bare_metal_nested_init_does_nothing():
    l0 = L0()
    n_events = len(l0.events)
    assert l0.nested_init() == 0
    assert len(l0.events) == n_events  # no hcall, no table


# ------------------------------------------------------------------ return-code answers
@pytest.mark.parametrize(
    "text", ["H_PARAMETER", "h_parameter", "parameter", "-4", "0xfffffffffffffffc", -4]
)
def test_return_code_answer_accepts_name_or_value(text):
    assert ReturnCodeAnswer(H_PARAMETER).check(text)[0]


@pytest.mark.parametrize("text", ["", "zebra", None, 3.5, True, "H_NOPE"])
def test_return_code_answer_garbage(text):
    ok, msg = ReturnCodeAnswer(H_PARAMETER).check(text)
    assert not ok and "Not understood" in msg


def test_return_code_answer_wrong_names_the_code():
    ok, msg = ReturnCodeAnswer(H_SUCCESS).check("-4")
    assert not ok and "H_PARAMETER" in msg


# ------------------------------------------------------------------ set_ptbl exercises
@pytest.mark.parametrize("case", SET_PTBL_CASES)
def test_every_case_matches_the_model(case):
    ex = set_ptbl_case(case, seed=3)
    want = {
        "ok": H_SUCCESS,
        "prts": H_PARAMETER,
        "beyond": H_PARAMETER,
        "straddle": H_SUCCESS,
        "zero": H_SUCCESS,
        "nesting-off": H_FUNCTION,
        "unaligned": H_SUCCESS,
    }[case]
    assert ex.answer.value == want
    assert ex.check(str(want))[0]
    assert "r4 = 0x" in ex.question and "Answer:" in ex.reveal()


def test_set_ptbl_is_seeded():
    assert set_ptbl(5).question == set_ptbl(5).question
    assert len({set_ptbl(s).question for s in range(12)}) > 6
    codes = {set_ptbl(s).answer.value for s in range(40)}
    assert codes == {H_SUCCESS, H_PARAMETER, H_FUNCTION}


def test_set_ptbl_check_never_raises():
    ex = set_ptbl(1)
    for answer in ("", "0x", "-", object(), 2**70):
        ok, msg = ex.check(answer)
        assert isinstance(msg, str)


# ------------------------------------------------------------------ nested_cost
def test_idr_estimate_vectors():
    assert idr_memory_cost([]) == 24
    assert idr_memory_cost([1, 2, 63]) == 24 + 576
    assert idr_memory_cost([1, 64]) == 24 + 3 * 576  # two leaves + the node above
    assert idr_nodes([1, 64, 4095]) == [3, 1]


def test_nested_cost_answer_is_the_model_estimate():
    for seed in range(10):
        ex = nested_cost(seed)
        lpids = eval(ex.question.split("lpids ")[1].split(".\n")[0])  # the list shown
        assert ex.answer.value == idr_memory_cost(lpids)
        assert ex.check(str(idr_memory_cost(lpids)))[0]
        assert not ex.check("8196")[0] or idr_memory_cost(lpids) == 8196


def test_generate_and_kinds():
    assert set(GENERATORS) == {"set_ptbl", "nested_cost"}
    assert generate("set_ptbl", 2).question == set_ptbl(2).question
    with pytest.raises(FieldError):
        generate("nope")
    with pytest.raises(FieldError):
        generate("set_ptbl", "1")
    with pytest.raises(FieldError):
        set_ptbl_case("nope")
