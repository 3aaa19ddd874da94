"""A number answer's feedback shows examples of the answer's own sort (issue 15 item 6):
an LPID or a refcount is never answered with an address-like example."""

from __future__ import annotations

import pytest

from pynest.exercises import GENERATORS, generate
from pynest.exercises.base import NumberAnswer


@pytest.mark.parametrize(
    ("what", "kind", "sort", "example"),
    [
        ("shadow LPID", "", "id", "'7' or '3'"),
        ("LPID", "", "id", "'7' or '3'"),
        ("refcnt", "count", "count", "'3' or '12'"),
        ("number of reads", "", "count", "'3' or '12'"),
        ("host real address", "", "address", "'0x10000abc' or '268438204'"),
        ("LPCR", "", "number", "'0x1000' or '4096'"),
    ],
)
def test_examples_of_the_answers_sort(what, kind, sort, example):
    a = NumberAnswer(5, what, kind=kind)
    assert a.sort == sort
    ok, feedback = a.check("seven")
    assert not ok and f"like {example} (the form only" in feedback


def test_an_example_that_is_the_answer_is_left_out():
    _ok, feedback = NumberAnswer(7, "LPID").check("zz")
    assert "'7'" not in feedback and "'3' or '12'" in feedback


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_no_non_address_answer_suggests_an_address(kind):
    for seed in range(8):
        ex = generate(kind, seed)
        answer = ex.answer
        if not isinstance(answer, NumberAnswer) or answer.sort == "address":
            continue
        for garbage in ("seven", "", "-1"):
            _ok, feedback = ex.check(garbage)
            assert "0x10000abc" not in feedback and "268438204" not in feedback, (kind, seed)
