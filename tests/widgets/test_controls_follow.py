"""Controls that follow the lesson (issue 15 item 3), driven headless.

Every control an explorer shows answers when it moves; example menus name the case the
controls hold (or say "your own values") and picking an example always applies it; an
action box re-applies a value typed again; notebook 08's load/store toggle is watched.
"""

from __future__ import annotations

import inspect

import ipywidgets as w
import pytest

from pynest.widgets import (
    CopyToFromGuestExplorer,
    QuadrantExplorer,
    ShadowTreesExplorer,
    Walk2DExplorer,
    WalkExplorer,
)
from pynest.widgets.base import Explorer, descendants, explorer_classes
from pynest.widgets.menus import CUSTOM, CUSTOM_LABEL

NOT_ON_THEIR_OWN = {
    ("PtcrExplorer", "ISA bit"): "the bit number the 'flip that bit' button reads",
}
"""Controls that are an argument of a button, not a state of their own."""


def _controls(ex: Explorer) -> list[w.Widget]:
    return [c for top in ex.controls() for c in descendants(top)]


def _other_value(c: w.Widget):
    """A value ``c`` can take other than its own, or None (not a value control)."""
    if isinstance(c, w.Play):
        return None  # linked to its slider in the browser (jslink), tested there
    if isinstance(c, (w.Dropdown, w.ToggleButtons)):
        values = [o[1] if isinstance(o, tuple) else o for o in c.options]
        others = [v for v in values if v != c.value and v != CUSTOM]
        return others[-1] if others else None
    if isinstance(c, (w.IntSlider, w.BoundedIntText)):
        return None if c.max == c.min else c.min if c.value != c.min else c.max
    if isinstance(c, w.Checkbox):
        return not c.value
    if isinstance(c, w.Text):
        return "not-a-number!"
    return None


def _seen(ex: Explorer) -> tuple:
    """Everything a learner sees change: the lines, the pictures' count, every control."""
    shown = [
        (getattr(c, "value", None), getattr(c, "placeholder", None), getattr(c, "max", None))
        for c in _controls(ex)
    ]
    return (ex.updates, ex.error, ex.status.value, ex.text, repr(shown))


def _build(cls):
    params = inspect.signature(cls).parameters.values()
    if any(
        p.default is inspect.Parameter.empty for p in params if p.kind == p.POSITIONAL_OR_KEYWORD
    ):
        pytest.skip(f"{cls.__name__} needs arguments")
    return cls()


@pytest.mark.parametrize("cls", explorer_classes(), ids=lambda c: c.__name__)
def test_every_control_answers_when_it_moves(cls):
    ex = _build(cls)
    for control in _controls(ex):
        if getattr(control, "disabled", False):
            continue
        if (cls.__name__, getattr(control, "description", "")) in NOT_ON_THEIR_OWN:
            continue
        value = _other_value(control)
        if value is None:
            continue
        start, before = control.value, _seen(ex)
        control.value = value
        assert _seen(ex) != before, (
            f"{cls.__name__}: {control.description!r} -> {value!r} did nothing"
        )
        control.value = start
        if ex.error:
            assert ex.refresh(), ex.error


def test_the_exempt_controls_still_exist():
    for (name, description), _why in NOT_ON_THEIR_OWN.items():
        (cls,) = [c for c in explorer_classes() if c.__name__ == name]
        ex = cls()
        assert any(
            getattr(c, "description", None) == description
            for top in ex.controls()
            for c in descendants(top)
        )


# ----------------------------------------------------------------------- example menus
def test_walk_menu_follows_the_slider_and_an_example_reapplies():
    ex = WalkExplorer()
    assert ex.example.label == "4K page (worked example 1)"
    ex.slide.value = 5  # one of no example
    assert (ex.example.value, ex.example.label) == (CUSTOM, CUSTOM_LABEL)
    ex.example.value = 0  # the example named at the start applies again
    assert ex.ea_text.value == "0x10000abc" and ex.slide.value == 0
    assert "real address 0x3000abc" in ex.status.value
    ex.slide.value = 1  # the unmapped neighbour is an example of its own: named
    assert ex.example.label == "unmapped 4K neighbour: DSI at level 3"
    ex.ea_text.value = "hello"
    assert ex.error and ex.example.value == CUSTOM
    ex.access.value = "fetch"
    ex.ea_text.value = "0x10000ab0"
    assert ex.example.label == "fetch from a page without x: ISI"


