"""A TLB's remembered hits (``Tlb.remember``) answer exactly as the full look-up would.

``translate`` answers a repeated hit (same CpuState object, access, 4 KiB page) from one
dictionary look-up. These tests run the same random sequence of translations, tlbie,
insertions and flushes on two copies of one world: one TLB uses its remembered hits, the
other forgets them before every call (so it always takes ``Tlb.lookup_for``). Every
record, counter and TLB content must agree.
"""

from __future__ import annotations

import copy
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pynest.errors import ConfigError, FieldError
from pynest.mmu import Tlb, TlbEntry, translate
from pynest.mmu import constants as C
from pynest.mmu.xlate import quadrant_ids
from pynest.scenarios import radix_host, radix_reference

WORLD = radix_host(3)


def _variants(cpu):
    """A context, its problem-state and AMR-blocked variants, and an equal but distinct
    copy (which must not share the original's remembered hits)."""
    return [
        cpu,
        cpu.replace(msr=cpu.msr | C.MSR_PR),
        cpu.replace(amr=1 << 62),  # key 0 read blocked (AMR bit 1)
        cpu.replace(),
    ]


CPUS = {name: _variants(cpu) for name, cpu in WORLD.contexts.items()}
ALL_CPUS = [cpu for variants in CPUS.values() for cpu in variants]
PAGES = [(name, ea, size) for name, done in WORLD.mappings.items() for ea, _ra, size, _p in done]


@st.composite
def an_access(draw):
    """One access, mostly by the page's own context (so that most translate)."""
    name, ea, size = draw(st.sampled_from(PAGES))
    cpus = CPUS[name] if draw(st.integers(0, 4)) else ALL_CPUS
    cpu = draw(st.sampled_from(cpus))
    offset = draw(st.integers(0, size - 1))
    quadrant = draw(st.sampled_from([0, 0, 3]))
    return cpu, quadrant << 62 | ea + offset, draw(st.sampled_from(["load", "store", "fetch"]))


@st.composite
def operation(draw, pool):
    """Mostly a translation from ``pool`` (so that accesses repeat), else a TLB change."""
    kind = draw(st.sampled_from(["xlate"] * 8 + ["tlbie", "insert", "flush"]))
    if kind == "xlate":
        cpu, ea, acc = draw(st.sampled_from(pool))
        page_offset = draw(st.sampled_from([ea & 0xFFF, draw(st.integers(0, 0xFFF))]))
        return ("xlate", cpu, ea & ~0xFFF | page_offset, acc)
    if kind == "tlbie":
        is_ = draw(st.integers(0, 3))
        prs = 1 if is_ == 1 else draw(st.integers(0, 1))
        _, ea, size = draw(st.sampled_from(PAGES))
        ap = C.AP_OF_PAGE_SIZE[draw(st.sampled_from(C.PAGE_SIZES))]
        rb = (ea & -C.PAGE_4K) | is_ << 10 | ap << 5
        rs = draw(st.integers(0, 2)) << 32 | draw(st.sampled_from([0, 5]))
        return ("tlbie", rb, rs, prs)
    if kind == "insert":  # a 4 KiB entry inside a pool access's page, for its LPID/PID
        cpu, ea, _ = draw(st.sampled_from(pool))
        lpid, pid = quadrant_ids(cpu, ea)
        ea &= C.EA_NOQUAD_MASK & -C.PAGE_4K
        rpn = draw(st.integers(0, 0xFFFF)) << 12
        pte = C.PTE_V | C.PTE_L | 0xF | C.PTE_R | C.PTE_C
        return (
            "insert",
            TlbEntry(
                lpid=lpid,
                pid=pid,
                epn=ea,
                page_size=C.PAGE_4K,
                rpn=rpn,
                gra=None,
                proc_pte=pte,
                part_pte=None,
            ),
        )
    return ("flush",)


def _record(t):
    return (
        t.ea, t.access, t.mode, t.ra, t.fault and str(t.fault), t.page_size, t.lpid, t.pid,
        t.quadrant, t.gra, [tuple(s) for s in t.raw_steps], [str(u) for u in t.rc_updates],
        t.tlb_hit, list(t.notes),
    )  # fmt: skip


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_remembered_hits_answer_as_the_full_lookup(data):
    pool = data.draw(st.lists(an_access(), min_size=1, max_size=4))
    ops = data.draw(st.lists(operation(pool), min_size=12, max_size=40))
    capacity = data.draw(st.sampled_from([1, 2, 3, 64]))  # small ones evict by recency
    mem_fast, mem_full = WORLD.mem.copy(), WORLD.mem.copy()
    fast, full = Tlb(capacity=capacity), Tlb(capacity=capacity)
    for op in ops:
        if op[0] == "xlate":
            _, cpu, ea, access = op
            full.forget_hits()
            a = translate(mem_fast, cpu, ea, access, tlb=fast)
            b = translate(mem_full, cpu, ea, access, tlb=full)
            assert _record(a) == _record(b)
        elif op[0] == "tlbie":
            _, rb, rs, prs = op
            assert str(fast.tlbie(rb, rs, 0, prs)) == str(full.tlbie(rb, rs, 0, prs))
        elif op[0] == "insert":
            fast.insert(op[1])
            full.insert(op[1])
        else:
            fast.flush_all()
            full.flush_all()
        assert (fast.hits, fast.misses, fast.evictions) == (
            full.hits, full.misses, full.evictions
        )  # fmt: skip
        assert sorted(map(str, fast)) == sorted(map(str, full))
    assert list(mem_fast.written()) == list(mem_full.written())


