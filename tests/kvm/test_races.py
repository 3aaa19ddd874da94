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
