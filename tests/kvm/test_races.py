"""The race explorer (pynest.kvm.races): counts by combinatorics, hand-run schedules.

How the counts are got by hand. A vcpu's steps depend only on whether its first lookup
finds the guest. Say vcpu A looks first (then double: either vcpu can be A); after
that A has ``a`` steps left, and B looks up after ``k`` of them. B takes the slow
path (``b_slow`` steps left) while A has not installed yet (``k < install``), and the
fast path (``b_fast`` left) after; the rest of both interleave freely, C(x + y, x) ways.
"""

from math import comb

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pynest.errors import ConfigError, PynestError
from pynest.kvm.races import explore, run_schedule


def _count(a: int, install: int, b_slow: int, b_fast: int) -> int:
    per_first = sum(
        comb((a - k) + (b_slow if k < install else b_fast), a - k) for k in range(a + 1)
    )
    return 2 * per_first


# ----------------------------------------------------------------------- create race
def test_kernel_create_race_count_and_no_violation():
    # A: lookup | alloc install drop use (a = 4, install is A's 2nd step left);
    # B slow: alloc install drop use (4); B fast: use (1).
    expected = _count(4, 2, 4, 1)
    assert expected == 2 * (comb(8, 4) + comb(7, 4) + 3 + 2 + 1) == 222
    e = explore("create")
    assert e.count == expected
    assert e.bad == []
    for i in e.interleavings:
        live = i.final.live
        assert len(live) == 1 and live[0].installed and live[0].refcnt == 3  # slot + 2 vcpus
        assert i.final.lpids_in_use == (live[0].shadow_lpid,)
        assert i.final.held == (live[0].name, live[0].name)
        assert i.final.max_nested_lpid == 1


def test_both_miss_loser_releases_its_newgp():
    i = run_schedule("create", "0 1 0 1 0 1 0 1 0 1")
    assert i.ok
    texts = [s.text for s in i.steps]
    assert texts[2].startswith("newgp = gp#1: shadow LPID 2")
    assert texts[3].startswith("newgp = gp#2: shadow LPID 3")
    assert "nested_guests[1] = gp#1" in texts[4] and "refcnt -> 2" in texts[4]
    assert "someone else beat us to it: take gp#1" in texts[5] and "refcnt -> 3" in texts[5]
    assert texts[6] == "newgp is NULL: nothing to release"
    assert "kvmhv_release_nested(gp#2)" in texts[7] and "shadow LPID 3" in texts[7]
    assert i.final.slot == "gp#1" and i.final.lpids_in_use == (2,)
    assert [s.function for s in i.steps[:4]] == [
        "kvmhv_get_nested",
        "kvmhv_get_nested",
        "kvmhv_alloc_nested",
        "kvmhv_alloc_nested",
    ]
    assert [s.locked for s in i.steps[:6]] == [True, True, False, False, True, True]


def test_first_to_install_wins_not_first_to_allocate():
    # vcpu 1 allocates first (gp#1, LPID 2) but vcpu 0 installs first: gp#2 wins and
    # LPID 2 goes back to the bitmap
    i = run_schedule("create", "0 1 1 0 0 1 0 1 0 1")
    assert i.ok
    assert i.final.slot == "gp#2" and i.final.lpids_in_use == (3,)
    assert [o.freed for o in i.final.objects] == [True, False]


def test_without_recheck_two_objects_and_a_leak():
    e = explore("create", recheck=False)
    assert e.count == 222
    # exactly the schedules in which both vcpus miss: 2 * (C(8,4) + C(7,4))
    assert len(e.bad) == 2 * (comb(8, 4) + comb(7, 4)) == 210
    assert e.by_kind() == {
        "two-objects": 210,
        "negative-refcnt": 0,
        "use-after-free": 0,
        "leak": 210,
    }
    i = run_schedule("create", "0 1 0 1 0 1 0 1 0 1", recheck=False)
    assert i.kinds == ("two-objects", "leak")
    two = next(v for v in i.violations if v.kind == "two-objects")
    assert two.step == 5  # vcpu 1's install, while vcpu 0 holds gp#1
    assert "overwrites gp#1" in i.steps[5].text
    leak = next(v for v in i.violations if v.kind == "leak")
    assert leak.step == -1 and "gp#1" in leak.text
    gp1, gp2 = i.final.objects
    assert (gp1.refcnt, gp1.installed, gp1.freed) == (2, False, False)
    assert (gp2.refcnt, gp2.installed) == (2, True)
    assert i.final.lpids_in_use == (2, 3)
    # the fast path still works: one vcpu done before the other looks
    assert run_schedule("create", "0 0 0 0 0 1 1", recheck=False).ok


