"""Figures of notebooks 07 and 10: the H_ENTER_NESTED timeline, the LPCR masking, and the
H_COPY_TOFROM_GUEST stages."""

import pytest
from matplotlib.figure import Figure

from pynest.kvm import guest_state as G
from pynest.kvm.host import L1_LPCR
from pynest.scenarios.nested import run_program
from pynest.viz.style import figure_text
from pynest.viz.timeline import (
    draw_lpcr_sanitise,
    draw_timeline,
    lpcr_names,
    timeline_points,
    timeline_text,
)


@pytest.fixture(scope="module")
def run():
    return run_program("cede at once")


def test_points_follow_the_actors(run):
    points = timeline_points(run.events)
    assert len(points) == len(run.events)
    assert [p.lane for p in points] == [e.actor for e in run.events]
    exits = [p for p in points if p.group == "exit"]
    assert exits and all(p.lane == "L2" for p in exits)
    returns = [p.label for p in points if p.event.kind == "hcall-return"]
    assert returns == ["0xe20", "0xc00"]  # the first fetch faults to the L1, then H_CEDE


def test_userspace_and_dirty_log_events_have_their_groups():
    """A 4.20 L0 leaves H_COPY_TOFROM_GUEST to QEMU: that answer belongs with the hcall;
    the L1 harvesting its dirty log is L1 work, not L0 bookkeeping."""
    from pynest.kvm.hcalls import H_COPY_TOFROM_GUEST, H_FUNCTION
    from pynest.scenarios import two_l2s

    w = two_l2s(0, run=True)
    l1, l2 = w.l1, w.l2s[0]
    assert w.l0.kernel == "4.20"
    mark = w.l0.events.mark()
    rc = l1.hcall(H_COPY_TOFROM_GUEST, l2.l1_lpid, l2.pid, w.data[l2.l1_lpid][0], 0x100000, 0, 8)
    assert rc == H_FUNCTION
    l1.get_dirty_log(l2)
    groups = {p.event.kind: (p.group, p.lane) for p in timeline_points(list(w.l0.events)[mark:])}
    assert groups["userspace"] == ("hcall", "L0")
    assert groups["l1-dirty-log"] == ("l1", "L1")


def test_timeline_figure_says_what_is_selected(run):
    i = next(i for i, e in enumerate(run.events) if e.kind == "reflect")
    fig = draw_timeline(run.events, i, title="demo")
    text = figure_text(fig)
    assert "demo" in text and f"event {i}" in text and "reflect" in text
    assert "0xe20" in text and "0xc00" in text
    # moving the selection reuses the figure and changes only the caption
    again = draw_timeline(run.events, 0, title="demo", fig=fig)
    assert again is fig and "event 0" in figure_text(fig)
    assert isinstance(draw_timeline([], None), Figure)
    assert "no events" in figure_text(draw_timeline([], None))
    # out of range: no selection, no error
    assert "event" not in figure_text(draw_timeline(run.events, 10_000, title="x"))


def test_return_values_after_the_selection_stay_readable(run):
    """The veil over the future fades markers, not the r3 labels (issue 15: faint trap
    labels): each label is drawn above the veil, which does cover the later events."""
    from matplotlib.patches import Rectangle

    fig = draw_timeline(run.events, 0, title="demo")
    ax = fig.axes[0]
    veil = next(p for p in ax.patches if isinstance(p, Rectangle) and p.get_width() > 0)
    labels = [t for t in ax.texts if t.get_text() in ("0xe20", "0xc00")]
    assert len(labels) == 2
    for label in labels:
        x = label.get_position()[0]
        assert veil.get_x() <= x <= veil.get_x() + veil.get_width()  # in the future
        assert label.get_zorder() > veil.get_zorder()  # and drawn over the veil


def test_timeline_text_marks_the_selection(run):
    text = timeline_text(run.events, 2)
    assert text.splitlines()[2].startswith(">>")
    assert text.count(">>") == 1


