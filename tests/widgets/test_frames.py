"""The explorers' frame cache (pynest/widgets/frames.py): a picture seen before comes back
as the same SVG without a render, a new one is rendered, memory stays bounded, the
fingerprint tells every pinned explorer state's pictures apart exactly when they differ,
and an explorer sends its pictures as ``image/svg+xml``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import IPython.display
import matplotlib
import pytest
from matplotlib.figure import Figure

from pynest.viz.pictures import render_svg
from pynest.widgets import WalkExplorer
from pynest.widgets import base as widgets_base
from pynest.widgets.frames import FrameCache, fingerprint

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots"


def _snapshot_cases():
    import sys

    sys.path.insert(0, str(SNAPSHOTS))  # snapshot_cases imports record as a top module
    try:
        spec = importlib.util.spec_from_file_location(
            "snapshot_cases", SNAPSHOTS / "snapshot_cases.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(SNAPSHOTS))


def test_same_picture_from_another_figure_is_not_rendered_again():
    cache = FrameCache()
    a, b = WalkExplorer(), WalkExplorer()  # two figures, same content
    assert a.figures[0] is not b.figures[0]
    first = cache.svg(a.figures[0])
    again = cache.svg(b.figures[0])
    assert (cache.renders, cache.hits) == (1, 1)
    assert again == first == render_svg(b.figures[0])


def test_a_different_state_is_rendered():
    cache = FrameCache()
    ex = WalkExplorer()
    before = cache.svg(ex.figures[0])
    ex.steps.value = 1
    after = cache.svg(ex.figures[0])
    assert cache.renders == 2 and cache.hits == 0
    assert after != before and after == render_svg(ex.figures[0])


def test_memory_is_bounded_in_entries_and_bytes():
    ex = WalkExplorer()
    values = list(range(ex.steps.min, ex.steps.max + 1))
    assert len(values) >= 4
    cache = FrameCache(entries=2)
    for v in values:
        ex.steps.value = v
        cache.svg(ex.figures[0])
    assert len(cache.frames) == 2
    assert cache.bytes == sum(len(f.encode()) for f, _size in cache.frames.values())
    one = len(next(iter(cache.frames.values()))[0].encode())
    small = FrameCache(entries=100, max_bytes=one + one // 2)
    for v in values:
        ex.steps.value = v
        small.svg(ex.figures[0])
    assert len(small.frames) == 1 and small.bytes <= small.max_bytes
    ex.steps.value = values[-1]  # the most recent frame is the one kept
    assert small.svg(ex.figures[0]) == render_svg(ex.figures[0]) and small.hits == 1


def test_fingerprint_separates_exactly_the_pictures_that_differ():
    """Every explorer's initial and moved states (tests/snapshots): two figures share a
    fingerprint if and only if they render to the same SVG."""
    cases = _snapshot_cases()
    by_key: dict[bytes, str] = {}
    by_svg: dict[str, bytes] = {}
    for name, (build, moves) in cases.EXPLORERS.items():
        explorers = [build()]
        for actions in moves.values():
            ex = build()
            cases.apply(ex, actions)
            explorers.append(ex)
        for ex in explorers:
            for fig in ex.figures:
                key, svg = fingerprint(fig), render_svg(fig)
                assert by_key.setdefault(key, svg) == svg, f"{name}: one key, two pictures"
                assert by_svg.setdefault(svg, key) == key, f"{name}: one picture, two keys"
    assert len(by_key) > len(cases.EXPLORERS)


@pytest.fixture
def shown(monkeypatch):
    """Run ``_show`` as in a kernel; the list of SVG frames each display sent (each
    display must be one raw ``image/svg+xml`` bundle)."""
    sent: list[list[str]] = []

    def display(bundle, raw=False):
        assert raw and list(bundle) == ["image/svg+xml"], bundle
        sent[-1].append(bundle["image/svg+xml"])

    monkeypatch.setattr(widgets_base, "in_kernel", lambda: True)
    monkeypatch.setattr(IPython.display, "clear_output", lambda wait=False: sent.append([]))
    monkeypatch.setattr(IPython.display, "display", display)
    return sent


def test_an_explorer_sends_a_picture_seen_before_without_rendering_it(shown):
    ex = WalkExplorer()
    start, other = ex.steps.value, ex.steps.min if ex.steps.value != ex.steps.min else ex.steps.max
    ex.refresh()
    ex.steps.value = other
    renders = ex.frames.renders
    ex.steps.value = start  # back: the first picture again, from the cache
    assert ex.frames.renders == renders and ex.frames.hits >= 1
    assert shown[-1] == shown[0] != shown[1]
    assert shown[-1] == [render_svg(f) for f in ex.figures]


def test_an_update_that_draws_the_same_picture_sends_nothing(shown):
    ex = WalkExplorer()
    ex.refresh()
    sent = len(shown)
    assert ex.refresh()  # same controls, same picture
    assert len(shown) == sent


def test_a_changed_save_setting_is_a_new_frame():
    """rcParams read at save time (here the saved face colour) are part of the key."""
    cache = FrameCache()
    fig = WalkExplorer().figures[0]
    plain = cache.svg(fig)
    with matplotlib.rc_context({"savefig.facecolor": "black"}):
        dark = cache.svg(fig)
        assert dark == render_svg(fig)
    assert cache.renders == 2 and dark != plain
    assert cache.svg(fig) == plain and cache.hits == 1


def test_tick_labels_set_at_draw_time_are_in_the_key():
    """Two plots that differ only in their tick labels (filled in while drawing)."""
    figs = []
    for unit in ("KiB", "MiB"):
        fig = Figure(figsize=(3, 2))
        ax = fig.add_subplot()
        ax.bar([0, 1], [1, 2])
        ax.yaxis.set_major_formatter(lambda v, _pos, unit=unit: f"{v:g} {unit}")
        figs.append(fig)
    cache = FrameCache()
    first, second = (cache.svg(f) for f in figs)
    assert cache.renders == 2 and first != second
    assert second == render_svg(figs[1])


@pytest.mark.parametrize("name", ["EnterNestedTimelineExplorer", "NestedTableCostExplorer"])
def test_a_state_seen_before_is_a_hit_after_other_renders(shown, name):
    """Drawing sets some artists' places (axis labels, spines, a legend's layout) from the
    state drawn; the key leaves those out, so going back is a cache hit, not a render."""
    cls = next(c for c in widgets_base.explorer_classes() if c.__name__ == name)
    ex = cls()
    control = ex.event if hasattr(ex, "event") else ex.guests
    start = control.value
    control.value = start + 1
    renders = ex.frames.renders
    control.value = start
    assert ex.frames.renders == renders and shown[-1] == shown[0] != shown[1]


def test_drawing_a_figure_does_not_change_its_key():
    """For the first figure of every explorer: the key before its first render equals the
    key after it (what a draw fills in is left out of the key)."""
    for cls in widgets_base.explorer_classes():
        for fig in cls().figures:
            before = fingerprint(fig)
            render_svg(fig)
            assert fingerprint(fig) == before, cls.__name__


def test_settle_heap_freezes_only_in_a_kernel(monkeypatch):
    import gc

    gc.unfreeze()
    widgets_base.settle_heap()
    assert gc.get_freeze_count() == 0  # outside a kernel: nothing changed
    monkeypatch.setattr(widgets_base, "in_kernel", lambda: True)
    try:
        widgets_base.settle_heap()
        assert gc.get_freeze_count() > 0
        WalkExplorer()._repr_mimebundle_()  # showing an explorer settles the heap again
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_every_axis_label_is_placed_by_drawing():
    """The key leaves out axis labels' places, which matplotlib sets while drawing unless
    ``set_label_coords`` fixed them: no explorer's figure fixes one."""
    for cls in widgets_base.explorer_classes():
        for fig in cls().figures:
            for ax in fig.axes:
                for axis in (ax.xaxis, ax.yaxis):
                    assert axis._autolabelpos, f"{cls.__name__}: a fixed axis label place"


def test_no_explorer_figure_styles_a_single_tick():
    """The key reads an axis' first major and minor tick for all of them: every other
    tick of every explorer figure looks as the first one does."""

    def look(tick):
        parts = (tick.label1, tick.label2, tick.tick1line, tick.tick2line, tick.gridline)
        return [
            (p.get_visible(), p.get_color(), p.get_alpha(), getattr(p, "get_fontsize", list)(),
             getattr(p, "get_linewidth", list)(), getattr(p, "get_markersize", list)())
            for p in parts
        ]  # fmt: skip

    for cls in widgets_base.explorer_classes():
        for fig in cls().figures:
            render_svg(fig)  # the ticks as drawing leaves them
            for ax in fig.axes:
                for axis in (ax.xaxis, ax.yaxis):
                    for ticks in (axis.get_major_ticks(), axis.get_minor_ticks()):
                        assert all(look(t) == look(ticks[0]) for t in ticks), cls.__name__
