"""Notebook 07's request exercises: kind enter_rc (what r3 holds after an H_ENTER_NESTED
that may break one of L0's checks) and kind sanitise (DAWRX0 / CIABR after
sanitise_hv_regs). Answers come from the model's hcall; these tests hold them against
the kernel's rules as the questions state them."""

import re

import pytest

from pynest.errors import FieldError
from pynest.exercises import GENERATORS, generate
from pynest.exercises.enter_request import (
    RC_CASES,
    R3Answer,
    enter_rc_case,
    enter_rc_exercise,
    sanitise_exercise,
)
from pynest.kvm import guest_state as G
from pynest.kvm.hcalls import H_BAD_MODE, H_FUNCTION, H_NOT_AVAILABLE, H_P2, H_PARAMETER

SEEDS = range(4)


def _kernel(ex):
    return re.search(r"L0 runs Linux (\d+\.\d+)", ex.question).group(1)


def test_registered_and_reachable_by_kind():
    assert GENERATORS["enter-rc"] is enter_rc_exercise
    assert GENERATORS["sanitise"] is sanitise_exercise
    for kind in ("enter-rc", "enter_rc", "sanitise"):
        ex = generate(kind, 7)
        assert ex.question and ex.reveal().startswith("Answer: ")


def test_pure_functions_of_the_seed():
    for gen in (enter_rc_exercise, sanitise_exercise):
        a, b = gen(11), gen(11)
        assert (a.question, str(a.answer), a.solution) == (b.question, str(b.answer), b.solution)


def test_unknown_case_is_a_field_error():
    with pytest.raises(FieldError, match="unknown case"):
        enter_rc_case("nope")


@pytest.mark.parametrize("case", RC_CASES)
def test_each_request_gets_the_kernels_answer(case):
    for seed in SEEDS:
        ex = enter_rc_case(case, seed)
        kernel, r3 = _kernel(ex), ex.answer.value
        want = {
            "nesting-off": H_FUNCTION,
            "no-ptcr": H_NOT_AVAILABLE,
            "hv-ptr": H_PARAMETER,
            "regs-ptr": H_PARAMETER,
            "token": H_PARAMETER,
            "lpid": H_PARAMETER,
            "version": H_P2,
            "version-first": H_P2,  # 4.20/5.0 check the version before reading r5
            "trap": 0xC00,  # the L2's sc 1 goes to the L1
            "hdec": 0x980,  # the deadline has come before the first entry
            "mmio": 0 if kernel == "5.0" else 0xE00,  # H_TOO_HARD reaches the L1 as 0
            "tm": H_BAD_MODE if kernel == "5.14" else 0xC00,
        }[case]
        assert r3 == want, (case, seed, kernel, ex.solution)
        assert kernel in (("4.20", "5.14") if case == "tm" else ("4.20", "5.0"))


def test_the_questions_vary():
    exs = [enter_rc_exercise(s) for s in range(60)]
    answers = {ex.answer.value for ex in exs}
    assert len(answers) >= 6, answers
    mmio = [enter_rc_case("mmio", s) for s in range(8)]
    assert {_kernel(ex) for ex in mmio} == {"4.20", "5.0"}  # the version matters here


def test_r3_spellings():
    trap = R3Answer(0xC00)
    for text in ("0xc00", "0xC00", "3072", "trap 0xc00", "trap 0xc00 (3072)", str(trap)):
        assert trap.check(text)[0], text
    assert not trap.check("trap 0xc00 (3000)")[0]
    code = R3Answer(H_PARAMETER)
    for text in ("H_PARAMETER", "parameter", "-4", "0xfffffffffffffffc", "H_PARAMETER (-4)"):
        assert code.check(text)[0], text
    zero = R3Answer(0)
    assert zero.check("0")[0] and zero.check(str(zero))[0]
    for bad in ("", "banana", None, 3.5):
        ok, msg = code.check(bad)
        assert not ok and "Not understood" in msg and "H_PARAMETER" not in msg


def test_slips_are_explained_without_the_answer():
    ex = enter_rc_case("version-first", 0)
    ok, msg = ex.check("H_PARAMETER")
    assert not ok and "after the version check" in msg and "H_P2" not in msg
    ex = enter_rc_case("trap", 0)
    ok, msg = ex.check("0xe0")  # the hcall number the L2 put in r3
    assert not ok and "hcall *number*" in msg and "0xc00" not in msg.lower()
    ok, msg = ex.check("H_NO_MEM")  # an error code with no slip of its own
    assert not ok and "the L2 does run" in msg
    for seed in range(8):
        ex = enter_rc_case("mmio", seed)
        if ex.answer.value == 0:
            ok, msg = ex.check("0xe00")
            assert not ok and "4.20" in msg


def test_reveal_names_the_kernel_path():
    ex = enter_rc_case("mmio", 0)
    assert "nested-mmio" in ex.solution and "kvmhv_enter_nested_guest" in ex.solution
    assert ex.reveal().splitlines()[0] == f"Answer: {ex.answer}"


def _field(question, name):
    return int(re.search(rf"{name} = (0x[0-9a-f]+)", question).group(1), 16)


def test_sanitise_answers_follow_sanitise_hv_regs():
    seen = set()
    for seed in range(40):
        ex = sanitise_exercise(seed)
        got = ex.answer.value
        if ex.answer.what == "DAWRX0":
            asked = _field(ex.question, "dawrx0")
            assert got == asked & ~G.DAWRX_HYP
            seen.add(("dawrx0", bool(asked & G.DAWRX_HYP)))
        else:
            asked = _field(ex.question, "ciabr")
            priv = asked & G.CIABR_PRIV
            assert got == (asked & ~G.CIABR_PRIV if priv == G.CIABR_PRIV_HYPER else asked)
            seen.add(("ciabr", priv == G.CIABR_PRIV_HYPER))
            if priv == G.CIABR_PRIV_HYPER:
                ok, msg = ex.check(hex(asked & ~1))  # "demoted" to privileged state
                assert not ok and "does not demote" in msg
        assert ex.check(hex(got))[0] and not ex.check(hex(got ^ 0x4))[0]
    assert seen == {("dawrx0", True), ("dawrx0", False), ("ciabr", True), ("ciabr", False)}
