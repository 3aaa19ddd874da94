"""The shadow-tree figures: the rows they read from memory and what they draw.

Hand-checked vector: in ``shadow_world(64K, 2M)`` the L1 is LPID 1 with memory at host
0x10000000, its L2's memory starts at L1 real 0x4000000, and L0's first shadow LPID is 2.
A store to L2 real 0x812340 maps L2 page 0x810000 -> L1 0x4810000 (64K), L1 2M page
0x4800000 -> host 0x14800000, so the shadow PTE is 0x810000 -> 0x14810000 (64K).
"""

import pytest
from matplotlib.figure import Figure

from pynest.errors import ConfigError
from pynest.mmu import constants as C
from pynest.scenarios.shadow import PAGE_TABLES, shadow_world, touch
from pynest.viz.pictures import render_png
from pynest.viz.shadow_trees import (
    KernelSteps,
    PageSizeCase,
    TreeRow,
    draw_kernel_steps,
    draw_page_sizes,
    draw_shadow_trees,
    read_shadow_trees,
)
from pynest.viz.style import figure_text


@pytest.fixture(scope="module")
def views():
    w = shadow_world(C.PAGE_64K, C.PAGE_2M)
    before = read_shadow_trees(w.vm, w.l2, w.gp, table_range=PAGE_TABLES)
    touch(w, 0x812340, "store")
    after = read_shadow_trees(
        w.vm, w.l2, w.gp, 0x812340, previous=before, table_range=PAGE_TABLES, caption="one"
    )
    return w, before, after


def _row(panel, addr):
    return next(r for r in panel.rows if r.addr == addr)


def test_before_the_l2_runs_there_is_no_shadow_tree(views):
    w, before, _after = views
    assert before.shadow.rows == () and "none yet" in before.shadow.title
    # the L1 built the L2's process table and page tables in L2 memory: mapped already
    assert [r.addr for r in before.l1_tree.rows] == [0x100000, 0x110000, 0x120000]
    assert all(r.note == "L2 page tables" for r in before.l1_tree.rows)


def test_rows_after_one_store(views):
    w, _before, after = views
    assert w.vm.mem_base == 0x1000_0000 and w.l2.l1_gpa_base == 0x400_0000
    l1 = _row(after.l1_tree, 0x810000)
    assert (l1.target, l1.size, l1.hot, l1.new) == (0x4810000, C.PAGE_64K, True, True)
    l0 = _row(after.l0_tree, 0x4800000)
    assert (l0.target, l0.size, l0.hot, l0.new) == (0x14800000, C.PAGE_2M, True, True)
    sh = _row(after.shadow, 0x810000)
    assert (sh.target, sh.size, sh.hot, sh.new) == (0x14810000, C.PAGE_64K, True, True)
    assert sh.perms == "rwx" and sh.rc == "RC"  # the store: L1 PTE has R and C
    assert "LPID 2" in after.shadow.title
    # L0 runs 4.20 (the default): a shadow PTE takes R/C from L0's PTE, and L0's PTEs for
    # the table pages have C because the L1 wrote the L2's tables (row nested-rc)
    assert {r.rc for r in after.shadow.rows if r.note} == {"RC"}
    assert after.notes == ("L2 real 0x812340 → L1 real 0x4812340 → host real 0x14812340",)


def test_under_5_0_the_table_pages_have_r_without_c():
    """5.0 gives C only where the L1's PTE has C and the fault is a store: the walk only
    read the table pages, so their shadow PTEs are R- (row nested-rc)."""
    w = shadow_world(C.PAGE_64K, C.PAGE_2M, l0_kernel="5.0")
    touch(w, 0x812340, "store")
    after = read_shadow_trees(w.vm, w.l2, w.gp, 0x812340, table_range=PAGE_TABLES)
    assert {r.rc for r in after.shadow.rows if r.note} == {"R-"}
    assert _row(after.shadow, 0x810000).rc == "RC"


def test_composition_holds_for_every_shadow_row(views):
    _w, _before, after = views
    for sh in after.shadow.rows:
        l1 = next(r for r in after.l1_tree.rows if r.addr <= sh.addr < r.addr + r.size)
        l1_addr = l1.target + (sh.addr - l1.addr)
        l0 = next(r for r in after.l0_tree.rows if r.addr <= l1_addr < r.addr + r.size)
        assert sh.target == l0.target + (l1_addr - l0.addr)
        assert sh.size <= min(l1.size, l0.size)