def test_without_lock_count_and_the_gap_between_check_and_install():
    # lookup-read | lookup-ref alloc recheck install drop use: a = 6, install 4th
    assert explore("create", lock=False).count == _count(6, 4, 6, 2) == 3380
    i = run_schedule("create", "0 0 0 0 1 1 1 1 0 1 0 1 0 1", lock=False)
    assert [s.op for s in i.steps[:4]] == ["lookup-read", "lookup-ref", "alloc", "recheck"]
    assert all(not s.locked for s in i.steps)
    assert "look again: nested_guests[1] = NULL" in i.steps[7].text  # vcpu 1, too late
    assert i.kinds == ("two-objects", "leak")


def test_without_lock_a_violation_needs_both_rechecks_before_an_install():
    e = explore("create", lock=False)
    for i in e.interleavings[::37]:
        steps = i.steps
        first_install = min(n for n, s in enumerate(steps) if s.op == "install")
        rechecks = [n for n, s in enumerate(steps) if s.op == "recheck"]
        raced = len(rechecks) == 2 and max(rechecks) < first_install
        assert (not i.ok) == raced, i.trace()


def test_create_for_another_lpid_sets_max_nested_lpid():
    i = run_schedule("create", "0 0 0 0 0 1 1", l1_lpid=5)
    assert i.final.max_nested_lpid == 5
    assert "nested_guests[5] = gp#1, max_nested_lpid = 5" in i.steps[2].text


# ----------------------------------------------------------------------- remove race
def test_kernel_remove_race_count_and_outcome():
    # A: get | remove rel put rel (a = 4; "install" = the detach, A's 1st step left);
    # B finds gp: 4 steps left; B finds NULL: done (0)
    assert explore("remove").count == _count(4, 1, 4, 0) == 2 * (comb(8, 4) + 4) == 148
    e = explore("remove")
    assert e.bad == []
    for i in e.interleavings:
        (gp,) = i.final.objects
        assert gp.freed and gp.refcnt == 0
        assert i.final.slot is None and i.final.max_nested_lpid == -1
        assert i.final.lpids_in_use == ()


def test_kernel_remove_second_remover_sees_slot_gone():
    i = run_schedule("remove", "0 1 0 0 0 0 1 1 1 1")
    assert i.ok
    assert "gp#1.refcnt -> 2" in i.steps[0].text and "gp#1.refcnt -> 3" in i.steps[1].text
    assert "nested_guests[1] = NULL, max_nested_lpid = -1, gp#1.refcnt -> 2" in i.steps[2].text
    assert "slot no longer holds gp#1" in i.steps[6].text
    assert i.steps[9].text.startswith("kvmhv_release_nested(gp#1)")  # vcpu 1's put: 0
    late = run_schedule("remove", "0 0 1 0 0 0")  # vcpu 1 looks after the detach
    assert late.ok and late.steps[2].text.endswith("no such guest: nothing to flush")


def test_without_gp_check_double_detach():
    e = explore("remove", check_gp=False)
    assert e.count == 148
    assert len(e.bad) == 2 * comb(8, 4) == 140  # every schedule where both found gp
    i = run_schedule("remove", "0 1 0 0 0 0 1 1 1 1", check_gp=False)
    assert i.kinds == ("negative-refcnt", "use-after-free")
    assert "refcnt -> 0; ref = 0" in i.steps[6].text
    assert i.steps[7].text.startswith("kvmhv_release_nested(gp#1)")
    uaf = next(v for v in i.violations if v.kind == "use-after-free")
    assert uaf.step == 8 and "already freed" in uaf.text
    # the same bug without a use after free: both puts run before the release
    j = run_schedule("remove", "0 1 0 1 0 1 0 1 0 1", check_gp=False)
    assert j.kinds == ("negative-refcnt",)
    assert j.final.objects[0].refcnt == -1 and j.final.objects[0].freed


