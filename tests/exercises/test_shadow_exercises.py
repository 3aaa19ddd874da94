"""The ``shadow`` exercises: seeded, answered by the model, checked with explanations."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pynest.errors import AddressError, ConfigError, FieldError
from pynest.exercises.base import NumberAnswer
from pynest.exercises.shadow import (
    GENERATORS,
    PageSizeAnswer,
    ReflectAnswer,
    _prepare,
    parse_page_size,
    shadow_fault,
)
from pynest.kvm.constants import DSISR_ISSTORE, DSISR_NOHPTE, DSISR_PROTFAULT, DSISR_SET_RC
from pynest.mmu import constants as C
from pynest.scenarios.shadow import LINEAR_EA, dsisr_text, shadow_size_of, shadow_world, touch

SEEDS = range(12)


@pytest.fixture(scope="module")
def exercises():
    return [shadow_fault(s) for s in SEEDS]


# ----------------------------------------------------------------------- the world
@pytest.mark.parametrize(
    ("l1_page", "backing", "shadow"),
    [
        (C.PAGE_64K, C.PAGE_64K, C.PAGE_64K),
        (C.PAGE_64K, C.PAGE_2M, C.PAGE_64K),  # a 64K sub-page of L0's 2M page
        (C.PAGE_2M, C.PAGE_64K, C.PAGE_64K),  # L0 has only 64K of it
        (C.PAGE_2M, C.PAGE_2M, C.PAGE_2M),
        # host 1G > L1 2M, and PMD_SHIFT (21) < l1_shift (21) is false: PAGE_SIZE
        (C.PAGE_2M, C.PAGE_1G, C.PAGE_64K),
        (C.PAGE_64K, C.PAGE_1G, C.PAGE_64K),
    ],
)
def test_shadow_page_size_table(l1_page, backing, shadow):
    w = shadow_world(l1_page, backing)
    t = touch(w, 0x812340, "store")
    assert t.stopped == "ceded"
    assert shadow_size_of(w, 0x812340) == shadow
    # the store reached L2 real -> L1 real (linear from mem_base) -> host (linear)
    assert t.hpa == w.vm.mem_base + w.l2.l1_gpa_base + 0x812340
    assert t.data_pte is not None and t.data_pte.size == shadow
    assert t.data_pte.gpa == 0x812340 & -shadow


def test_first_touch_of_an_unmapped_page_is_reflected_once():
    w = shadow_world()
    t = touch(w, 0x812340, "store")
    assert [e.dsisr for e in t.reflected] == [DSISR_NOHPTE | DSISR_ISSTORE]
    assert t.returns == (0xE00, 0xC00)  # the L1 saw the HDSI, mapped, re-entered, cede
    again = touch(w, 0x812348, "load")  # same page: nothing for anybody to do
    assert again.reflected == [] and again.inserted == [] and again.returns == (0xC00,)


# (L1 PTE state, access) -> the first reflected HDSISR, per L0 kernel. The two kernels
# differ where R/C decide (row "nested-rc"): 5.0 takes them from the L1's PTE too, so a
# load of a page the L1 sees with R = 0 and a store to one with C = 0 need SET_RC and are
# reflected; 4.20 takes them from L0's own PTE (just instantiated with R, and C for a
# store: kvmppc_book3s_instantiate_page), so both complete without the L1.
_REFLECT = [
    ("unmapped", "load", DSISR_NOHPTE, DSISR_NOHPTE),
    ("unmapped", "store", DSISR_NOHPTE | DSISR_ISSTORE, DSISR_NOHPTE | DSISR_ISSTORE),
    (
        "read-only",
        "store",
        DSISR_PROTFAULT | DSISR_ISSTORE,
        DSISR_PROTFAULT | DSISR_ISSTORE,
    ),
    ("read-only", "load", None, None),
    ("no-rc", "load", DSISR_SET_RC, None),
    ("r-only-set", "store", DSISR_SET_RC | DSISR_ISSTORE, None),
    ("r-only-set", "load", None, None),
    ("full", "store", None, None),
]


@pytest.mark.parametrize(
    ("state", "access", "kernel", "dsisr"),
    [(st_, acc, "5.0", d50) for st_, acc, d50, _d420 in _REFLECT]
    + [(st_, acc, "4.20", d420) for st_, acc, _d50, d420 in _REFLECT],
)
def test_reflected_bits(state, access, kernel, dsisr):
    w = shadow_world(l0_kernel=kernel)
    _prepare(w, 0x812340, state)
    t = touch(w, 0x812340, access)
    got = t.reflected[0].dsisr if t.reflected else None
    assert got == dsisr
    assert t.stopped == "ceded"


def test_4_20_store_leaves_the_l1_c_bit_clear():
    """The dirty-tracking bug of 4.20 (fixed in 5.0): an L2 store through a page the L1
    maps with C = 0 completes, and the L1's PTE still says clean."""
    page = 0x812340 & -C.PAGE_64K
    for kernel, dirty in (("4.20", False), ("5.0", True)):
        w = shadow_world(l0_kernel=kernel)
        _prepare(w, 0x812340, "r-only-set")
        assert touch(w, 0x812340, "store").stopped == "ceded"
        _slot, pte, _shift = w.l2.tree.find_leaf(page)
        assert bool(pte & C.PTE_C) is dirty, kernel


