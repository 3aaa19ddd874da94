"""The quadrant exercises: seeded, right by the model, and kind to wrong answers.

Hand-checked cases: in hypervisor mode quadrant 2 with LPIDR 25 uses (LPID 25, PID 0);
a guest's quadrant 1 is a segment interrupt; reaching guest 9's kernel at 0x57d10831758
from the hypervisor needs EA 0x8000057d10831758.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pynest.errors import FieldError
from pynest.exercises import generate
from pynest.exercises.quadrants import GENERATORS, IdsAnswer, SegmentAnswer, parse_ids
from pynest.mmu import translate
from pynest.scenarios.quadrants import TREES, quadrant_world, tree_of


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_same_seed_same_exercise(kind):
    a, b = generate(kind, 4), generate(kind, 4)
    assert a.question == b.question and str(a.answer) == str(b.answer)
    assert {generate(kind, s).question for s in range(8)} != {a.question}


@pytest.mark.parametrize("kind", sorted(GENERATORS))
@pytest.mark.parametrize("seed", range(12))
def test_the_answer_is_accepted_and_revealed(kind, seed):
    ex = generate(kind, seed)
    ans = ex.answer
    if isinstance(ans, IdsAnswer):
        given = f"LPID {ans.lpid} PID {ans.pid}"
    elif hasattr(ans, "interrupt"):
        given = ans.interrupt
    else:
        given = hex(ans.value)
    ok, feedback = ex.check(given)
    assert ok, (given, feedback, ex.question)
    assert str(ans) in ex.reveal()


def test_hand_checked_quadrant_cases():
    ex = generate("quadrant", 2)  # HV, LPIDR 25, PIDR 3, quadrant 2
    assert "LPIDR = 25" in ex.question and "0x8000" in ex.question
    assert (ex.answer.lpid, ex.answer.pid) == (25, 0)
    ok, why = ex.check("LPID 25 PID 3")
    assert not ok and "PID 0" in why
    assert ex.check("25, 0")[0] and ex.check("lpid=0x19 pid=0")[0]
    ok, why = ex.check("DSEG")
    assert not ok and "tables" in why
    seg = generate("quadrant", 1)  # a guest user fetching from quadrant 1
    assert isinstance(seg.answer, SegmentAnswer) and seg.answer.interrupt == "ISEG"
    ok, why = seg.check("LPID 57 PID 3")
    assert not ok and "never reaches the tables" in why
    assert seg.check("ISEG")[0] and not seg.check("DSEG")[0]


def test_hand_checked_quadrant_ea_case():
    ex = generate("quadrant-ea", 1)  # guest 9's kernel
    assert ex.answer.value == 0x8000057D10831758
    ok, why = ex.check("0x4000057d10831758")
    assert not ok and "PID 0" in why
    ok, why = ex.check("0x57d10831758")
    assert not ok and "quadrant 0" in why


def test_quadrant_access_answers_come_from_the_model():
    world = quadrant_world()
    for seed in range(20):
        ex = generate("quadrant-access", seed)
        assert "Model trace" in ex.solution
        if hasattr(ex.answer, "value"):
            ok, _ = ex.check(hex(ex.answer.value + 8))
            assert not ok
    # the world maps what TREES says
    for info in TREES:
        if info.lpid == 0:
            from pynest.mmu import CpuState

            cpu = CpuState(ptcr=0x100000, pidr=info.pid)
            ea = 0x10000ABC if info.pid else 0xC000000010000ABC
            assert translate(world.mem, cpu, ea, update_rc=False).ra == info.data_hra + 0xABC


def test_parse_ids():
    assert parse_ids("LPID 7 PID 3") == (7, 3)
    assert parse_ids("pid 3, lpid 7") == (7, 3)
    assert parse_ids("(7, 3)") == (7, 3)
    assert parse_ids("0x7 0x3") == (7, 3)
    assert parse_ids("seven") is None and parse_ids("7") is None and parse_ids(7) is None
    assert parse_ids("1 2 3") is None


def test_tree_of():
    assert tree_of(7, 0).who == "guest 7 kernel" and tree_of(7, 5) is None


def test_generate_rejects_bad_kind_and_seed():
    with pytest.raises(FieldError):
        generate("nonsense", 0)
    with pytest.raises(FieldError):
        generate("quadrant", "3")  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), junk=st.text(max_size=12))
def test_checking_never_raises(seed, junk):
    for kind in GENERATORS:
        ok, feedback = generate(kind, seed).check(junk)
        assert isinstance(ok, bool) and feedback
