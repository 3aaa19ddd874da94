"""Issue 14 step 0: every public figure function of ``pynest/viz`` is pinned by a
structural snapshot (``record.figure_record``) of fixed, seeded inputs
(``snapshot_cases.FIGURES``), compared with ``baselines/figure.<module>.<function>.json``.
``make snapshots`` regenerates the baselines after an intended change.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
import snapshot_cases as cases
from record import build, check, differences, figure_record

import pynest.viz as viz_pkg
from pynest.viz import style as S
from pynest.viz import tables

FIGURE_BASELINES = cases.figure_baselines()


def _public_figure_functions() -> set[str]:
    found = set()
    for info in pkgutil.iter_modules(viz_pkg.__path__):
        module = importlib.import_module(f"{viz_pkg.__name__}.{info.name}")
        for name, obj in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("draw_") and obj.__module__ == module.__name__:
                found.add(f"{info.name}.{name}")
    return found


def test_every_public_figure_function_is_pinned():
    found = _public_figure_functions()
    assert len(found) >= 27
    assert found == set(cases.FIGURES), "add (or drop) cases in snapshot_cases.FIGURES"


@pytest.mark.parametrize("name", sorted(FIGURE_BASELINES))
def test_figure_matches_its_baseline(name):
    check(name, build(FIGURE_BASELINES[name]))


def _ptcr_record() -> dict:
    return {
        "aligned": figure_record(tables.draw_ptcr(0x100000)),
        "misaligned": figure_record(tables.draw_ptcr(0x101001, title="example 3")),
    }


def test_a_changed_colour_is_caught(monkeypatch):
    """Prove the snapshot bites: the problem lines of a misaligned PTCR are drawn in the
    fault colour; drawn in another, the comparison fails and says where."""
    name = "figure.tables.draw_ptcr"
    check(name, build(_ptcr_record))  # today's drawing matches
    monkeypatch.setattr(S, "FAULT", "#FF0000")
    with pytest.raises(AssertionError) as caught:
        check(name, build(_ptcr_record))
    message = str(caught.value)
    assert "figure.tables.draw_ptcr.misaligned" in message and ".colour: expected" in message
    assert '"#ff0000ff"' in message
    assert len(message.splitlines()) <= 14  # a short diff, not a dump


def test_a_moved_label_is_caught(monkeypatch):
    """A note line moved by a hundredth of an inch is a different picture."""
    name = "figure.tables.draw_ptcr"
    monkeypatch.setattr(tables, "_NOTE_H", tables._NOTE_H + 0.01)
    with pytest.raises(AssertionError, match=r"\.box\[1\]: expected 2\.64, got 2\.67"):
        check(name, build(_ptcr_record))


def test_differences_name_the_path_and_stop_early():
    a = {"axes": [{"texts": [{"text": "x", "fontsize": 12.0}] * 30}], "dpi": 100}
    b = {"axes": [{"texts": [{"text": "y", "fontsize": 12.0}] * 31}], "dpi": 72}
    lines = differences(a, b, "fig", limit=5)
    assert lines[0] == 'fig.axes[0].texts[0].text: expected "x", got "y"'
    assert len(lines) == 5
    tail = differences({"dpi": 100, "n": [1, 2]}, {"dpi": 72, "n": [1], "new": 0}, "f")
    assert tail == [
        "f.dpi: expected 100, got 72",
        "f.n: expected 2 items, got 1",
        "f.new: expected nothing, got 0",
    ]