def test_world_kernel_is_checked():
    assert shadow_world(l0_kernel="5.0").l0.kernel == "5.0"
    assert shadow_world().l0.kernel == "4.20"
    with pytest.raises(ConfigError, match="kernel"):
        shadow_world(l0_kernel="5.2")


def test_touch_refuses_bad_addresses_with_reasons():
    w = shadow_world()
    with pytest.raises(AddressError, match="outside the L2's memory"):
        touch(w, 16 << 20)
    with pytest.raises(AddressError, match="page tables"):
        touch(w, 0x110000, "store")
    with pytest.raises(FieldError, match="not a number"):
        touch(w, "zebra")
    with pytest.raises(FieldError, match="negative"):
        touch(w, "-5")
    with pytest.raises(FieldError, match="access"):
        touch(w, 0x800000, "fetch")
    assert touch(w, 0x110000, "load").stopped == "ceded"  # loading a table page is fine


def test_world_config_is_checked():
    with pytest.raises(ConfigError):
        shadow_world(C.PAGE_4K)
    with pytest.raises(ConfigError):
        shadow_world(C.PAGE_64K, C.PAGE_4K)


def test_summary_names_each_step():
    w = shadow_world()
    text = touch(w, 0x812340, "store").summary()
    assert f"EA {LINEAR_EA + 0x812340:#x}" in text
    assert "HDSISR NOHPTE | ISSTORE" in text and "L1: mapped the page" in text
    assert "(the L2's page tables)" in text  # the walk's own tables got shadowed first
    assert text.endswith(f"host real {w.vm.mem_base + w.l2.l1_gpa_base + 0x812340:#x}")


def test_dsisr_text():
    assert dsisr_text(0x42000000) == "NOHPTE | ISSTORE"
    assert dsisr_text(0) == "0"
    assert dsisr_text(DSISR_SET_RC | 0x1) == "SET_RC | 0x1"


# ----------------------------------------------------------------------- answers
@pytest.mark.parametrize(
    ("text", "size"),
    [("64K", 0x10000), ("64 KiB", 0x10000), ("2m", 0x200000), ("1G", 1 << 30), ("0x10000", 65536)],
)
def test_parse_page_size(text, size):
    assert parse_page_size(text) == size


def test_page_size_answer():
    a = PageSizeAnswer(C.PAGE_64K, {C.PAGE_2M: "too big"})
    assert a.check("64k")[0] and a.check("65536")[0]
    ok, msg = a.check("2M")
    assert not ok and "too big" in msg
    ok, msg = a.check("3K")
    assert not ok and "not one of the radix MMU's four page sizes" in msg
    ok, msg = a.check("huge")
    assert not ok and "Not understood" in msg


