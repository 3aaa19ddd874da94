"""Named worlds, the three-stage translation property and the isolation invariant."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from pynest import scenarios as W
from pynest.kvm.constants import PTE_RPN_MASK
from pynest.kvm.hcalls import H_CEDE, H_SET_PARTITION_TABLE, H_TLB_INVALIDATE
from pynest.kvm.l1 import h_tlbie_p1_enc
from pynest.kvm.nested import get_nested, put_nested
from pynest.kvm.program import Hcall, Load, Program, Store
from pynest.kvm.radix import shadow_leaves
from pynest.mmu import constants as C


def _check_accesses(w, start=0):
    """Every successful L2 access landed where the three stages say."""
    n = 0
    by_lpid = {l2.l1_lpid: l2 for l2 in w.l2s}
    for ev in w.l0.events.filter("l2-access", start=start):
        want = W.direct_translate(w.l1, by_lpid[ev.l1_lpid], ev.ea)
        assert want == ev.hpa, ev
        n += 1
    return n


def test_worlds_are_deterministic():
    a, b = W.two_l2s(5, run=True), W.two_l2s(5, run=True)
    assert [str(e) for e in a.l0.events] == [str(e) for e in b.l0.events]
    assert W.two_l2s(6).data != a.data


def test_two_l2s_run_and_translate():
    w = W.two_l2s(1)
    assert w.run_all() == {1: "ceded", 2: "ceded"}
    assert _check_accesses(w) == 12
    assert W.isolation_violations(w.l0) == []
    shadow = {g.shadow_lpid for g in w.vm.nested}
    assert len(shadow) == 2 and w.vm.lpid not in shadow


def test_migrated_l1_recreates_nested_guests_lazily():
    w = W.migrated_l1(2)
    assert len(w.vm.nested) == 0 and w.vm.l1_ptcr
    assert w.run_all() == {1: "ceded", 2: "ceded"}
    assert len(w.vm.nested) == 2
    # the L1's tables arrived intact: no reflection for mapping, only L0 work
    assert not w.l0.events.filter("l1-map")
    assert _check_accesses(w) == 12


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([None, C.PAGE_2M]))
def test_every_l2_access_lands_where_three_stages_say(seed, backing):
    w = W.two_l2s(seed, backing=backing)
    rng = random.Random(seed)
    w.run_all()
    for _ in range(2):
        l2 = rng.choice(w.l2s)
        eas = w.data[l2.l1_lpid]
        ops = [
            Store(rng.choice(eas) + 8 * rng.randrange(512), rng.getrandbits(64))
            if rng.random() < 0.5
            else Load(rng.choice(eas) + 8 * rng.randrange(512))
            for _ in range(6)
        ]
        w.l1.load_program(l2, Program((*ops, Hcall(H_CEDE)), entry=W.CODE_EA))
        assert w.l1.run_l2(l2).stopped == "ceded"
    assert _check_accesses(w) >= 12


ACTIONS = ("run", "l1_unmap", "l0_unmap", "tlbie_page", "tlbie_lpid", "tlbie_all", "remap",
           "destroy", "set_ptcr", "create")  # fmt: skip


def _act(w, rng, action):
    l1, vm = w.l1, w.vm
    if not w.l2s and action != "create":
        action = "create"
    l2 = rng.choice(w.l2s) if w.l2s else None
    if action == "run":
        eas = w.data[l2.l1_lpid]
        ops = [Load(rng.choice(eas)), Store(rng.choice(eas), rng.getrandbits(64)), Hcall(H_CEDE)]
        w.l1.load_program(l2, Program(tuple(ops), entry=W.CODE_EA))
        l1.run_l2(l2, max_entries=12)
    elif action == "l1_unmap":
        mapped = [m.addr for m in l2.tree.mappings()]
        if mapped:
            l1.unmap_l2_page(l2, rng.choice(mapped))
    elif action == "l0_unmap":
        backed = [m.addr for m in vm.pgtable.mappings()]
        if backed:
            vm.unmap_page(rng.choice(backed))
    elif action in ("tlbie_page", "tlbie_lpid", "tlbie_all"):
        ric = rng.choice((0, 1, 2)) if action != "tlbie_page" else 0
        is_ = {"tlbie_page": 0, "tlbie_lpid": 2, "tlbie_all": 3}[action]
        rb = (0x200000 + rng.randrange(64) * 0x10000) | is_ << 10 | rng.choice((0, 5, 1)) << 5
        l1.hcall(H_TLB_INVALIDATE, h_tlbie_p1_enc(ric, 0, 1), l2.l1_lpid, rb)
    elif action == "remap":  # the L1 points an L2 page at different L1 memory
        mapped = [m.addr for m in l2.tree.mappings()]
        if mapped:
            gpa = rng.choice(mapped)
            l1.unmap_l2_page(l2, gpa)
            size = l2.page_size
            l2.tree.map(gpa, l2.l1_gpa_base + rng.randrange(l2.mem_size // size) * size, size)
    elif action == "destroy":
        l1.destroy_l2(l2)
        w.l2s.remove(l2)
    elif action == "set_ptcr":  # hostile or not
        l1.hcall(H_SET_PARTITION_TABLE, rng.choice((l1.ptcr, rng.getrandbits(64), 0)))
        l1.hcall(H_SET_PARTITION_TABLE, l1.ptcr)
    elif action == "create" and len(w.l2s) < 3:
        W.add_l2(w, rng, C.PAGE_64K)


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 10_000), st.lists(st.sampled_from(ACTIONS), min_size=4, max_size=10))
def test_isolation_after_every_step(seed, actions):
    w = W.two_l2s(seed, run=True)
    rng = random.Random(seed)
    for action in actions:
        _act(w, rng, action)
        assert W.isolation_violations(w.l0) == [], action
        for gp in list(w.vm.nested):
            for _a, _slot, pte, _shift in shadow_leaves(gp):
                lo, hi = w.vm.allotment
                assert lo <= pte & PTE_RPN_MASK < hi
    # every L2 access that succeeded went to a host address inside the L1's memory
    lo, hi = w.vm.allotment
    assert all(lo <= e.hpa < hi for e in w.l0.events.filter("l2-access"))


def test_refcounts_return_to_one_after_runs():
    w = W.two_l2s(3, run=True)
    for l2 in w.l2s:
        gp = get_nested(w.vm, l2.l1_lpid, False)
        assert gp.refcnt == 2  # the slot + this get
        put_nested(gp)
