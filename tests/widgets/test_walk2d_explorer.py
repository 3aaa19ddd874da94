"""Walk2DExplorer headless: controls set from Python, the grid and the words follow."""

import pytest

from pynest.mmu import constants as C
from pynest.viz.style import figure_text
from pynest.widgets.walk2d_explorer import Walk2DExplorer


@pytest.fixture(scope="module")
def explorer():
    return Walk2DExplorer(seed=0)


def test_starts_with_the_whole_4x4_walk(explorer):
    assert explorer.access.max == 31 and explorer.access.value == 31
    assert "read 31 of 31" in explorer.status.value
    assert "31 memory reads" in explorer.text
    assert explorer.figures and "#31" in figure_text(explorer.figures[0])


def test_slider_lights_reads(explorer):
    explorer.access.value = 8
    assert "read 8 of 31" in explorer.status.value
    assert "translating the L0 entry" in explorer.status.value
    assert "#8" in figure_text(explorer.figure) and "#9" not in figure_text(explorer.figure)
    explorer.access.value = 0
    assert "nothing read yet" in explorer.status.value
    explorer.access.value = 31


def test_page_sizes_change_the_count(explorer):
    explorer.part_page.value = C.PAGE_2M
    assert explorer.access.max == 25 and "25 reads" in explorer.status.value
    explorer.proc_page.value = C.PAGE_1G
    assert explorer.access.max == 2 + 4 + 2 * 4 + 3
    explorer.proc_page.value = C.PAGE_4K
    explorer.part_page.value = C.PAGE_4K
    assert explorer.access.max == 31


def test_unmapped_example_faults(explorer):
    explorer.example.index = 2
    assert explorer.translation.fault is not None
    assert "DSI" in explorer.status.value
    explorer.example.index = 0
    assert explorer.translation.ok


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("not-a-number!", "not a number"),
        ("-5", "negative"),
        ("0x1" + "0" * 20, "does not fit"),
        ("", "empty"),
    ],
)
def test_garbage_gives_a_message_and_stays_usable(typed, words):
    e = Walk2DExplorer(seed=1)
    before = e.status.value
    e.ea_text.value = typed
    assert words in e.error and words in e.message.value
    assert e.status.value == before
    e.ea_text.value = f"{e.world.eas[1]:#x}"
    assert e.error == "" and e.translation.ok


def test_an_ea_the_guest_may_not_use_is_a_segment_fault():
    e = Walk2DExplorer(seed=2)
    e.ea_text.value = "0x4000000000000000"  # quadrant 1 from a guest
    assert e.error == ""
    assert e.translation.fault.interrupt == "DSEG"
    assert e.access.max == 0 and "nothing read yet" in e.status.value
