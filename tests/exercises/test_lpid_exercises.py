"""The "lpids" exercises of notebook 06: seeded, answered by the model, checked kindly.

Hand-checked vectors: seed 1 is the max_nested_lpid question whose calls install L1
LPIDs 1, 4, 8 (shadow LPIDs 2, 3, 4) and remove only 1, so the answer is 8; seed 4 removes
both of its guests, so the answer is -1; seed 3 asks for a shadow LPID after both earlier
guests were released, so the lowest free hardware LPID, 2, comes back.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pynest.errors import FieldError
from pynest.exercises import generate
from pynest.exercises.base import ExerciseWidget, NumberAnswer
from pynest.exercises.lpids import GENERATORS, lpid_calls


def test_generators_dict():
    assert GENERATORS == {"lpids": lpid_calls}
    assert generate("lpids", 3).question == lpid_calls(3).question
    with pytest.raises(FieldError, match="unknown exercise kind"):
        generate("nope", 0)


def test_seed_1_max_nested_lpid():
    ex = lpid_calls(1)
    assert ex.kind == "lpids" and ex.seed == 1
    assert "What is max_nested_lpid now" in ex.question
    assert ex.question.index("kvmhv_get_nested(kvm, 1") < ex.question.index("(kvm, 8")
    assert ex.check("8") == (True, "Correct: 8.")
    ok, feedback = ex.check("1")
    assert not ok and "Hint:" in feedback
    assert "shadow LPID 4" in ex.solution and "max_nested_lpid = 8" in ex.solution


def test_seed_4_empty_array_answers_minus_one():
    ex = lpid_calls(4)
    assert ex.answer == NumberAnswer(-1, "max_nested_lpid", ex.answer.mistakes, signed=True)
    assert ex.check("-1")[0] and ex.check(" - 1")[0]
    ok, feedback = ex.check("2")
    assert not ok and "walks max_nested_lpid down" in feedback


def test_seed_3_shadow_lpid_is_reused():
    ex = lpid_calls(3)
    assert "Which shadow (hardware) LPID does gp1 get?" in ex.question
    assert ex.check("2")[0] and ex.check("0x2")[0]
    ok, feedback = ex.check("1")
    assert not ok and "L1's number for the L2" in feedback
    ok, feedback = ex.check("4")
    assert not ok and "lowest free one" in feedback
    assert "back in the bitmap" in ex.solution


def test_refcnt_question_slot_mistake():
    ex = lpid_calls(5)
    assert "What is gp7->refcnt now?" in ex.question
    assert ex.check("2")[0]  # slot + the last get (the two earlier gets were put)
    ok, feedback = ex.check("1")
    assert not ok and "slot in nested_guests[] holds a reference" in feedback


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=10_000))
def test_every_seed_is_stable_and_self_consistent(seed):
    a, b = lpid_calls(seed), lpid_calls(seed)
    assert a.question == b.question and str(a.answer) == str(b.answer)
    assert a.check(str(a.answer).split(" ")[0])[0]
    assert a.reveal().startswith(f"Answer: {a.answer}")
    kind = ("shadow", "max", "refcnt")[seed % 3]
    words = {
        "shadow": "shadow (hardware) LPID",
        "max": "max_nested_lpid now",
        "refcnt": "refcnt now",
    }
    assert words[kind] in a.question


@pytest.mark.parametrize("given_", ["", "zebra", "not-a-number!", "1.5", None, True, [1]])
def test_garbage_answers_get_feedback_not_exceptions(given_):
    for seed in (3, 4, 5):
        ok, feedback = lpid_calls(seed).check(given_)
        assert not ok and feedback


def test_widget_form():
    form = lpid_calls(3).widget()
    assert isinstance(form, ExerciseWidget)
    assert form.submit("2") and "Correct" in form.feedback.value
    assert not form.submit("zebra")
    form.show_solution()
    assert "What each call did" in form.solution.value
