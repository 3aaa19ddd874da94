"""The invalidation figure: entries before the op, removed ones marked, the H_* code."""

from pynest.scenarios.tlbie import TlbieOp, lab
from pynest.viz.style import figure_text
from pynest.viz.tlb_view import draw_tlbie, tlbie_text


def test_removed_rows_are_marked():
    out = lab(0).issue(TlbieOp("L1", 0, 0, 1, 0, 1, 1, 0, 0x800000))
    fig = draw_tlbie(out)
    text = figure_text(fig)
    assert text.count("REMOVED") == 4  # T2, T3, S5, S6
    assert "H_SUCCESS (0): removed 2 of 8 TLB entries, 2 of 14 shadow PTEs" in text
    assert "RB 0x0000000000800020" in text
    assert "T2 REMOVED" in tlbie_text(out) and "T1 kept" in tlbie_text(out)


def test_same_lab_reuses_artists_and_shows_refusal():
    lb = lab(0)
    fig = draw_tlbie(lb.issue(TlbieOp("L1", 0, 0, 1, 3)))
    assert figure_text(fig).count("REMOVED") == 22
    n = len(fig.texts)
    again = draw_tlbie(lb.issue(TlbieOp("L1", 0, 1, 1, 2, 0, 1)), fig=fig)
    assert again is fig and len(fig.texts) == n
    text = figure_text(fig)
    assert "REMOVED" not in text and "H_PARAMETER (-4)" in text


def test_hardware_tlbie_invalid_form():
    out = lab(0).issue(TlbieOp("L0", 3, 0, 1, 2, 0, 2))
    assert "invalid form: RIC=3 is reserved" in figure_text(draw_tlbie(out))
