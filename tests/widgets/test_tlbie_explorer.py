"""TlbieExplorer headless: operands from Python, removed entries and H_* codes shown."""

import pytest

from pynest.viz.style import figure_text
from pynest.widgets.tlbie_explorer import TlbieExplorer


@pytest.fixture(scope="module")
def explorer():
    return TlbieExplorer(seed=0)


def test_starts_with_one_lpid_flush(explorer):
    assert "H_SUCCESS" in explorer.status.value
    assert "removed 4 TLB entries and 7 shadow PTEs" in explorer.status.value
    assert figure_text(explorer.figure).count("REMOVED") == 11


def test_lpid_slider_moves_the_flush(explorer):
    explorer.lpid.value = 2
    assert {s.l1_lpid for s in explorer.outcome.removed_shadow} == {2}
    explorer.lpid.value = 5  # no such nested guest: nothing to do
    assert "H_SUCCESS" in explorer.status.value and not explorer.outcome.removed_shadow
    explorer.lpid.value = 1


def test_refused_operands_show_h_parameter(explorer):
    explorer.prs.value = 1
    assert "H_PARAMETER (-4)" in explorer.status.value
    explorer.prs.value = 0
    explorer.is_.value = 1
    assert "H_PARAMETER" in explorer.status.value
    explorer.is_.value = 2


def test_one_page_and_hardware_tlbie(explorer):
    explorer.is_.value = 0
    explorer.ap.value = 5
    explorer.epn.value = "0x805000"
    assert [s.gpa for s in explorer.outcome.removed_shadow] == [0x800000]
    explorer.who.value = "L0"
    explorer.lpid.value = 2
    assert "tlbie done" in explorer.status.value
    assert not explorer.outcome.removed_shadow and len(explorer.outcome.removed_tlb) == 1
    explorer.ric.value = 3
    assert "invalid form" in explorer.status.value
    explorer.ric.value = 0
    explorer.who.value = "L1"
    explorer.is_.value = 2
    explorer.lpid.value = 1


@pytest.mark.parametrize(
    ("typed", "words"),
    [("not-a-number!", "not a number"), ("-1", "negative"), ("0x1" + "0" * 17, "does not fit")],
)
def test_garbage_epn_gives_a_message(typed, words):
    e = TlbieExplorer(seed=0)
    e.epn.value = typed
    assert words in e.error and words in e.message.value
    e.epn.value = "0x900000"
    assert e.error == "" and "H_SUCCESS" in e.status.value
