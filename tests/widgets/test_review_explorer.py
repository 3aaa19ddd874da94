"""Notebook 12's explorers, headless: NestedTableCostExplorer with its cost figure, and
ReviewThreadExplorer (the nine review points; its states are snapshot below).

Hand-checked: the 4.20 array is 1024 8-byte pointers + a 4-byte int = 8196 bytes
whatever the lpids; the IDR estimate is 24 + 576 per 64-slot xarray node, so lpids
1..63 cost 600 bytes, and 1..64 cost 24 + 3 * 576 = 1752 (two leaves and a node above).
"""

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pynest.errors import ConfigError
from pynest.kvm.nested_table import idr_memory_cost
from pynest.viz.review import REVIEW_POINTS, cost_record, draw_table_costs, lpid_pattern, point
from pynest.widgets.review_explorer import NestedTableCostExplorer, ReviewThreadExplorer


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


# ------------------------------------------------------------------ the review thread
# The states of ReviewThreadExplorer: for each point, the status line it shows (a
# snapshot: change it only with the text of pynest.viz.review).
STATUS = {
    ("reviewed-by", "merged"): "1. Reviewed-by; a v3 is coming: 4.20 as merged: merged for "
    "4.20 with the Reviewed-by. The model has no other run for this point.",
    ("nested-array", "merged"): "2. nested_guests[] could be large: 4.20 as merged: every VM "
    "pays 8,196 bytes, nesting or not. The other run: the IDR of 5.19.",
    ("nested-array", "alternative"): "2. nested_guests[] could be large: instead, the IDR of "
    "5.19: a VM without nested guests pays 24 bytes. (4.20 as merged: every VM pays 8,196 "
    "bytes, nesting or not.)",
    ("init-errno", "alternative"): "4. errno, not bool, from init: instead, v2's bool: three "
    "different failures, one answer: false. (4.20 as merged: 0, -ENODEV or -ENOMEM: the "
    "cause reaches the module loader.)",
    ("remove-race", "alternative"): "8. the gp == nested_guests[lpid] test: instead, no == gp "
    "test: 140 of 148 orders break an invariant. (4.20 as merged: the test keeps a second "
    "remove from dropping a reference again.)",
}


@pytest.fixture
def thread():
    return ReviewThreadExplorer()


def _status(ex):
    return re.sub(r"<[^>]+>", "", ex.status.value).replace("&#x27;", "'").replace("&amp;", "&")


def test_thread_starts_at_point_one(thread):
    assert thread.error == "" and thread.point.value == "reviewed-by"
    assert [o[1] for o in thread.point.options] == [p.key for p in REVIEW_POINTS]
    assert thread.run.disabled and thread.run.value == "merged"
    assert _status(thread) == STATUS[("reviewed-by", "merged")]
    assert "Paul Mackerras, 2 Oct 2018" in thread.card.value
    assert thread.figure._pynest_review["point"] == 1


@pytest.mark.parametrize("state", sorted(STATUS), ids=lambda s: "-".join(s))
def test_thread_status_snapshots(thread, state):
    key, run = state
    thread.point.value = key
    thread.run.value = run
    assert thread.error == "" and _status(thread) == STATUS[state]
    assert thread.figure._pynest_review == {
        **thread.figure._pynest_review,
        "point": point(key).number,
        "variant": run,
    }


@pytest.mark.parametrize("p", REVIEW_POINTS, ids=lambda p: p.key)
def test_every_point_shows_card_model_and_figure(thread, p):
    thread.point.value = p.key
    assert thread.error == ""
    assert thread.run.disabled == (not p.alternative)
    text = thread.render_text()
    for part in (p.where, p.review, p.reply, p.merged, *thread.result.lines):
        assert part in text
    assert html.escape(p.merged) in thread.card.value
    meta = thread.figure._pynest_review
    assert meta["point"] == p.number and meta["variant"] == "merged"
    colour = "#000000" if thread.result.ok else "#D55E00"
    assert colour in thread.status.value


def test_alternative_falls_back_where_there_is_none(thread):
    thread.point.value = "ptcr-check"
    thread.run.value = "alternative"
    assert "v2 stored any r4" in thread.render_text() and not thread.result.ok
    figure = thread.figure
    thread.point.value = "ptbl-flush"  # no alternative: back to the merged run, greyed out
    assert thread.run.value == "merged" and thread.run.disabled and thread.error == ""
    assert thread.result.variant == "merged" and thread.figure is figure  # redrawn in place
    assert "H_TLB_INVALIDATE" in thread.render_text()


def test_thread_constructor():
    ex = ReviewThreadExplorer(8, "alternative")
    assert ex.point.value == "remove-race" and ex.result.variant == "alternative"
    assert ReviewThreadExplorer("reviewed-by", "alternative").run.value == "merged"
    for bad in ((10, "merged"), ("x", "merged"), (1, "v1")):
        with pytest.raises(ConfigError):
            ReviewThreadExplorer(*bad)
