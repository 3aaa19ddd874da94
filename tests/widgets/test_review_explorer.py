"""Notebook 12's cost figure and NestedTableCostExplorer, headless.

Hand-checked: the 4.20 array is 1024 8-byte pointers + a 4-byte int = 8196 bytes
whatever the lpids; the IDR estimate is 24 + 576 per 64-slot xarray node, so lpids
1..63 cost 600 bytes, and 1..64 cost 24 + 3 * 576 = 1752 (two leaves and a node above).
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pynest.kvm.nested import idr_memory_cost
from pynest.viz.review import cost_record, draw_table_costs, lpid_pattern
from pynest.widgets.review_explorer import NestedTableCostExplorer


def test_patterns():
    assert lpid_pattern("dense", 3) == [1, 2, 3]
    assert lpid_pattern("spread", 4, 100) == [25, 50, 75, 100]
    assert lpid_pattern("random", 5, 100, seed=1) == lpid_pattern("random", 5, 100, seed=1)
    assert set(lpid_pattern("random", 5, 100)) <= set(lpid_pattern("random", 6, 100))
    for bad in (("nope", 1, 10), ("dense", 11, 10), ("spread", 1, 5000), ("dense", -1, 10)):
        with pytest.raises(ValueError):
            lpid_pattern(*bad)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["spread", "random"]), st.integers(1, 4095), st.data())
def test_pattern_gives_n_distinct_lpids_in_range(pattern, highest, data):
    n = data.draw(st.integers(0, min(highest, 300)))
    lpids = lpid_pattern(pattern, n, highest)
    assert len(set(lpids)) == n and all(1 <= lp <= highest for lp in lpids)
    assert lpids == sorted(lpids)


def test_cost_record_vectors():
    rec = cost_record("dense", 63)
    assert rec.array_bytes == 8196 and rec.array_4096_bytes == 8 * 4096 + 4
    assert rec.idr_bytes == 600 and rec.idr_levels == (1,) and rec.beyond_array == ()
    rec = cost_record("dense", 64)
    assert rec.idr_bytes == 1752 and rec.idr_levels == (2, 1)
    rec = cost_record("spread", 2, 4095)
    assert rec.lpids == (2048, 4095) and rec.beyond_array == (2048, 4095)
    assert rec.idr_bytes == idr_memory_cost([2048, 4095]) == 24 + 3 * 576
    assert dict(zip(rec.curve_n, rec.curve_idr, strict=True))[2] == rec.idr_bytes


def test_figure_redraws_in_place():
    rec = cost_record("dense", 10)
    fig = draw_table_costs(rec, "dynamic")
    assert "IDR: 600 bytes for 10 guests" in fig._suptitle.get_text()
    again = draw_table_costs(cost_record("spread", 10, 4095), "array", fig=fig)
    assert again is fig and len(fig.axes) == 2
    assert "fixed array: 8196 bytes" in fig._suptitle.get_text()
    grid = fig._pynest_costs["img"].get_array()
    assert (grid[16:, :] >= 2).all()  # no array slot past lpid 1023: guests or "no slot"
    assert (grid[:16, :] >= 1).all()  # the 1024 slots are always there
    with pytest.raises(ValueError):
        draw_table_costs(rec, "tree")


@pytest.fixture
def ex():
    return NestedTableCostExplorer()


def test_explorer_starts_dense(ex):
    assert ex.error == "" and ex.record.lpids == (1, 2, 3, 4)
    assert "IDR 600 bytes" in ex.text and "smaller: the IDR" in ex.text


def test_guest_slider_changes_picture(ex):
    title = ex.figure._suptitle.get_text()
    ex.guests.value = 64
    assert ex.record.idr_bytes == 1752 and ex.figure._suptitle.get_text() != title
    ex.guests.value = 1023  # the slider's end: lpids 1..1023 (lpid 0 is the L1 itself)
    assert (
        ex.guests.max == 1023
        and ex.record.idr_bytes == 24 + 17 * 576
        and "smaller: the array" in ex.text
    )


def test_spread_and_array_limit(ex):
    assert ex.highest.disabled  # dense: the highest lpid is the guest count
    ex.layout.value = "spread"
    assert not ex.highest.disabled
    ex.guests.value = 3
    ex.highest.value = 4095
    assert ex.record.lpids == (1365, 2730, 4095)
    ex.table.value = "array"
    assert "H_PARAMETER" in ex.text and "cannot hold 3" in ex.text
    ex.highest.value = 1000
    assert "H_PARAMETER" not in ex.text


def test_more_guests_than_highest_is_explained(ex):
    ex.layout.value = "random"
    ex.highest.value = 10
    ex.guests.value = 50
    assert ex.error == "" and "highest raised to 50" in ex.text
    assert len(ex.record.lpids) == 50


def test_bad_constructor_values_fall_back():
    ex = NestedTableCostExplorer(n=-5, highest=99999, pattern="zig", table="tree")
    assert ex.error == "" and ex.record.n == 0 and ex.layout.value == "dense"
