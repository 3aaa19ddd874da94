"""The classroom story (notebook 11) and its "demo" exercises.

Hand-checked facts of the seed-0 story come from the model's layout: L0's 64 KiB table
at 16 MiB (PTCR 0x1000004), the L1's 16 KiB table after its two vcpus' hcall buffers
(L1 real 0x1004000, PRTS 2), hardware LPIDs handed out lowest first (host 0, L1 1, then
the shadow LPIDs 2 and 3), and the H_SET_PARTITION_TABLE rules of
``kvmhv_set_partition_table`` (PRTS <= 4, base page inside the L1's 256 MiB).
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pynest.errors import FieldError
from pynest.exercises import generate
from pynest.exercises.base import ReturnCodeAnswer
from pynest.exercises.demo import GENERATORS, demo_step
from pynest.kvm.hcalls import H_PARAMETER, H_SUCCESS
from pynest.scenarios.classroom import EMPTY_PTCR, NEW_GPA, PTCR_STEP, STEP_KEYS, classroom_story

L1_MEM = 256 << 20


@pytest.fixture(scope="module")
def story():
    return classroom_story(0)


def test_twelve_steps_in_order(story):
    assert [s.key for s in story] == list(STEP_KEYS)
    assert [s.number for s in story] == list(range(1, 13))
    assert story.step("set-ptcr").index == PTCR_STEP


def test_boot_and_l1_creation(story):
    boot, create, init = story[0], story[1], story[2]
    assert boot.l0_ptcr == 0x1000004
    assert [r.lpid for r in boot.l0_rows] == [0] and boot.l0_rows[0].owner == "host"
    assert boot.l1_lpid is None and boot.l1_note == "not created yet"
    assert [(r.lpid, r.owner) for r in create.l0_rows] == [(0, "host"), (1, "L1")]
    assert create.l1_ptcr == 0
    assert init.hcalls == ("H_SET_PARTITION_TABLE(r4=0x1004002) -> H_SUCCESS",)
    assert init.l1_ptcr == 0x1004002 and init.l1_table_entries == 1024
    assert init.l1_rows == ()


def test_l2s_get_rows_in_the_l1_table_but_no_nested_guest(story):
    s = story.step("create-l2s")
    assert [r.lpid for r in s.l1_rows] == [1, 2]
    assert all(r.dw0 >> 63 and r.dw1 >> 63 for r in s.l1_rows)  # HR and GR set
    # each row write is followed by kvmhv_flush_lpid (4.20 kvmhv_set_ptbl_entry, E1):
    # H_TLB_INVALIDATE, r4 = H_TLBIE_P1_ENC(2, 0, 1) = RIC 2 << 18 | R 1 << 16 = 0x90000,
    # r5 = the lpid, r6 = TLBIEL_INVAL_SET_LPID = IS 2 << 10 = 0x800; L0 has no nested
    # guest for the lpid, so nothing is dropped and none is created
    assert s.hcalls == (
        "H_TLB_INVALIDATE(r4=0x90000 r5=0x1 r6=0x800) -> H_SUCCESS",
        "H_TLB_INVALIDATE(r4=0x90000 r5=0x2 r6=0x800) -> H_SUCCESS",
    )
    assert s.nested == () and s.facts["flushes"] == 2
    assert len(s.l0_rows) == 2
    assert "kvmhv_flush_lpid" in s.sentence and "'set-ptbl-flush'" in s.sentence
    assert "plain store" not in s.sentence and "no hcall" not in s.sentence


def test_first_enter_creates_shadow_lpids_2_and_3(story):
    a, b = story.step("run-l2-a"), story.step("run-l2-b")
    assert a.facts["shadow_lpid"] == 2 and b.facts["shadow_lpid"] == 3
    assert [(r.lpid, r.owner) for r in b.l0_rows][2:] == [
        (2, "shadow of L2 1"),
        (3, "shadow of L2 2"),
    ]
    l1_rows = {r.lpid: r for r in b.l1_rows}
    for row in b.l0_rows[2:]:
        # kvmhv_set_nested_ptbl: HR | 52-bit RTS (0x40000000000000a0) | shadow root | 13,
        # and dw1 copied from the L1's row
        assert row.dw0 & 0xE0000000000000FF == 0xC0000000000000AD
        assert row.dw1 == l1_rows[row.l2].dw1
    assert a.hcalls[-1].endswith("trap 0xc00")  # each L2 cedes
    assert a.facts["faults"] == a.facts["reflected"] + a.facts["inserted"]
    assert b.nested_for(1).shadow_ptes == a.nested_for(1).shadow_ptes == a.facts["inserted"]
    assert all(n.refcnt == 1 for n in b.nested)  # only the table slot's reference


def test_fault_then_invalidate_one_shadow_pte(story):
    fault, inval = story.step("fault"), story.step("invalidate")
    before = story.step("run-l2-b").nested_for(1).shadow_ptes
    assert fault.nested_for(1).shadow_ptes == before + 1
    assert fault.facts["reflected"] == 1 and fault.facts["inserted"] == 1
    new = [s for s in fault.shadow if s.l1_lpid == 1 and s.gpa == NEW_GPA]
    assert len(new) == 1 and new[0].size == 0x10000 and new[0].hpa == fault.facts["hpa"]
    # RB = page | AP 5 (64 KiB) << 5; RIC 0 PRS 0 R 1 = 0x10000; RS = L1 lpid 1
    assert inval.hcalls == ("H_TLB_INVALIDATE(r4=0x10000 r5=0x1 r6=0xc000a0) -> H_SUCCESS",)
    assert inval.nested_for(1).shadow_ptes == before
    assert not [s for s in inval.shadow if s.gpa == NEW_GPA and s.l1_lpid == 1]
    assert inval.nested_for(2) == fault.nested_for(2)  # the other L2 is untouched


def test_new_ptcr_changes_nothing_until_the_ric2_flush(story):
    before, step9, step10 = story[PTCR_STEP - 1], story[PTCR_STEP], story[PTCR_STEP + 1]
    assert step9.facts["rc"] == H_SUCCESS and step9.l1_ptcr == story.default_ptcr != before.l1_ptcr
    assert step9.nested == before.nested and step9.shadow == before.shadow
    assert step9.l1_rows == before.l1_rows  # the default is a copy of the table
    assert step10.hcalls == ("H_TLB_INVALIDATE(r4=0x90000 r5=0x0 r6=0xc00) -> H_SUCCESS",)
    assert [n.l1_lpid for n in step10.nested] == [1, 2] and step10.shadow == ()


def test_an_empty_table_removes_both_nested_guests_at_the_flush():
    s = classroom_story(0, EMPTY_PTCR)
    assert s[PTCR_STEP].facts["rc"] == H_SUCCESS and s[PTCR_STEP].l1_rows == ()
    assert len(s[PTCR_STEP].nested) == 2  # still there after the hcall itself
    after = s[PTCR_STEP + 1]
    assert after.nested == () and [r.lpid for r in after.l0_rows] == [0, 1]
    assert s.step("release-all").facts["freed"] == 0
    # IS=3 takes each guest without a reference (kvmhv_emulate_tlbie_all_lpid): where the
    # model logs the use after free that follows, the sentence carries the caveat
    uaf = after.facts["use_after_free"]
    assert uaf == sum(1 for e in after.events if e.kind == "use-after-free")
    assert ("not a hardware run" in after.sentence) is bool(uaf)


def test_a_flush_that_keeps_the_guests_has_no_caveat(story):
    step10 = story.step("flush-all")
    assert step10.facts["use_after_free"] == 0 and "caveat" not in step10.sentence
    assert "kvmhv_flush_nested" in step10.sentence


@pytest.mark.parametrize(
    "ptcr, rc",
    [
        (0x1004002, H_SUCCESS),  # the old table again
        (0x1004004, H_SUCCESS),  # PRTS 4: 4096 rows, the limit
        (0x1004005, H_PARAMETER),  # PRTS 5
        (0x1004003 | 0x10, H_PARAMETER),  # PRTS 0x13
        (L1_MEM | 2, H_PARAMETER),  # first page beyond the L1
        (L1_MEM - 0x10000 + 2, H_SUCCESS),  # last 64K page of the L1 (no alignment check)
        (0, H_SUCCESS),  # deregisters
    ],
)
def test_ptcr_checks(ptcr, rc):
    s = classroom_story(0, ptcr)
    step9 = s[PTCR_STEP]
    assert step9.facts["rc"] == rc
    assert step9.l1_ptcr == (ptcr if rc == H_SUCCESS else 0x1004002)


def test_teardown(story):
    exit_, release = story.step("nested-exit"), story.step("release-all")
    assert exit_.hcalls == ("H_SET_PARTITION_TABLE(r4=0x0) -> H_SUCCESS",)
    assert exit_.l1_ptcr == 0 and len(exit_.nested) == 2  # 4.20 keeps them
    assert release.facts["freed"] == 2
    assert [r.lpid for r in release.l0_rows] == [0]
    assert release.l1_lpid is None and release.l1_note == "destroyed"
    assert release.free_lpids == story[0].free_lpids


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**64 - 1))
def test_any_ptcr_follows_kvmhv_set_partition_table(ptcr):
    s = classroom_story(0, ptcr)
    step9, step10 = s[PTCR_STEP], s[PTCR_STEP + 1]
    base = ptcr & 0x0FFF_FFFF_FFFF_F000
    ok = (ptcr & 0x1F) <= 4 and base < L1_MEM
    assert step9.facts["rc"] == (H_SUCCESS if ok else H_PARAMETER)
    if not ok:  # the old table stays registered: the flush keeps both guests
        assert step9.l1_ptcr == 0x1004002 and len(step10.nested) == 2
    assert [r.lpid for r in s[-1].l0_rows] == [0]


def test_story_arguments_are_checked():
    for bad in (-1, "0", 1.5, True):
        with pytest.raises(FieldError):
            classroom_story(bad)  # type: ignore[arg-type]
    for bad in (-1, 1 << 64, "0x10", True):
        with pytest.raises(FieldError):
            classroom_story(0, bad)  # type: ignore[arg-type]
    assert classroom_story(0) is classroom_story(0)  # cached, immutable records


# ----------------------------------------------------------------------- exercises
def test_generator_registry():
    assert set(GENERATORS) == {"demo"}
    assert generate("demo", 4).question == demo_step(4).question
    with pytest.raises(FieldError):
        generate("nope", 1)
    with pytest.raises(FieldError):
        generate("demo", "1")  # type: ignore[arg-type]


def test_seeded_and_deterministic():
    assert demo_step(5).question == demo_step(5).question
    questions = {demo_step(seed).question for seed in range(12)}
    assert len(questions) > 6


@pytest.mark.parametrize("seed", range(16))
def test_answers_match_the_story(seed):
    ex = demo_step(seed)
    assert ex.kind == "demo" and ex.seed == seed
    right = ex.answer.value
    ok, feedback = ex.check(str(right))
    assert ok, feedback
    ok, _ = ex.check(hex(right + 1) if right >= -1 else "0")
    assert not ok
    assert "Answer:" in ex.reveal()
    for garbage in ("", "zebra", "0xZZ", None, 3.5):
        ok, feedback = ex.check(garbage)
        assert not ok and feedback


def test_answers_are_what_the_model_says():
    # seed 3 asks for H_SET_PARTITION_TABLE(0x1044009): PRTS 9 > 4
    ex = demo_step(3)
    assert "0x1044009" in ex.question and ex.answer == ReturnCodeAnswer(H_PARAMETER)
    # seed 12 asks for L2 1's shadow LPID at step 5: 2 (0 host, 1 the L1)
    ex = demo_step(12)
    assert "step 5" in ex.question and ex.answer.value == 2
    ok, feedback = ex.check("1")
    assert not ok and "L1" in feedback


def test_return_code_answer_forms():
    a = ReturnCodeAnswer(H_PARAMETER)
    for given_ in ("H_PARAMETER", "h_parameter", "PARAMETER", "-4", -4, " H_PARAMETER "):
        assert a.check(given_)[0], given_
    for given_ in ("H_SUCCESS", "0", 0, "-5"):
        assert not a.check(given_)[0], given_
    ok, feedback = a.check("banana")
    assert not ok and "Not understood" in feedback
    assert not a.check(None)[0] and not a.check(True)[0]
    assert str(a) == "H_PARAMETER (-4)"
