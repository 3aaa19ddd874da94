"""Each input box speaks of what it holds (issue 15 item 6): typed garbage in any box of
any explorer gives a message that names the box and suggests a value of the box's own
sort; only address boxes speak of addresses."""

from __future__ import annotations

import inspect
import re

import ipywidgets as w
import pytest

from pynest.widgets import LpidMapExplorer, QuadrantExplorer
from pynest.widgets.base import descendants, explorer_classes

ADDRESS_BOXES = {"EA", "EA (r6)", "EA bits 2:63", "PATB", "EPN", "L2 real"}
"""The boxes that hold an address (every other box holds an ID, a register, a count...)."""

GARBAGE = ("seven", "-5", "", "0x10q", "9" * 30)


def _boxes(cls):
    params = inspect.signature(cls).parameters.values()
    if any(
        p.default is inspect.Parameter.empty for p in params if p.kind == p.POSITIONAL_OR_KEYWORD
    ):
        pytest.skip(f"{cls.__name__} needs arguments")
    ex = cls()
    boxes = [c for top in ex.controls() for c in descendants(top) if isinstance(c, w.Text)]
    return ex, [b for b in boxes if not b.disabled]


def _complaints(cls):
    ex, boxes = _boxes(cls)
    for box in boxes:
        start = box.value
        for text in GARBAGE:
            if text == start:
                continue
            box.value = text
            if ex.error:
                yield box.description, text, ex.error
            box.value = start
            ex.refresh()


@pytest.mark.parametrize("cls", explorer_classes(), ids=lambda c: c.__name__)
def test_every_box_speaks_of_what_it_holds(cls):
    seen = 0
    for label, text, message in _complaints(cls):
        seen += 1
        where = f"{cls.__name__} {label!r} <- {text!r}: {message}"
        if label not in ADDRESS_BOXES:
            assert "address" not in message.lower(), where
            assert "0x10000abc" not in message and "268438204" not in message, where
        if text in ("seven", "0x10q"):
            assert "is not a number" in message and re.search(r"like (0x[0-9a-f]+|\d+)", message), (
                where
            )
    _ex, boxes = _boxes(cls)
    if any(b.description and not b.placeholder.startswith("e.g.") for b in boxes):
        assert seen, f"{cls.__name__}: no box complained about garbage"


def test_exact_messages_of_some_boxes():
    q = QuadrantExplorer()
    q.lpidr_text.value = "-1"
    assert q.error == (
        "LPIDR '-1' is negative, but IDs count up from 0: type a whole number like 7 "
        "(or hex, like 0x7)"
    )
    q.lpidr_text.value = "7"
    q.offset_text.value = "zz"
    assert (
        q.error
        == "EA bits 2:63 'zz' is not a number: type hex like 0x10000abc or decimal like 268438204"
    )
    lp = LpidMapExplorer()
    lp.lpid_text.value = ""
    assert (
        lp.error
        == "L1 LPID is empty: type a whole number like 7 (or hex, like 0x7), then press Enter"
    )