def test_lpcr_figure_and_names():
    hostile = G.LPCR_ILE | G.LPCR_AIL | G.LPCR_LPES  # and HR/UPRT/GTSE/HVICE/HDICE cleared
    text = figure_text(draw_lpcr_sanitise(L1_LPCR, hostile))
    assert "0x0000_0000_03d0_040f" in text  # the L1's bits inside the mask, L0's outside
    assert "UPRT|HR|GTSE|HVICE|HDICE" in text
    assert lpcr_names(L1_LPCR) == "UPRT|HR|GTSE|HVICE|HDICE"
    assert lpcr_names(G.LPCR_AIL | G.LPCR_DPFD) == "DPFD=7|AIL=3"
    assert lpcr_names(0) == "0"


# ----------------------------------------------------------------------- copy stages
def test_copy_stages_and_figure():
    from pynest.kvm.hcalls import H_COPY_TOFROM_GUEST
    from pynest.scenarios.nested import copy_world
    from pynest.viz.copy_view import copy_stages, copy_text, draw_copy, hexdump

    w = copy_world(0)
    l1, l2 = w.l1, w.l2s[0]
    buf = l1.alloc.alloc(4096)
    ea = w.data[l2.l1_lpid][0]
    rc = l1.hcall(H_COPY_TOFROM_GUEST, l2.l1_lpid, l2.pid, ea, buf, 0, 8)
    s = copy_stages(l1, l2, ea, 8, rc, l1.vm.read_guest(buf, 8))
    assert s.ok and s.stopped == ""
    assert s.hpa == s.shadow_hpa  # the shadow PTE maps what the three tables give
    assert s.hpa == l1.vm.pgtable.lookup(s.l1_gpa).ra
    assert s.data == l1.vm.l0.mem.read(s.hpa, 8)
    assert "H_SUCCESS" in figure_text(draw_copy(s)) and "H_SUCCESS" in copy_text(s)
    untouched = w.data[l2.l1_lpid][2]
    rc = l1.hcall(H_COPY_TOFROM_GUEST, l2.l1_lpid, l2.pid, untouched, buf, 0, 8)
    s = copy_stages(l1, l2, untouched, 8, rc, b"")
    assert not s.ok and s.shadow_hpa is None and s.stopped == "l1"
    assert "H_NOT_FOUND" in figure_text(draw_copy(s))
    none = copy_stages(l1, None, ea, 8, -4, b"", lpid=9)
    assert none.lpid == 9 and "no L2 with this lpid" in figure_text(draw_copy(none))
    assert hexdump(bytes(range(20)))[1].startswith("0x0000000010: 10 11 12 13")
    assert hexdump(bytes(100), limit=32)[-1] == "... 68 more bytes"


def test_a_reused_figure_draws_another_run_as_a_fresh_one_does():
    """draw_timeline(fig=...) for another run replaces only the run's artists; the picture
    equals a fresh figure's (and a run drawn again gets its key back)."""
    from pynest.viz.pictures import render_svg
    from pynest.widgets.frames import fingerprint

    runs = [
        run_program("store, load, cede", L1_LPCR, 1000, seed=0),
        run_program("cede at once", L1_LPCR, 1000, seed=0),
        run_program("store, load, cede", L1_LPCR, 1000, seed=0, warm=True),
    ]
    fig = draw_timeline(runs[0].events, 0, title="first")
    for run in runs[1:] + runs[:1]:
        for current in (None, 0, len(run.events) - 1):
            reused = draw_timeline(run.events, current, title=run.program, fig=fig)
            assert reused is fig
            fresh = draw_timeline(run.events, current, title=run.program)
            assert render_svg(reused) == render_svg(fresh)
            assert fingerprint(reused) == fingerprint(
                draw_timeline(
                    run.events, current, title=run.program, fig=draw_timeline(run.events, None)
                )
            )