def test_text_marks_hot_and_new(views):
    text = views[2].text()
    assert "*+0x000810000 -> 0x014810000 64K rwx RC" in text
    assert text.startswith("one")
    assert "more outside the L2's memory" in text  # L0 also backs the L1's own tables


def test_removed_rows_are_counted():
    w = shadow_world()
    touch(w, 0x812340, "store")
    v1 = read_shadow_trees(w.vm, w.l2, w.gp)
    w.l1.unmap_l2_page(w.l2, 0x812340)
    v2 = read_shadow_trees(w.vm, w.l2, w.gp, previous=v1)
    assert v2.shadow.removed == 1 and v2.l1_tree.removed == 1 and v2.l0_tree.removed == 0


def test_draw_shadow_trees_says_what_the_rows_say(views):
    fig = draw_shadow_trees(views[2])
    assert isinstance(fig, Figure)
    text = figure_text(fig)
    assert "0x0810000 → 0x14810000 64K rwx RC" in text
    assert "L1's tree for its L2 (lpid 1)" in text and "shadow tree (LPID 2)" in text
    assert "new" in text and "tables" in text
    assert "L2 real 0x812340 → L1 real 0x4812340 → host real 0x14812340" in text
    assert render_png(fig).startswith(b"\x89PNG")


def test_redraw_reuses_the_figure_and_replaces_its_contents(views):
    _w, before, after = views
    fig = draw_shadow_trees(after)
    axes = fig.axes[0]
    again = draw_shadow_trees(before, fig=fig, title="before")
    assert again is fig and fig.axes == [axes]
    text = figure_text(fig)
    assert "before" in text and "0x14810000" not in text and "(empty)" in text


def test_long_panels_are_windowed_around_the_marked_row():
    rows = tuple(TreeRow(i << 16, i << 16, C.PAGE_64K, C.PTE_V | C.PTE_L) for i in range(30))
    from pynest.viz.shadow_trees import ShadowTreesView, TreePanel

    hot = tuple(
        r if r.addr != 20 << 16 else TreeRow(r.addr, r.target, r.size, r.pte, hot=True)
        for r in rows
    )
    panel = TreePanel("shadow", "shadow tree", "x", hot)
    empty = TreePanel("l1", "a", "b", ())
    fig = draw_shadow_trees(
        ShadowTreesView(empty, TreePanel("l0", "c", "d", ()), panel), max_rows=5
    )
    text = figure_text(fig)
    assert "0x0140000" in text and "0x0000000 →" not in text
    assert "above" in text and "below" in text


def test_draw_page_sizes():
    fig = draw_page_sizes([PageSizeCase(C.PAGE_2M, C.PAGE_1G, C.PAGE_64K, "smaller than both!")])
    text = figure_text(fig)
    assert "2M × 1G" in text and "1G" in text and "64K" in text
    assert "smaller than both!" in text


def test_draw_kernel_steps_one_column_per_kernel():
    cols = [
        KernelSteps("4.20", ("store", "no SET_RC"), "harvest 2 misses it", ok=False),
        KernelSteps("5.0", ("store", "SET_RC reflected", "L1 sets C"), "harvest 2 lists it"),
    ]
    fig = draw_kernel_steps(cols, "dirty log")
    text = figure_text(fig)
    for want in (
        "dirty log",
        "L0 runs Linux 4.20",
        "L0 runs Linux 5.0",
        "1. store",
        "3. L1 sets C",
    ):
        assert want in text
    assert "3. " not in text.split("L0 runs Linux 5.0")[0]  # 4.20 has two steps only
    faces = {p.get_facecolor()[:3] for p in fig.patches}
    assert len(faces) == 3  # step boxes, a failed outcome, a good outcome
    fig2 = draw_kernel_steps(cols[:1], "again", fig=fig)
    assert fig2 is fig and "L0 runs Linux 5.0" not in figure_text(fig)
    with pytest.raises(ConfigError):
        draw_kernel_steps([], "nothing")