def _warm():
    world = radix_reference()
    mem, hv = world.mem, world.contexts["hv"]
    tlb = Tlb()
    translate(mem, hv, 0x10000ABC, "load", tlb=tlb)  # miss: walks and fills
    translate(mem, hv, 0x10000ABC, "load", tlb=tlb)  # hit: remembered
    return mem, hv, tlb


def test_a_repeated_hit_is_remembered_and_counted():
    mem, hv, tlb = _warm()
    assert tlb.remembered == 1
    t = translate(mem, hv, 0x10000FF8, "load", tlb=tlb)  # same 4 KiB page, other offset
    assert (t.ra, t.gra, t.page_size, t.tlb_hit, t.pid, t.lpid) == (
        0x3000FF8, 0x3000FF8, C.PAGE_4K, True, 5, 0
    )  # fmt: skip
    assert t.raw_steps == [] and t.rc_updates == [] and t.notes == []
    assert (tlb.hits, tlb.misses) == (2, 1)


def test_a_remembered_hit_makes_its_entry_the_most_recently_used():
    world = radix_reference()
    mem, hv = world.mem, world.contexts["hv"]
    tlb = Tlb(capacity=2)
    a, b = 0x10000ABC, 0x10001ABC
    pte = C.PTE_V | 0xF  # a process-scoped PTE the hypervisor may load through

    def entry(ea: int) -> TlbEntry:  # LPID 0, PID 5: what the "hv" context looks up
        return TlbEntry(
            lpid=0,
            pid=5,
            epn=ea & -C.PAGE_4K,
            page_size=C.PAGE_4K,
            rpn=0x7000000 + (ea & 0xF000),
            gra=None,
            proc_pte=pte,
            part_pte=None,
        )

    translate(mem, hv, a, "load", tlb=tlb)  # miss: walks and fills a
    tlb.insert(entry(b))  # use order a, b
    translate(mem, hv, a, "load", tlb=tlb)  # full look-up: b, a; a remembered
    translate(mem, hv, b, "load", tlb=tlb)  # full look-up: a, b; b remembered
    assert tlb.remembered == 2
    assert translate(mem, hv, a, "load", tlb=tlb).tlb_hit  # recalled: b, a
    tlb.insert(entry(0x10002ABC))  # a full TLB: the least recently used (b) goes
    assert tlb.evictions == 1 and tlb.lookup(0, 5, b) is None
    assert tlb.lookup(0, 5, a) is not None


def test_recall_answers_only_the_same_cpu_object_access_and_page():
    mem, hv, tlb = _warm()
    assert tlb.recall(hv, "load", 0x10000FF8) is not None
    assert tlb.recall(hv.replace(), "load", 0x10000ABC) is None  # equal, not the same object
    assert tlb.recall(hv, "store", 0x10000ABC) is None
    assert tlb.recall(hv, "load", 0x10001ABC) is None
    assert tlb.recall(hv, ["load"], 0x10000ABC) is None  # unhashable: no answer, no error
    tlb.forget_hits()
    assert tlb.remembered == 0 and tlb.recall(hv, "load", 0x10000ABC) is None


def test_tlbie_forgets_remembered_hits():
    mem, hv, tlb = _warm()
    # tlbie RB = EPN | IS 0 | AP 0 (4K), RS = PID 5 | LPID 0, PRS 1: this page only
    tlb.tlbie(0x10000000, 5 << 32, ric=0, prs=1)
    assert not tlb.remembered
    t = translate(mem, hv, 0x10000ABC, "load", tlb=tlb)
    assert not t.tlb_hit and t.memory_reads == 9 and t.ra == 0x3000ABC


def test_a_smaller_entry_filled_later_wins_over_a_remembered_hit():
    mem, hv, tlb = _warm()
    tlb.insert(
        TlbEntry(
            lpid=0,
            pid=5,
            epn=0x10000000,
            page_size=C.PAGE_4K,
            rpn=0x7000000,
            gra=None,
            proc_pte=C.PTE_V | 0xF,
            part_pte=None,
        )
    )
    assert translate(mem, hv, 0x10000ABC, "load", tlb=tlb).ra == 0x7000ABC


