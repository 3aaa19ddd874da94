"""Notebook 04's read counts and 2-D/3-D walks, and the walk2d/tlbie exercises."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pynest.errors import ConfigError, FieldError
from pynest.exercises.walk2d import GENERATORS as WALK2D_GENERATORS
from pynest.exercises.walk2d import CellAnswer, walk2d_count
from pynest.mmu import constants as C
from pynest.scenarios import direct_translate, two_l2s
from pynest.scenarios.guest import (
    guest_walk_reads,
    guest_world,
    kth_access,
    tree_levels,
    walk_3d,
    walk_reads,
)

SIZES = st.sampled_from(C.PAGE_SIZES)


# ----------------------------------------------------------------------- counting
def test_hand_checked_counts():
    assert walk_reads(4) == 4  # a native walk
    assert walk_reads(4, 4) == 24  # the classic 2-D figure
    assert walk_reads(4, 3) == 19  # 2M partition pages
    assert walk_reads(4, 4, 4) == 124  # three dimensions
    assert guest_walk_reads(4, 4) == 31  # + PATE 2 + PRTE 5
    assert guest_walk_reads(4, 3) == 25  # the fact sheet's worked example 4
    assert [tree_levels(s) for s in C.PAGE_SIZES] == [4, 4, 3, 2]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "4"])
def test_walk_reads_refuses_nonsense(bad):
    with pytest.raises(FieldError):
        walk_reads(4, bad)


def test_tree_levels_refuses_other_sizes():
    with pytest.raises(FieldError):
        tree_levels(8192)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), proc=SIZES, part=SIZES)
def test_model_counts_match_the_formula(seed, proc, part):
    world = guest_world(seed, proc, part)
    for ea in world.eas:
        t = world.translate(ea)
        assert t.ok, str(t)
        assert t.memory_reads == guest_walk_reads(tree_levels(proc), tree_levels(part))
        trees = [s for s in t.steps if s.tree in ("process", "partition")]
        prte_part = [s for s in trees if s.purpose.startswith("PRTE")]
        assert len(trees) - len(prte_part) == walk_reads(tree_levels(proc), tree_levels(part))
        assert t.page_size == min(proc, part)


def test_kth_access_of_a_4x4_walk():
    t = guest_world(0).translate(guest_world(0).eas[0])
    assert [kth_access(t, k) for k in (1, 2, 3, 7, 8, 12, 27, 28, 31)] == [
        ("PATE", "entry"),
        ("PATE", "entry"),
        ("PRTE", "P0"),
        ("PRTE", "entry"),
        ("L0", "P0"),
        ("L0", "entry"),
        ("L3", "entry"),
        ("data", "P0"),
        ("data", "P3"),
    ]
    for bad in (0, 32, -1, "3"):
        with pytest.raises(FieldError):
            kth_access(t, bad)


def test_a_fault_ends_the_count_where_the_walk_stops():
    world = guest_world(1, C.PAGE_2M, C.PAGE_1G)
    t = world.translate(world.pages[0][0] + 2 * C.PAGE_2M)
    assert t.fault is not None and t.fault.interrupt == "DSI"
    assert t.memory_reads == 2 + 3 + 3 * 3  # PATE, PRTE, L0..L2 (V=0 at L2)


def test_three_dimensions_cost_the_product():
    world = two_l2s(0, run=True)
    for l2 in world.l2s:
        for ea in world.data[l2.l1_lpid]:
            w3 = walk_3d(world, l2, ea)
            assert w3.ra == direct_translate(world.l1, l2, ea)
            # L2 process 4 levels (4K pages), L1 tree and L0 tree 4 levels (64K pages)
            assert w3.tree_reads == walk_reads(4, 4, 4) == 124
            assert w3.prte_reads == walk_reads(4, 4) + 1
            assert w3.per_tree()["L2 process"] == 4
            # six L2 real addresses (PRTE, four entries, data), four L1-tree reads each,
            # and each of those five L1 real addresses through four L0-tree levels
            assert w3.per_tree()["L1 tree"] == 6 * 4
            assert w3.per_tree()["L0 tree"] == 6 * 5 * 4


def test_three_dimensions_need_every_stage_mapped():
    world = two_l2s(0, run=True)
    with pytest.raises(ConfigError):
        walk_3d(world, world.l2s[0], 0x7000_0000_0000)


# ----------------------------------------------------------------------- walk2d exercises
def test_walk2d_is_registered_and_seeded():
    assert WALK2D_GENERATORS == {"walk2d": walk2d_count}
    for seed in range(30):
        a, b = walk2d_count(seed), walk2d_count(seed)
        assert a.question == b.question and str(a.answer) == str(b.answer)
        assert a.kind == "walk2d"


@pytest.mark.parametrize("seed", range(30))
def test_walk2d_answers_check(seed):
    ex = walk2d_count(seed)
    if isinstance(ex.answer, CellAnswer):
        right = f"{ex.answer.row} {ex.answer.column}"
    else:
        right = str(ex.answer.value)
    ok, feedback = ex.check(right)
    assert ok, feedback
    for garbage in ("", "banana", "-3", "0x" + "f" * 30, None, 12.5):
        ok, feedback = ex.check(garbage)
        assert not ok and feedback
    assert "Answer:" in ex.reveal()


def test_cell_answer_parsing():
    a = CellAnswer("L2", "P1")
    assert a.check("L2 P1")[0]
    assert a.check("l2, partition level 1")[0]
    assert not a.check("L2 entry")[0]
    assert "wrong column" in a.check("L2 P3")[1]
    assert not a.check("L1 P1")[0]
    assert "Not understood" in a.check("somewhere")[1]
    assert CellAnswer("PRTE", "entry").check("PRTE entry")[0]
    assert CellAnswer("data", "P3").check("data p3")[0]


# ----------------------------------------------------------------------- tlbie
from pynest.exercises.tlbie import (  # noqa: E402
    GENERATORS as TLBIE_GENERATORS,
)
from pynest.exercises.tlbie import RemovedAnswer, tlbie_exercise  # noqa: E402
from pynest.scenarios.tlbie import TlbieOp, lab, tlbie_removed  # noqa: E402


@pytest.fixture(scope="module")
def tlab():
    return lab(0)


def test_lab_has_shadow_ptes_and_tlb_entries(tlab):
    assert [(a, b) for a, b, _pid in tlab.l2s] == [(1, 2), (2, 3)]
    assert len(tlab.tlb) == 8 and len(tlab.shadow) == 14
    assert all(e.gra is not None for e in tlab.tlb)  # combined 2-D entries


def test_h_tlb_invalidate_one_page(tlab):
    out = tlab.issue(TlbieOp("L1", 0, 0, 1, 0, 5, 1, 0, 0x805000))
    assert out.rc == 0
    assert [s.gpa for s in out.removed_shadow] == [0x800000]  # 64K aligned down
    assert [e.gra for e in out.removed_tlb] == [0x805000]
    again = tlab.issue(TlbieOp("L1", 0, 0, 1, 0, 5, 1, 0, 0x805000))
    assert len(again.tlb_before) == 8  # every op starts from the same world


def test_h_tlb_invalidate_lpid_and_all(tlab):
    one = tlab.issue(TlbieOp("L1", 0, 0, 1, 2, 0, 2))
    assert {s.l1_lpid for s in one.removed_shadow} == {2} and len(one.removed_shadow) == 7
    assert {e.lpid for e in one.removed_tlb} == {3}
    everything = tlab.issue(TlbieOp("L1", 0, 0, 1, 3))
    assert not everything.tlb_after and not everything.shadow_after
    pwc = tlab.issue(TlbieOp("L1", 1, 0, 1, 2, 0, 1))
    assert pwc.rc == 0 and not pwc.removed_tlb and not pwc.removed_shadow
    absent = tlab.issue(TlbieOp("L1", 0, 0, 1, 2, 0, 9))
    assert absent.rc == 0 and not absent.removed_shadow


@pytest.mark.parametrize(
    ("ric", "prs", "r", "is_", "ap"),
    [
        (0, 1, 1, 2, 0),
        (0, 0, 0, 2, 0),
        (3, 0, 1, 2, 0),
        (0, 0, 1, 1, 0),
        (1, 0, 1, 0, 0),
        (2, 0, 1, 0, 0),
        (0, 0, 1, 0, 3),
    ],
)
def test_h_tlb_invalidate_refusals(tlab, ric, prs, r, is_, ap):
    out = tlab.issue(TlbieOp("L1", ric, prs, r, is_, ap, 1, 14, 0x800000))
    assert out.rc_name == "H_PARAMETER"
    assert not out.removed_tlb and not out.removed_shadow


def test_hardware_tlbie_leaves_shadow_tables(tlab):
    by_pid = tlab.issue(TlbieOp("L0", 0, 1, 1, 1, 0, 2, 14))
    assert by_pid.rc is None and len(by_pid.removed_tlb) == 4 and not by_pid.removed_shadow
    page = tlab.issue(TlbieOp("L0", 0, 0, 1, 0, 5, 2, 0, 0x800000))
    assert [e.gra for e in page.removed_tlb] == [0x805000] and not page.removed_shadow
    bad = tlab.issue(TlbieOp("L0", 3, 0, 1, 2, 0, 2))
    assert bad.invalid and not bad.removed_tlb


def test_op_refuses_bad_fields():
    with pytest.raises(FieldError):
        TlbieOp("L2")
    with pytest.raises(FieldError):
        TlbieOp("L1", ric=4)
    assert TlbieOp("L1", 0, 0, 1, 2, 0, 5, 3, 0x12345).rs == (3 << 32) | 5
    assert TlbieOp("L1", 0, 0, 1, 0, 5, 1, 0, 0x12345).rb == 0x120A0


def test_tlbie_exercises(tlab):
    assert TLBIE_GENERATORS == {"tlbie": tlbie_exercise}
    for seed in range(25):
        ex = tlbie_exercise(seed)
        assert ex.question == tlbie_exercise(seed).question
        a = ex.answer
        right = a.rc if a.rc != "H_SUCCESS" else (str(a) if a.removed else "none")
        ok, feedback = ex.check(right)
        assert ok, (seed, right, feedback)
        for garbage in ("", "banana", "T999", None):
            assert not ex.check(garbage)[0]


def test_removed_answer_feedback():
    a = RemovedAnswer(frozenset({"T2", "S5"}), known=frozenset({"T1", "T2", "S5", "S6"}))
    assert a.check("t2, s5")[0] and a.check("S5 and T2")[0]
    assert "stay" in a.check("T2 S5 S6")[1]
    assert "more" in a.check("T2")[1]
    assert "no S9" in a.check("S9")[1].replace("There is no", "no")
    assert not a.check("H_PARAMETER")[0]
    refused = RemovedAnswer(frozenset(), "H_PARAMETER")
    assert refused.check("h_parameter")[0] and not refused.check("none")[0]
    assert str(a) == "T2 S5"
    out = lab(0).issue(TlbieOp("L1", 0, 0, 1, 0, 5, 1, 0, 0x805000))
    assert tlbie_removed(out) == {"T2", "S5"}