def test_without_lock_lookup_races_with_free():
    # vcpu 0 reads the slot, vcpu 1 runs to the end and frees gp#1, vcpu 0 takes its
    # reference on freed memory
    assert explore("remove", lock=False).count == _count(7, 3, 7, 1) == 11910
    i = run_schedule("remove", "0 1 1 1 1 1 1 1 1 0 0 0 0 0 0 0", lock=False)
    assert i.steps[8].text.startswith("kvmhv_release_nested(gp#1)")
    assert i.steps[9].op == "get-ref"
    assert any(v.kind == "use-after-free" and v.step == 9 for v in i.violations)
    assert any("double free" in v.text for v in i.violations)


def test_without_lock_lost_refcount_update_leaks():
    i = run_schedule("remove", "0 0 1 1 0 0 0 1 1 1 0 1 0 1 0 1", lock=False)
    assert [s.op for s in i.steps[10:14]] == ["put-load", "put-load", "put-store", "put-store"]
    assert i.steps[12].text.startswith("store gp#1.refcnt = 2 - 1 = 1")
    assert i.steps[13].text.startswith("store gp#1.refcnt = 2 - 1 = 1")
    assert i.kinds == ("leak",)
    (gp,) = i.final.objects
    assert (gp.refcnt, gp.freed, gp.installed) == (1, False, False)
    assert i.final.lpids_in_use == (2,)


# ----------------------------------------------------------------------- records
@settings(max_examples=30, deadline=None)
@given(
    st.sampled_from(
        [
            ("create", {}),
            ("create", {"recheck": False}),
            ("remove", {}),
            ("remove", {"check_gp": False}),
            ("tlbie-all", {"partner": "flush"}),
            ("tlbie-all", {"partner": "run"}),
        ]
    ),
    st.integers(min_value=0, max_value=10_000),
)
def test_replay_matches_exploration(case, n):
    race, kw = case
    e = explore(race, **kw)
    i = e.interleavings[n % e.count]
    j = run_schedule(race, i.schedule, **kw)
    assert j.final == i.final and j.violations == i.violations
    assert len(i.steps) == len(i.schedule) and [s.vcpu for s in i.steps] == list(i.schedule)
    assert e.find(i.schedule_text) is i


def test_schedules_are_distinct_and_in_depth_first_order():
    e = explore("create")
    schedules = [i.schedule for i in e.interleavings]
    assert len(set(schedules)) == len(schedules)
    assert schedules == sorted(schedules)
    assert [i.number for i in e.interleavings] == list(range(e.count))


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: explore("delete"), "unknown race"),
        (lambda: explore("create", l1_lpid=1024), "past nested_guests"),
        (lambda: run_schedule("create", "0 0"), "still has"),
        (lambda: run_schedule("create", "0 0 0 0 0 0 1 1"), "already finished"),
        (lambda: run_schedule("create", "0 2"), "vcpu numbers 0 and 1"),
        (lambda: explore("create").find("1 1"), "not a complete interleaving"),
    ],
)
def test_bad_arguments_raise_config_errors(call, words):
    with pytest.raises(ConfigError, match=words):
        call()


def test_negative_lpid_is_refused():
    with pytest.raises(PynestError):
        explore("create", l1_lpid=-1)


def test_summary_and_trace_texts():
    assert explore("create").summary().endswith("222 interleavings, none breaks an invariant")
    s = explore("remove", check_gp=False).summary()
    assert "without == gp check" in s and "140 break" in s
    t = run_schedule("create", "0 1 0 1 0 1 0 1 0 1", recheck=False).trace()
    assert "[mmu_lock] kvmhv_get_nested" in t and "verdict: broken: two-objects, leak" in t


@pytest.mark.parametrize("race", ["create", "remove"])
def test_exploration_is_exactly_the_complete_schedules(race):
    # brute force, independent of the depth-first enumerator: every 0/1 sequence that
    # run_schedule accepts is in the exploration, and nothing else is
    from itertools import product

    found = set()
    for length in range(2, 11):
        for sched in product((0, 1), repeat=length):
            try:
                run_schedule(race, sched)
            except ConfigError:
                continue
            found.add(sched)
    assert found == {i.schedule for i in explore(race).interleavings}


