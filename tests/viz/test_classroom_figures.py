"""The classroom-demo figure: what each step's picture says, in text and in size."""

import pytest

from pynest.scenarios.classroom import EMPTY_PTCR, PTCR_STEP, STEP_KEYS, classroom_story
from pynest.viz import style as S
from pynest.viz.classroom import L2_COLOURS, draw_classroom_step, hcall_lines, owner_colour


@pytest.fixture(scope="module")
def story():
    return classroom_story(0)


def _draw(story, i):
    prev = story[i - 1] if i else None
    return draw_classroom_step(story[i], prev, total=len(story), keys=STEP_KEYS)


def test_every_step_draws_a_projector_sized_figure(story):
    for i, snap in enumerate(story):
        fig = _draw(story, i)
        text = S.figure_text(fig)
        assert f"Step {snap.number} of 12 · {snap.title}" in text
        assert "L0 · the host hypervisor" in text and "What just happened" in text
        assert tuple(fig.get_size_inches()) == (14.0, 10.0)
        assert min(t.get_fontsize() for t in fig.texts) >= S.SMALL_SIZE


def test_rows_and_owners_after_both_l2s_ran(story):
    text = S.figure_text(_draw(story, STEP_KEYS.index("run-l2-b")))
    for lpid, owner in ((0, "host"), (1, "L1"), (2, "shadow of L2 1"), (3, "shadow of L2 2")):
        row = next(r for r in story.step("run-l2-b").l0_rows if r.lpid == lpid)
        assert f"PATE[{lpid}] {row.dw0:016x} {row.dw1:016x}  {owner}" in text
    assert "L2 2 → shadow LPID 3 · refcnt 1 · 7 shadow PTEs" in text
    assert "L1 · guest hypervisor (LPID 1)" in text
    assert "H_ENTER_NESTED ×5 -> 0xe20, 0xe00, 0xe00, 0xe00, 0xc00" in text
    # PATE[3] and the nested guest of L2 2, then its 7 shadow PTEs each tagged "new"
    assert text.splitlines().count("new") == 2 + 7


def test_new_and_removed_are_written_not_only_coloured(story):
    fault = S.figure_text(_draw(story, STEP_KEYS.index("fault")))
    assert "0xc00000→0x14c00000 rwx RC" in fault and "new" in fault.split("0x14c00000")[1]
    inval = S.figure_text(_draw(story, STEP_KEYS.index("invalidate")))
    assert "✘ 1 removed in this step" in inval and "0x14c00000" not in inval
    flush = S.figure_text(_draw(story, PTCR_STEP + 1))
    assert flush.count("✘ 7 removed in this step") == 2
    empty = classroom_story(0, EMPTY_PTCR)
    text = S.figure_text(_draw(empty, PTCR_STEP + 1))
    assert "PATE[2] (shadow of L2 1) zeroed" in text and "✘ gone" in text
    assert "L2 1: shadow LPID 2 freed" in text


def test_l1_panel_before_and_after(story):
    assert "not created yet" in S.figure_text(_draw(story, 0))
    assert "destroyed: its LPID is free again" in S.figure_text(_draw(story, 11))
    text = S.figure_text(_draw(story, 2))
    assert "l1_ptcr (kept by L0) = 0x1004002" in text and "● changed" in text
    assert "1024 rows" in text and "none (all rows zero)" in text
    assert "no partition table registered" in S.figure_text(_draw(story, 10))


def test_hcall_lines_fold_enter_nested_runs():
    calls = (
        "H_ENTER_NESTED(r4=0x1 r5=0x2) -> trap 0xe00",
        "H_ENTER_NESTED(r4=0x1 r5=0x2) -> trap 0xc00",
        "H_TLB_INVALIDATE(r4=0x10000 r5=0x1 r6=0x0) -> H_SUCCESS",
        "H_ENTER_NESTED(r4=0x1 r5=0x2) -> trap 0xc00",
    )
    assert hcall_lines(calls, limit=5) == [
        "H_ENTER_NESTED ×2 -> 0xe00, 0xc00",
        calls[2],
        calls[3],
    ]
    assert hcall_lines(calls, limit=2) == [
        "H_ENTER_NESTED ×2 -> 0xe00, 0xc00",
        "... and 2 more hcalls",
    ]
    assert hcall_lines(()) == []


def test_colours_are_okabe_ito():
    assert owner_colour("host") == S.GREY and owner_colour("L1") == S.BLUE
    assert owner_colour("shadow of L2 2", 2) == L2_COLOURS[1] == S.SKY_BLUE
    assert set(L2_COLOURS) <= set(S.OKABE_ITO)


def test_creating_the_l2s_shows_the_flush_after_each_row_write(story):
    """E1: every released kernel follows the L1's row write with kvmhv_flush_lpid, so
    step 4's picture lists two H_TLB_INVALIDATE RIC=2 IS=2 calls, not 'no hcall'."""
    text = S.figure_text(_draw(story, STEP_KEYS.index("create-l2s")))
    assert "no hcall in this step" not in text
    for lpid in (1, 2):
        assert f"H_TLB_INVALIDATE(r4=0x90000 r5={lpid:#x} r6=0x800) -> H_SUCCESS" in text
