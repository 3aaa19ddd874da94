"""The H_SET_PARTITION_TABLE figure: what it says for hand-checked calls."""

import pytest
from matplotlib.figure import Figure

from pynest.kvm.host import L0
from pynest.scenarios.set_ptbl import set_ptbl_outcome
from pynest.viz.pictures import render_png
from pynest.viz.set_ptbl import draw_set_ptbl
from pynest.viz.style import figure_text

MB = 1 << 20


@pytest.fixture
def vm():
    vm = L0().create_l1(256 * MB)
    vm.l1_ptcr = 0x1004002
    return vm


def test_success_shows_code_checks_and_new_ptcr(vm):
    fig = draw_set_ptbl(set_ptbl_outcome(vm, 0x2000004))
    assert isinstance(fig, Figure)
    text = figure_text(fig)
    assert "r3 = H_SUCCESS (0)" in text
    assert "size: PRTS <= 4: pass" in text and "base in a visible memslot: pass" in text
    assert "PRTS 4 -> 2^12 = 4096 entries (64 KiB)" in text
    assert "0x1004002 → 0x2000004" in text
    assert "table 0x2000000 +64 KiB (inside)" in text
    assert render_png(fig)[:4] == b"\x89PNG"


def test_rejected_prts_and_base(vm):
    text = figure_text(draw_set_ptbl(set_ptbl_outcome(vm, 0x10000005)))
    assert "r3 = H_PARAMETER (-4)" in text and "0xfffffffffffffffc" in text
    assert "size: PRTS <= 4: FAIL" in text and "base in a visible memslot: FAIL" in text
    assert "frame 0x1000; L1 frames 0..0xfff" in text
    assert "0x1004002 (kept)" in text and "beyond the end" in text


def test_straddling_table_is_marked(vm):
    text = figure_text(draw_set_ptbl(set_ptbl_outcome(vm, 0xFFFF004)))
    assert "straddles the end" in text and "not L1 memory" in text


def test_nesting_off_checks_not_run():
    vm = L0().create_l1(128 * MB, nesting=False)
    text = figure_text(draw_set_ptbl(set_ptbl_outcome(vm, 0x1004002)))
    assert "r3 = H_FUNCTION (-2)" in text and text.count(": not run") == 2
    assert "handler not called" in text


def test_deregister_and_redraw_in_place(vm):
    first = draw_set_ptbl(set_ptbl_outcome(vm, 0x2000004))
    n_texts = len(first.texts)
    vm.l1_ptcr = 0x1004002
    again = draw_set_ptbl(set_ptbl_outcome(vm, 0), fig=first)
    assert again is first and len(first.axes) == 1
    text = figure_text(again)
    assert "PTCR 0: no table (deregister)" in text and "0x2000004" not in text
    assert abs(len(again.texts) - n_texts) <= 2


def test_far_away_table_breaks_the_scale(vm):
    text = figure_text(draw_set_ptbl(set_ptbl_outcome(vm, 0x7FFF_0000_0000 | 31)))
    assert "scale broken" in text and "+8 TiB (beyond the end)" in text
    assert "0x10000000 (256 MiB)" in text  # memory keeps its label when dwarfed
    near = figure_text(draw_set_ptbl(set_ptbl_outcome(vm, 0x20000004)))
    assert "scale broken" not in near