# ----------------------------------------------------------------------- tlbie-all race
# vcpu 0 (IS=3 RIC=2, no reference): scan tlb-lock flush remove rel unlock next (7 steps,
# 1 when the scan finds no guest). vcpu 1 "run" (holds a reference): run put rel (3);
# "flush" (IS=2 RIC=2): get tlb-lock flush remove rel unlock put rel (8, 1 on a miss).
def test_tlbie_all_alone_frees_before_the_unlock():
    e = explore("tlbie-all", partner="none")
    assert e.count == 1 and len(e.bad) == 1
    (i,) = e.interleavings
    assert [s.function for s in i.steps] == [
        "kvmhv_emulate_tlbie_all_lpid",
        "kvmhv_emulate_tlbie_lpid",
        "kvmhv_flush_nested",
        "kvmhv_remove_nested",
        "kvmhv_release_nested",
        "kvmhv_emulate_tlbie_lpid",
        "kvmhv_emulate_tlbie_all_lpid",
    ]
    assert "no reference taken (refcnt 1)" in i.steps[0].text
    assert "gp#1.refcnt -> 0; ref = 0" in i.steps[3].text
    assert i.steps[4].text.startswith("kvmhv_release_nested(gp#1)")
    assert i.steps[5].text == "mutex_unlock(&gp#1->tlb_lock)"
    (v,) = i.violations
    assert v.kind == "use-after-free" and v.step == 5
    assert v.text == "mutex_unlock(&gp->tlb_lock) on gp#1, which was already freed"
    assert i.steps[4].objects[0].tlb_owner == 0  # freed while locked
    assert i.final.slot is None and i.final.lpids_in_use == () and i.final.max_nested_lpid == -1
    assert e.summary().endswith("1 interleaving (the only order), 1 breaks an invariant "
                                "(use-after-free 1); first: #0")  # fmt: skip


def test_tlbie_all_with_a_running_vcpu_count_and_which_are_safe():
    # no blocking: C(10, 3) orders. Safe exactly when vcpu 1's put comes after vcpu 0's
    # remove (k >= 4 of A's steps) and its release after vcpu 0's unlock (k >= 6):
    # sum over k2 = 4..7, k3 = max(6, k2)..7 of (k2 + 1) = 10 + 12 + 14 + 8 = 44
    e = explore("tlbie-all", partner="run")
    assert e.count == comb(10, 3) == 120
    ok = sum(k2 + 1 for k2 in range(4, 8) for _k3 in range(max(6, k2), 8))
    assert ok == 44 and e.count - len(e.bad) == ok
    assert e.by_kind()["use-after-free"] == 76
    for i in e.interleavings:
        ops = [(s.vcpu, s.op) for s in i.steps]
        put, rel = ops.index((1, "put")), ops.index((1, "put-release"))
        remove, unlock = ops.index((0, "remove")), ops.index((0, "tlb-unlock"))
        assert i.ok == (put > remove and rel > unlock), i.trace()
        assert i.final.objects[0].freed and i.final.slot is None


def test_tlbie_all_with_a_running_vcpu_two_ways_to_go_wrong():
    # vcpu 1 puts first: vcpu 0's remove brings refcnt to 0 and vcpu 0 frees it
    early = run_schedule("tlbie-all", "1 1 1 0 0 0 0 0 0 0", partner="run")
    assert "ref = --gp#1.refcnt = 1" in early.steps[1].text
    assert "refcnt -> 0; ref = 0" in early.steps[6].text and early.steps[7].vcpu == 0
    assert [v.step for v in early.violations] == [8]
    # vcpu 0 removes first (refcnt 1), vcpu 1's put frees it between remove and unlock
    late = run_schedule("tlbie-all", "0 0 0 0 1 1 1 0 0 0", partner="run")
    assert late.steps[3].text.endswith("gp#1.refcnt -> 1; ref = 1")
    assert late.steps[6].vcpu == 1 and late.steps[6].text.startswith("kvmhv_release_nested")
    assert late.steps[7].text == "ref = 1: keep gp#1"  # vcpu 0 does not free it...
    assert [v.step for v in late.violations] == [8]  # ...but unlocks it after vcpu 1 did
    fine = run_schedule("tlbie-all", "0 0 0 0 0 0 1 1 1 0", partner="run")
    assert fine.ok and fine.steps[8].text.startswith("kvmhv_release_nested")


