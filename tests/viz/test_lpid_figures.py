"""Notebook 06's figures: the LPID map, the table-cost plot and the race figure.

Hand-checked: in the shared two-L2 world (both run once) L0 gives hardware LPID 1 to the
L1, 2 and 3 to the shadows of L1 LPIDs 1 and 2 (first entry first); the shadow PATE's
dw0 is HR | RTS (0x40000000000000a0) | shadow root | 13 and dw1 is the L1's dw1.
"""

from matplotlib.figure import Figure

from pynest.kvm.nested_table import nested_table_costs
from pynest.kvm.races import explore, run_schedule
from pynest.mmu import constants as C
from pynest.scenarios import one_l1, two_l2s
from pynest.viz.lpids import MAX_LANES, draw_lpid_map, draw_table_costs, lpid_map
from pynest.viz.pictures import render_png
from pynest.viz.races import draw_race, state_text
from pynest.viz.style import figure_text


def test_lpid_map_record_of_the_two_l2_world():
    w = two_l2s(seed=0, run=True)
    m = lpid_map(w.vm, highlight=2, note="after one run each")
    assert m.vm_lpid == 1 and m.l1_entries == 1024 and m.l1_ptcr == w.vm.l1_ptcr
    assert [r.l1_lpid for r in m.l1_rows] == [1, 2]
    assert [(n.l1_lpid, n.shadow_lpid, n.refcnt) for n in m.nested] == [(1, 2, 1), (2, 3, 1)]
    assert m.max_nested_lpid == 2 and m.table_kind == "array" and m.table_bytes == 8196
    owners = {r.lpid: r.owner for r in m.l0_rows}
    assert owners[0] == "the host" and owners[1].startswith("this L1")
    assert owners[2] == "shadow of L2 1" and owners[3] == "shadow of L2 2"
    for n in m.nested:
        row = m.l0_row(n.shadow_lpid)
        gp = w.vm.nested.find(n.l1_lpid)
        assert row.dw0 == C.PATE0_HR | 0x4000_0000_0000_00A0 | gp.shadow_pgtable.root | 13
        assert row.dw1 == n.process_table == m.l1_row(n.l1_lpid).dw1
        assert n.l1_gr_to_hr == m.l1_row(n.l1_lpid).dw0
    assert "gp with shadow LPID 3, refcnt 1" in m.describe(2)
    assert "no entry in the L1's table" in m.describe(9)


def test_lpid_map_figure_says_what_the_record_says():
    w = two_l2s(seed=0, run=True)
    fig = draw_lpid_map(lpid_map(w.vm, highlight=1, note="hello"))
    assert isinstance(fig, Figure)
    text = figure_text(fig)
    for words in (
        "L1 LPID 1",
        "L1 LPID 2",
        "[1] → gp",
        "shadow LPID 2, refcnt 1",
        "PATE[2]",
        "PATE[3]",
        "PATE[0]",
        "the host",
        "max_nested_lpid = 2",
        "hello",
    ):
        assert words in text, words
    assert render_png(fig)[:4] == b"\x89PNG"


def test_lpid_map_empty_world_and_highlighted_hole():
    w = one_l1(seed=0)
    m = lpid_map(w.vm, highlight=7)
    assert m.nested == () and m.l1_rows == () and m.max_nested_lpid == -1
    assert m.lanes == [7]
    text = figure_text(draw_lpid_map(m))
    assert "L1 LPID 7" in text and "[7] = NULL" in text and "entry 0 (none)" in text
    assert "the L1 has no L2" not in text  # the highlighted lane is drawn instead
    assert "the L1 has no L2 yet" in figure_text(draw_lpid_map(lpid_map(w.vm)))


def test_lpid_map_keeps_at_most_max_lanes_and_the_highlight():
    w = one_l1(seed=0)
    for _ in range(MAX_LANES + 2):
        w.l1.create_l2(16 << 20)
    m = lpid_map(w.vm, highlight=MAX_LANES + 2)
    assert len(m.lanes) == MAX_LANES and m.lanes[-1] == MAX_LANES + 2
    assert f"(first {MAX_LANES} L1 LPIDs shown)" in figure_text(draw_lpid_map(m))


def test_lpid_map_redraws_in_place():
    w = two_l2s(seed=0, run=True)
    fig = draw_lpid_map(lpid_map(w.vm, highlight=1))
    again = draw_lpid_map(lpid_map(w.vm, highlight=2), fig=fig)
    assert again is fig and len(fig.axes) == 1


def test_table_cost_plot_uses_the_model_numbers():
    fig = draw_table_costs()
    text = figure_text(fig)
    none, one = nested_table_costs([]), nested_table_costs([1000])
    assert f"array {none['array']} B, IDR {none['dynamic']} B" in text
    assert f"array {one['array']} B, IDR {one['dynamic']} B" in text
    assert none == {"array": 8196, "dynamic": 24} and one["dynamic"] == 24 + 2 * 576
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["fixed array (4.20)", "IDR (later kernels)"]
    assert set(lines[0].get_ydata()) == {8196}


def test_race_figure_lanes_state_and_verdict():
    e = explore("create", recheck=False)
    i = e.find("0 1 0 1 0 1 0 1 0 1")
    fig = draw_race(i, e)
    text = figure_text(fig)
    assert f"Interleaving #{i.number} of 222: create race, without re-check" in text
    assert "210 of 222 broken" in text
    assert "5. kvmhv_get_nested  ✘ two-objects" in text
    assert "0. kvmhv_get_nested  [mmu_lock]" in text
    assert "✘ broken: two-objects, leak" in text
    assert "slot = gp#2" in text and "gp#1:2 gp#2:2" in text
    strip = fig.axes[1]
    assert strip.images[0].get_array().shape == (1, 222)
    assert list(strip.lines[0].get_xdata()) == [i.number, i.number]
    assert render_png(fig)[:4] == b"\x89PNG"


def test_race_figure_ok_case_reused_and_without_exploration():
    e = explore("create")
    fig = draw_race(e.interleavings[0], e)
    again = draw_race(e.interleavings[5], e, fig=fig)
    assert again is fig and len(fig.axes) == 2
    assert "✔ every invariant holds" in figure_text(fig)
    assert list(fig.axes[1].lines[0].get_xdata()) == [5, 5]
    lone = draw_race(run_schedule("remove", "0 0 0 0 0 1"))
    assert len(lone.axes) == 1 and "Interleaving: remove race" in figure_text(lone)


def test_state_text_marks_freed_objects():
    i = run_schedule("remove", "0 0 0 0 0 1")
    assert state_text(i.steps[4]) == ("slot = NULL", "gp#1:0†")
