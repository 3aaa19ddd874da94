"""The 2-D walk grid: every read in its cell, lit up to k, faults marked."""

from pynest.mmu import constants as C
from pynest.scenarios.guest import COLUMNS, ROWS, guest_world
from pynest.viz.style import figure_text
from pynest.viz.walk2d import describe_access, draw_walk2d, walk2d_grid, walk2d_text


def _walk(proc=C.PAGE_4K, part=C.PAGE_4K, seed=0):
    world = guest_world(seed, proc, part)
    return world.translate(world.eas[0])


def test_grid_of_a_4x4_walk():
    grid = walk2d_grid(_walk())
    assert grid.total == 31
    assert [grid.row_reads(r) for r in ROWS] == [2, 5, 5, 5, 5, 5, 4]
    for col in ("P0", "P1", "P2", "P3"):
        assert grid.column_reads(col) == 6  # PRTE, L0..L3, data
    assert grid.column_reads("entry") == 7  # PATE dw0/dw1, PRTE, L0..L3
    assert grid.cells[("PATE", "entry")].accesses == [1, 2]
    assert grid.cells[("L1", "P2")].accesses == [15]
    assert ("data", "entry") not in grid.cells  # the data access is not a table read


def test_grid_of_large_partition_pages():
    grid = walk2d_grid(_walk(C.PAGE_4K, C.PAGE_1G))
    assert grid.total == 19
    assert ("L0", "P2") not in grid.cells and ("L0", "P1") in grid.cells


def test_text_and_caption():
    t = _walk()
    text = walk2d_text(t, 12)
    assert "read 12 of 31: process-scoped L0" in text
    assert "31 memory reads = 2 + 5 + 5 + 5 + 5 + 5 + 4" in text
    assert "partition-scoped L3" in describe_access(walk2d_grid(t), 31)
    assert "data's guest real address" in describe_access(walk2d_grid(t), 31)


def test_figure_lights_up_to_k_and_reuses_artists():
    t = _walk()
    fig = draw_walk2d(t, 3)
    text = figure_text(fig)
    assert "#3" in text and "#4" not in text and "not yet" in text
    assert "read 3 of 31" in text
    n_texts, n_patches = len(fig.texts), len(fig.patches)
    same = draw_walk2d(t, 31, fig=fig)
    assert same is fig and len(fig.texts) == n_texts and len(fig.patches) == n_patches
    text = figure_text(fig)
    assert "#31" in text and "not yet" not in text
    assert "#1,2" in text and "dw0+dw1" in text


def test_fault_cell_is_marked():
    world = guest_world(0, C.PAGE_2M, C.PAGE_1G)
    t = world.translate(world.pages[0][0] + 2 * C.PAGE_2M)
    assert t.fault is not None
    text = figure_text(draw_walk2d(t))
    assert "FAULT: V=0" in text and "DSI" in text
    grid = walk2d_grid(t)
    assert grid.order[-1] == ("L2", "entry")


def test_rows_and_columns_are_the_documented_ones():
    assert ROWS == ("PATE", "PRTE", "L0", "L1", "L2", "L3", "data")
    assert COLUMNS == ("P0", "P1", "P2", "P3", "entry")


def test_a_reused_figure_draws_another_walk_as_a_fresh_one_does():
    """draw_walk2d(fig=...) retitles the kept grid for another walk (no rebuild); the
    picture equals a fresh figure's, for faults and other page sizes too."""
    from pynest.viz.pictures import render_svg
    from pynest.widgets.frames import fingerprint

    first = guest_world(0, C.PAGE_4K, C.PAGE_4K)
    other = guest_world(1, C.PAGE_64K, C.PAGE_2M)
    hole = first.pages[0][0] + C.PAGE_2M * 2
    walks = [first.translate(first.eas[0]), other.translate(other.eas[1]), first.translate(hole)]
    fig = draw_walk2d(walks[0], 2)
    for t in walks[1:] + walks[:1]:
        for upto in (None, 0, 1, t.memory_reads):
            reused = draw_walk2d(t, upto, fig=fig)
            assert reused is fig
            fresh = draw_walk2d(t, upto)
            assert fingerprint(reused) == fingerprint(fresh)
            assert render_svg(reused) == render_svg(fresh)
    assert not walks[2].ok  # the hole faults: its grid ends in the fault cell
