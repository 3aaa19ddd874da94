"""Notebook 12's exercise: what 4.20's kvmhv_nested_init returns (review point 4).

Hand-checked against 4.20.1 book3s_hv_nested.c:322-355: bare metal 0; nesting on 0
(H_SET_PARTITION_TABLE H_SUCCESS); nesting off -ENODEV (the 4.20 L0 answers
H_FUNCTION, book3s_hv.c:974-978); hash MMU -ENODEV; kmalloc failure -ENOMEM.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pynest.errors import FieldError
from pynest.exercises.review import (
    CASES,
    GENERATORS,
    ErrnoAnswer,
    nested_init,
    nested_init_case,
)

EXPECTED = {"bare-metal": 0, "nesting-on": 0, "nesting-off": -19, "hash": -19, "nomem": -12}


@pytest.mark.parametrize("case", CASES)
def test_each_case_has_the_4_20_errno(case):
    ex = nested_init_case(case, seed=3)
    assert ex.answer.value == EXPECTED[case]
    ok, feedback = ex.check(str(EXPECTED[case]))
    assert ok and feedback.startswith("Correct")
    assert "kvmhv_nested_init (4.20" in ex.reveal()


def test_nesting_off_runs_the_model():
    ex = nested_init_case("nesting-off", seed=1)
    assert "NOT enabled" in ex.question
    assert "the model's L0 returns H_FUNCTION" in ex.solution
    assert "return -ENODEV" in ex.solution


def test_hash_case_names_the_earlier_check():
    ex = nested_init_case("hash", seed=0)
    assert "disable_radix" in ex.question and "on its own" in ex.question
    assert "processor check" in ex.solution


@pytest.mark.parametrize(
    ("given", "value"),
    [
        ("-ENODEV", -19),
        ("ENODEV", -19),
        (" -enodev ", -19),
        ("-19", -19),
        (-19, -19),
        ("-ENOMEM", -12),
        ("0", 0),
        (0, 0),
        ("-EIO", -5),
        ("blah", None),
        ("", None),
        (True, None),
        (1.5, None),
        (None, None),
    ],
)
def test_errno_parsing(given, value):
    assert ErrnoAnswer(0).parse(given) == value


def test_wrong_answers_explain():
    ans = ErrnoAnswer(-19, "no nesting", {0: "only on bare metal or on success."})
    assert ans.check("-ENODEV") == (True, "Correct: -ENODEV (-19): no nesting.")
    ok, text = ans.check("0")
    assert not ok and "only on bare metal" in text
    ok, text = ans.check("H_FUNCTION")
    assert not ok and "hcall return code" in text
    ok, text = ans.check("false")
    assert not ok and "v2's bool" in text
    ok, text = ans.check("-ENOMEM")
    assert not ok and "does not return -ENOMEM (-12)" in text
    assert not ans.check("what")[0]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**64 - 1))
def test_every_seed_gives_a_checkable_question(seed):
    ex = nested_init(seed)
    assert ex.answer.value in (0, -12, -19)
    assert ex.check(str(ex.answer.value))[0]
    assert nested_init(seed).question == ex.question  # seeded: the same on every run
    wrong = next(v for v in (0, -12, -19) if v != ex.answer.value)
    assert not ex.check(str(wrong))[0]


def test_generators_and_bad_case():
    assert set(GENERATORS) == {"nested_init"}
    assert {nested_init(s).answer.value for s in range(30)} == {0, -12, -19}
    with pytest.raises(FieldError):
        nested_init_case("nope")
