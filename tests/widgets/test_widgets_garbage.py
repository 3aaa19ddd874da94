"""Every explorer under garbage (issue 7): bad text gives a message, nothing raises, and
a later valid input refreshes cleanly.

Explorers are discovered, not listed: every module in ``pynest/widgets/`` is imported and
every :class:`~pynest.widgets.base.Explorer` subclass defined there is tried -- built
with no arguments (all explorers take defaults), or skipped with the reason when that
is impossible. For each one, headless: every Text box gets non-numbers, huge and
negative numbers; every slider goes to its extremes; every button is clicked in three
orders; then the original values come back and the explorer must refresh without error.
"""

from __future__ import annotations

import inspect

import ipywidgets as w
import pytest

import pynest.widgets as widgets_pkg
from pynest.widgets.base import Explorer, descendants, explorer_classes

GARBAGE = {
    "not a number": "not-a-number!",
    "empty": "",
    "huge": "9" * 80,
    "huge hex": "0x" + "f" * 40,
    "negative": "-5",
    "negative hex": "-0x10",
    "float": "1.5",
}


CLASSES = explorer_classes()


def _build(cls: type[Explorer]) -> Explorer:
    params = inspect.signature(cls).parameters.values()
    required = [
        p
        for p in params
        if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if required:
        pytest.skip(f"{cls.__name__} needs {[p.name for p in required]}: no default to build it")
    return cls()


def _controls(ex: Explorer) -> list[w.Widget]:
    seen: dict[int, w.Widget] = {}
    for top in ex.controls():
        for widget in descendants(top):
            seen.setdefault(id(widget), widget)
    return list(seen.values())


def _no_internal_error(ex: Explorer, what: str) -> None:
    assert "internal error" not in ex.error, f"{what}: {ex.error}"


def test_every_explorer_module_was_searched():
    names = {c.__name__ for c in CLASSES}
    assert {"WalkExplorer", "PtcrExplorer"} <= names
    exported = {c for c in widgets_pkg.__all__ if c.endswith("Explorer") and c != "Explorer"}
    assert exported <= names


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_garbage_text_gives_a_message_and_the_explorer_recovers(cls):
    ex = _build(cls)
    assert ex.error == "", f"{cls.__name__} starts with an error: {ex.error}"
    texts = [c for c in _controls(ex) if isinstance(c, w.Text) and not c.disabled]
    for box in texts:
        good = box.value
        for kind, garbage in GARBAGE.items():
            if garbage == good:
                continue
            box.value = garbage
            _no_internal_error(ex, f"{cls.__name__} {box.description!r} <- {kind}")
            if kind in ("not a number", "huge", "huge hex", "negative", "negative hex"):
                assert ex.error, f"{cls.__name__}: {kind} {garbage!r} in {box.description!r}"
                assert ex.message.value, "the message line shows it"
            box.value = good  # a valid input again: usable, refreshes without error
            if ex.error:  # the box went back to its start value (e.g. empty): redraw
                assert ex.refresh(), f"{cls.__name__} unusable after {kind}: {ex.error}"
            assert ex.error == "", f"{cls.__name__} did not recover after {kind}: {ex.error}"
    assert ex.refresh() and ex.error == ""


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_sliders_at_extremes_and_buttons_in_any_order(cls):
    ex = _build(cls)
    controls = _controls(ex)
    sliders = [
        c
        for c in controls
        if isinstance(c, (w.IntSlider, w.FloatSlider, w.BoundedIntText, w.BoundedFloatText))
        and not c.disabled
    ]
    choosers = [
        c
        for c in controls
        if isinstance(c, (w.Dropdown, w.SelectionSlider, w.ToggleButtons, w.RadioButtons))
        and not c.disabled
    ]
    buttons = [c for c in controls if isinstance(c, w.Button) and not c.disabled]
    saved = {id(c): c.value for c in sliders + choosers}
    for s in sliders:
        for value in (s.max, s.min, s.max, s.min + (s.max - s.min) // 2):
            s.value = value
            _no_internal_error(ex, f"{cls.__name__} slider {s.description!r} = {value}")
    for c in choosers:
        for value in (c.options[-1] if c.options else None, c.options[0] if c.options else None):
            if value is None:
                continue
            c.value = value[1] if isinstance(value, tuple) else value
            _no_internal_error(ex, f"{cls.__name__} {c.description!r} = {value!r}")
    for order in (buttons, buttons[::-1], [b for b in buttons for _twice in (0, 1)]):
        for b in order:
            b.click()
            _no_internal_error(ex, f"{cls.__name__} button {b.description!r}")
    for c in sliders + choosers:
        c.value = saved[id(c)]
    assert ex.refresh(), f"{cls.__name__} unusable after the controls were exercised: {ex.error}"
    assert ex.error == ""