def test_remove_takes_one_entry_and_forgets_remembered_hits():
    mem, hv, tlb = _warm()
    (entry,) = list(tlb)
    tlb.remove(entry)
    assert len(tlb) == 0 and not tlb.remembered
    tlb.remove(entry)  # already gone: nothing happens


def test_problem_state_is_not_served_by_a_privileged_hit():
    mem, hv, tlb = _warm()
    user = hv.replace(msr=hv.msr | C.MSR_PR)
    t = translate(mem, user, 0x10000ABC, "load", tlb=tlb)
    # the reference page is EAA -rw- (not privileged): a user load is allowed, from the TLB
    assert t.tlb_hit and t.ra == 0x3000ABC
    blocked = hv.replace(amr=1 << 62)  # AMR key 0 read-disable
    t = translate(mem, blocked, 0x10000ABC, "load", tlb=tlb)
    assert not t.tlb_hit and t.fault is not None and t.fault.interrupt == "DSI"
    assert t.fault.dsisr == C.DSISR_PROTFAULT


def test_bad_input_is_refused_even_with_a_warm_tlb():
    mem, hv, tlb = _warm()
    with pytest.raises(ConfigError, match="mem must be a PhysicalMemory"):
        translate(None, hv, 0x10000ABC, "load", tlb=tlb)
    with pytest.raises(FieldError, match="access must be"):
        translate(mem, hv, 0x10000ABC, "read", tlb=tlb)
    with pytest.raises(FieldError, match="access must be"):
        translate(mem, hv, 0x10000ABC, ["load"], tlb=tlb)
    with pytest.raises(Exception, match="ea"):
        translate(mem, hv, -1, "load", tlb=tlb)


def test_the_qemu_quirk_is_never_answered_from_or_into_remembered_hits():
    mem, hv, tlb = _warm()
    tlb.forget_hits()
    for _ in range(3):
        t = translate(mem, hv, 0x10000ABC, "load", tlb=tlb, qemu_7_2_quirk=True)
        assert t.tlb_hit and not tlb.remembered
    world = radix_reference()
    mem, cpu, tlb = world.mem, world.contexts["hv-quadrant1"], Tlb()
    ea = 1 << 62 | 0x12345678
    for _ in range(2):
        t = translate(mem, cpu, ea, "load", tlb=tlb)  # the ISA's 2-D walk, then a hit
    assert t.tlb_hit and t.ra == 0xA01678 and not t.notes and tlb.remembered
    t = translate(mem, cpu, ea, "load", tlb=tlb, qemu_7_2_quirk=True)
    assert t.tlb_hit and t.notes == [
        "QEMU 7.2 quirk: guest table addresses used as host real addresses"
    ]
    assert not translate(mem, cpu, ea, "load", tlb=tlb).notes


def test_what_a_cpustate_derives_follows_its_own_registers():
    world = radix_reference()
    mem, hv = world.mem, world.contexts["hv"]
    assert translate(mem, hv, 0x10000ABC, "load", update_rc=False).ra == 0x3000ABC
    # replace() builds a new object: its __post_init__ derives from its own registers
    blocked = hv.replace(amr=1 << 62)  # AMR key 0: no reads
    t = translate(mem, blocked, 0x10000ABC, "load", update_rc=False)
    assert t.fault.interrupt == "DSI" and "AMR/IAMR key 0 blocks it" in t.fault.reason
    assert blocked == hv.replace(amr=1 << 62)  # the derived state is not compared
    # QEMU 7.2 ppc_radix64_check_prot applies AMR only in privileged state: a user load
    # of this non-privileged page goes through even with key 0 blocked
    user = blocked.replace(msr=hv.msr | C.MSR_PR)
    assert translate(mem, user, 0x10000ABC, "load", update_rc=False).ra == 0x3000ABC
    bad = hv.replace(ptcr=(hv.ptcr & C.PTCR_PATB) + 0x1000 | 1)  # 8 KiB table, 4K aligned
    t = translate(mem, bad, 0x10000ABC, "load", update_rc=False)
    assert t.fault.interrupt == "HDSI" and "not aligned" in t.fault.reason
    assert translate(mem, hv, 0x10000ABC, "load", update_rc=False).ra == 0x3000ABC


def test_a_copied_or_pickled_cpustate_translates_as_the_original():
    world = radix_reference()
    mem, hv = world.mem, world.contexts["hv"]
    blocked = hv.replace(amr=1 << 62)
    for cpu in (hv, blocked):
        for other in (copy.deepcopy(cpu), pickle.loads(pickle.dumps(cpu))):
            assert other == cpu and hash(other) == hash(cpu)
            a = translate(mem, cpu, 0x10000ABC, "load", update_rc=False)
            b = translate(mem, other, 0x10000ABC, "load", update_rc=False)
            assert (a.ra, a.fault) == (b.ra, b.fault)
