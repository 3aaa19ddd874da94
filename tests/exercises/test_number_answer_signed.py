"""NumberAnswer(signed=True): the one number answer kind, for a signed value too."""

from hypothesis import given
from hypothesis import strategies as st

from pynest.exercises.base import NumberAnswer


@given(st.integers(-(1 << 31), 1 << 31))
def test_signed_answer_accepts_its_value_and_only_it(v):
    a = NumberAnswer(v, "max_nested_lpid", signed=True)
    assert a.check(str(v)) == (True, f"Correct: {v}.")
    assert a.check(v)[0]
    assert a.check(f"{'-' if v < 0 else ''}{abs(v):#x}")[0]
    ok, feedback = a.check(str(v + 1))
    assert not ok and feedback == f"No, {v + 1} is not the max_nested_lpid."
    assert str(a) == str(v)


def test_signed_answer_names_the_slip_and_refuses_text():
    a = NumberAnswer(-1, "max_nested_lpid", {0: "LPID 0 is in use"}, signed=True)
    assert a.check("0") == (False, "No, 0 is not it: LPID 0 is in use")
    ok, feedback = a.check(True)  # the examples of the form leave the answer (-1) out
    assert not ok and "like '5' or '3'" in feedback and "-1" not in feedback
    assert "'minus one' is not a number" in a.check("minus one")[1]
    unsigned = NumberAnswer(1, "max_nested_lpid")
    assert not unsigned.check("-1")[0]  # unsigned answers still refuse a minus