def test_reflect_answer_parsing():
    a = ReflectAnswer(DSISR_NOHPTE | DSISR_ISSTORE)
    for text in ("NOHPTE ISSTORE", "isstore|nohpte", "DSISR_NOHPTE, DSISR_ISSTORE", "0x42000000"):
        assert a.check(text)[0], text
    assert a.check("nopte + store")[0]
    ok, msg = a.check("NOHPTE")
    assert (ok, msg) == (False, "Reflected, yes, but 1 set bit is missing.")
    ok, msg = a.check("no")
    assert not ok and "has to see" in msg
    ok, msg = a.check("BANANA")
    assert not ok and "not an HDSISR bit name" in msg
    none = ReflectAnswer(None)
    assert none.check("no")[0] and none.check("not reflected")[0]
    ok, msg = none.check("NOHPTE")  # neutral: saying "L0 handles it" would be the answer
    assert (ok, msg) == (False, "Wrong: that is not what happens to this fault.")
    assert not none.check("L0")[0] and not none.check("not")[0]


# ----------------------------------------------------------------------- generators
def test_generators_dict():
    assert GENERATORS == {"shadow": shadow_fault}


def test_same_seed_same_exercise():
    a, b = shadow_fault(5), shadow_fault(5)
    assert a.question == b.question and str(a.answer) == str(b.answer)
    assert a.solution == b.solution


def test_every_case_appears_and_answers_itself(exercises):
    kinds = {type(ex.answer) for ex in exercises}
    assert kinds == {PageSizeAnswer, ReflectAnswer, NumberAnswer}
    for ex in exercises:
        assert ex.kind == "shadow"
        assert "The model, on this very world" in ex.solution
        assert ex.reveal().startswith("Answer: ")


def _right_text(ex):
    a = ex.answer
    if isinstance(a, PageSizeAnswer):
        return f"{a.value:#x}"
    if isinstance(a, ReflectAnswer):
        return "no" if a.dsisr is None else f"{a.dsisr:#x}"
    return f"{a.value:#x}"


def test_right_answers_pass_and_garbage_is_explained(exercises):
    for ex in exercises:
        assert ex.check(_right_text(ex))[0], ex.question
        for junk in ("", "zebra", "-1", "0x" + "f" * 20):
            ok, msg = ex.check(junk)
            assert not ok and msg


def test_host_answer_mistakes_explain_the_missing_stage(exercises):
    hosts = [ex for ex in exercises if isinstance(ex.answer, NumberAnswer)]
    assert hosts
    for ex in hosts:
        for wrong, why in ex.answer.mistakes.items():
            ok, msg = ex.check(f"{wrong:#x}")
            assert not ok and why in msg


@settings(max_examples=15, deadline=None)
@given(st.integers(min_value=4 << 20, max_value=(16 << 20) - 8))
def test_host_address_is_the_composition(gpa):
    """Whatever the L2 touches lands where the L1's mapping then L0's put it."""
    w = shadow_world(C.PAGE_2M, C.PAGE_2M)
    t = touch(w, gpa, "store", value=0xABC)
    l1_gpa = w.l2.tree.lookup(gpa & ~7).ra
    assert t.hpa == w.vm.pgtable.lookup(l1_gpa).ra
    assert w.l0.mem.read_u64(t.hpa) == 0xABC
    assert shadow_size_of(w, gpa) == C.PAGE_2M


def test_reflect_questions_name_the_kernel_and_cite_the_row():
    """A reflection answer depends on L0's kernel (row nested-rc): the question says
    which Linux L0 runs, and the worked answer gives that kernel's R/C rule."""
    reflects = [shadow_fault(s) for s in range(40)]
    reflects = [ex for ex in reflects if isinstance(ex.answer, ReflectAnswer)]
    kernels = set()
    for ex in reflects:
        kernel = "5.0" if ex.question.startswith("L0 runs Linux 5.0") else "4.20"
        assert ex.question.startswith(f"L0 runs Linux {kernel}")
        assert f"Linux {kernel} builds the shadow PTE" in ex.solution
        assert "row 'nested-rc'" in ex.solution
        kernels.add(kernel)
    assert kernels == {"4.20", "5.0"}


def test_wrong_rc_answer_names_the_kernel():
    a = ReflectAnswer(None, "Mind the kernel: L0 runs Linux 4.20.")
    ok, msg = a.check("SET_RC")
    assert not ok and msg.endswith("Mind the kernel: L0 runs Linux 4.20.")
    assert a.check("no") == (True, "Correct: not reflected (L0 handles it and resumes the L2).")