def test_quadrant_menu_follows_every_control():
    ex = QuadrantExplorer()
    names = []
    for q in range(4):
        ex.quadrant.value = q
        names.append(ex.example.label)
    assert names == [
        "hypervisor, quadrant 0: host process PID 5",
        "hypervisor, quadrant 1, PIDR 5: guest 7 has no PID 5",
        "hypervisor, quadrant 2: guest 7's kernel (2-D walk)",
        "hypervisor, quadrant 3: the host kernel",
    ]
    ex.quadrant.value = 1
    ex.pidr_text.value = "0x3"  # typed in hex: still the example with PIDR 3
    assert ex.example.label == "hypervisor, quadrant 1, PIDR 3: guest 7's process 3"
    ex.uprt.value = False  # a box no example unticks
    assert ex.example.value == CUSTOM
    ex.example.value = 4
    assert ex.uprt.value is True and ex.pidr_text.value == "3" and ex.error == ""
    ex.lpidr_text.value = "seven"
    assert ex.error and ex.example.value == CUSTOM
    ex.example.value = 0  # picking an example puts every box right again
    assert ex.lpidr_text.value == "7" and ex.pidr_text.value == "5" and ex.error == ""


def test_walk2d_menu_follows_the_typed_ea():
    ex = Walk2DExplorer()
    first = ex.example.value
    ex.ea_text.value = "0x10"
    assert ex.example.value == CUSTOM
    ex.example.value = first
    assert ex.ea_text.value == f"{first:#x}" and ex.access.value == ex.translation.memory_reads
    hole = ex.example.options[2][1]
    ex.ea_text.value = str(hole)  # decimal: the unmapped neighbour
    assert ex.example.label.startswith("unmapped neighbour")
    ex.ea_text.value = "zebra"
    assert ex.error and ex.example.value == CUSTOM


def test_walk2d_complaint_stays_while_the_box_holds_garbage():
    ex = Walk2DExplorer()
    ex.ea_text.value = "hello"
    ex.access.value = 3  # stepping through the old walk does not hide the complaint
    assert "EA 'hello' is not a number" in ex.error
    ex.ea_text.value = f"{ex.example.options[0][1]:#x}"
    assert ex.error == ""


def test_ptcr_complaint_about_patb_stays_when_the_lpid_moves():
    from pynest.widgets import PtcrExplorer

    ex = PtcrExplorer()
    ex.patb_text.value = "0x10q"
    ex.lpid_text.value = "0"
    assert "PATB '0x10q' is not a number" in ex.error
    ex.patb_text.value = "0x100000"
    assert ex.error == "" and "PATE[0]" in ex.status.value


def test_copy_menu_follows_the_typed_ea():
    ex = CopyToFromGuestExplorer()
    first = ex.example.value
    ex.ea_text.value = "0x10"
    assert ex.example.value == CUSTOM
    ex.example.value = first
    assert ex.ea_text.value == f"{first:#x}" and ex.error == ""
    ex.l2.value = ex.l2.options[1][1]
    assert ex.example.label == "a data page the L2 stored to"
    assert ex.ea_text.value == f"{ex.example.value:#x}"


# ----------------------------------------------------------------------- notebook 08
def test_shadow_access_toggle_retries_the_typed_address():
    ex = ShadowTreesExplorer()
    steps = len(ex.steps)
    ex.access.value = "store"
    ex.address.value = "0x110000"  # the L2's page tables: a store is refused
    assert "page tables" in ex.error and len(ex.steps) == steps
    ex.access.value = "load"  # the same address as a load: allowed, a new step
    assert ex.error == "" and len(ex.steps) == steps + 1
    assert ex.step.value == steps and "loads from L2 real 0x110000" in ex.status.value
    assert ex.address.value == "" and "0x110000" in ex.address.placeholder


def test_shadow_same_address_twice_touches_twice():
    ex = ShadowTreesExplorer()
    steps = len(ex.steps)
    ex.address.value = "0x9a0000"
    ex.address.value = "0x9a0000"
    assert len(ex.steps) == steps + 2 and ex.step.value == steps + 1


def test_shadow_toggle_with_an_empty_box_takes_back_a_stale_complaint():
    ex = ShadowTreesExplorer()
    ex.address.value = "0x1000000"  # outside the L2: refused, the text stays
    assert ex.error
    ex.address.value = ""
    ex.access.value = "store"
    assert ex.error == ""