def test_tlbie_all_with_a_flushing_vcpu_count():
    # A = vcpu 0 (7 steps), B = vcpu 1 (8). B misses: A removed first, B after >= 4 of
    # A's steps: 4 ways, all bad. A misses: A after >= 4 of B's steps: 5 ways, all fine.
    # Both find it, A locks first: B's get among A's first 4 steps, B's 7 locked steps
    # after A's unlock (A's last step before or after each): 4 * 8 = 32, all fine.
    # Both find it, B locks first: A's scan among B's first 4 steps, A's other 6 steps
    # after B's unlock, interleaved with B's put and release: 4 * C(8, 2) = 112; fine only
    # when B's put follows A's remove and B's release A's unlock: 4 * (3 + 4) = 28.
    e = explore("tlbie-all", partner="flush")
    assert e.count == 4 + 5 + 32 + 4 * comb(8, 2) == 153
    assert e.count - len(e.bad) == 5 + 32 + 28 == 65
    assert e.by_kind() == {"two-objects": 0, "negative-refcnt": 0, "use-after-free": 88, "leak": 0}
    for i in e.interleavings:
        ops = [(s.vcpu, s.op) for s in i.steps]
        frees = [n for n, s in enumerate(i.steps) if s.text.startswith("kvmhv_release_nested(")]
        found = (0, "tlb-unlock") in ops
        assert i.ok == (not found or frees[0] > ops.index((0, "tlb-unlock"))), i.trace()
        assert i.final.objects[0].freed and i.final.lpids_in_use == ()


def test_tlbie_all_flusher_frees_it_before_vcpu_0_locks():
    i = run_schedule("tlbie-all", "1 1 1 0 1 1 1 1 1 0 0 0 0 0 0", partner="flush")
    assert "no reference taken (refcnt 2)" in i.steps[3].text
    assert i.steps[8].text.startswith("kvmhv_release_nested(gp#1)")
    assert "rewrites PATE[2]" in i.steps[10].text  # the stale shadow root
    assert "slot no longer holds gp#1: leave refcnt alone; ref = 0" in i.steps[11].text
    assert i.steps[12].text == "kvmhv_release_nested(gp#1) again: double free!"
    assert [v.step for v in i.violations] == [9, 10, 11, 12, 13]
    assert "double free" in i.violations[3].text


def test_tlbie_all_mutex_orders_the_two_flushes():
    # vcpu 0 locks first: vcpu 1 (holding a reference) waits, vcpu 0's remove leaves
    # refcnt 1, vcpu 1's put frees it after vcpu 0 is done with it
    i = run_schedule("tlbie-all", "0 1 0 0 0 0 0 1 1 1 1 1 1 1 0", partner="flush")
    assert i.ok
    assert i.steps[2].objects[0].tlb_owner == 0
    assert i.steps[14].text.endswith("the loop ends; spin_unlock")
    with pytest.raises(ConfigError, match="vcpu 1 waits in mutex_lock for the tlb_lock vcpu 0"):
        run_schedule("tlbie-all", "0 1 0 1", partner="flush")


def test_tlbie_all_accepts_only_the_kernel_code():
    with pytest.raises(ConfigError, match="kernel's code only"):
        explore("tlbie-all", lock=False)
    with pytest.raises(ConfigError, match="kernel's code only"):
        explore("tlbie-all", check_gp=False)
    with pytest.raises(ConfigError, match="unknown partner"):
        explore("tlbie-all", partner="sleep")
    with pytest.raises(ConfigError, match="partner is for the tlbie-all race"):
        explore("remove", partner="run")
    assert explore("tlbie-all") is explore("tlbie-all", partner="flush")  # the default


@pytest.mark.parametrize("partner", ["run", "none"])
def test_tlbie_all_exploration_is_exactly_the_complete_schedules(partner):
    from itertools import product

    found = set()
    for length in range(1, 11):
        for sched in product((0, 1), repeat=length):
            try:
                run_schedule("tlbie-all", sched, partner=partner)
            except ConfigError:
                continue
            found.add(sched)
    assert found == {i.schedule for i in explore("tlbie-all", partner=partner).interleavings}
