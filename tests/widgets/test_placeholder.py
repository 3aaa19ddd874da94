"""What a notebook shows for an explorer or exercise form where no kernel drew it (issue
15 item 7): the ``text/plain`` of its mimebundle is a short sentence naming it and
saying to run the cell, never a widget repr; the widget view still points at the box."""

from __future__ import annotations

import pytest

from pynest.exercises import GENERATORS, generate
from pynest.widgets.base import Explorer, _words, explorer_classes, placeholder

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.mark.parametrize("cls", explorer_classes(), ids=lambda c: c.__name__)
def test_explorer_shows_a_placeholder_not_a_repr(cls: type[Explorer]):
    explorer = cls()
    bundle = explorer._repr_mimebundle_()
    plain = bundle["text/plain"]
    assert plain == placeholder(explorer)
    assert plain.endswith(": run this cell to drive it")
    assert "explorer" in plain.lower()
    for clutter in ("VBox", "children", "Dropdown", "(", "0x"):
        assert clutter not in plain, clutter
    assert bundle[WIDGET_VIEW]["model_id"] == explorer.widget.model_id
    assert cls()._repr_mimebundle_()["text/plain"] == plain  # deterministic


def test_title_overrides_the_class_name():
    cls = explorer_classes()[0]
    explorer = cls()
    explorer.title = "The demo"
    assert explorer._repr_mimebundle_()["text/plain"] == "The demo: run this cell to drive it"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("SetPartitionTableExplorer", "Set partition table explorer"),
        ("Walk2DExplorer", "Walk2D explorer"),
        ("LpidMapExplorer", "LPID map explorer"),
        ("CopyToFromGuestExplorer", "Copy to/from guest explorer"),
    ],
)
def test_class_names_read_as_words(name: str, words: str):
    assert _words(name) == words


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_exercise_form_shows_a_placeholder(kind: str):
    form = generate(kind, 3).widget()
    bundle = form._repr_mimebundle_()
    plain = bundle["text/plain"]
    assert plain == f"Exercise ({form.exercise.kind}, seed 3): run this cell to answer it"
    assert "VBox" not in plain
    assert bundle[WIDGET_VIEW]["model_id"] == form.box.model_id


def test_exercise_placeholder_follows_new_question():
    form = generate(sorted(GENERATORS)[0], 3).widget()
    form.new_question()
    assert ", seed 4)" in form._repr_mimebundle_()["text/plain"]
