"""The TLB is finite (POWER9: 1024 translations) and forgets what leaves it.

Hand-checked eviction order on small TLBs, real translations that miss and walk again
after their entry was evicted, a property against a reference LRU, and the remembered
permission verdicts bounded by what the TLB holds (they used to outlive every entry).
"""

from __future__ import annotations

import random
from collections import OrderedDict
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pynest import scenarios as W
from pynest.errors import PynestError
from pynest.kvm.l1 import L1
from pynest.mmu import Tlb, TlbEntry, translate
from pynest.mmu import constants as C
from pynest.mmu.tlb import PWC_ENTRIES, TLB_ENTRIES, _note
from pynest.mmu.xlate import LOAD, STORE
from pynest.scenarios import radix_host

WORLD = radix_host(3)
PTE = C.PTE_V | C.PTE_L | C.PTE_R | C.PTE_C | 0xF  # leaf, referenced, changed, RWX
CPU = WORLD.contexts["hv-pid1"]


def _entry(i: int, lpid: int = 1, pid: int | None = 5) -> TlbEntry:
    epn = 0x1000_0000 + i * C.PAGE_4K
    return TlbEntry(
        lpid=lpid,
        pid=pid,
        epn=epn,
        page_size=C.PAGE_4K,
        rpn=0x400_0000 + i * C.PAGE_4K,
        gra=None,
        proc_pte=PTE,
        part_pte=None,
    )


def _key(e: TlbEntry) -> tuple:
    return (e.lpid, e.pid, e.page_size, e.epn)


def _hit(tlb: Tlb, e: TlbEntry, acc: int = LOAD) -> bool:
    return tlb.lookup_for(CPU, acc, e.lpid, e.pid, e.epn) is not None


def test_power9_size_is_the_default():
    assert TLB_ENTRIES == 1024 and Tlb().capacity == 1024


def test_a_full_tlb_evicts_the_least_recently_used():
    tlb = Tlb(capacity=3)
    a, b, c, d, e = (_entry(i) for i in range(5))
    for x in (a, b, c):
        tlb.insert(x)
    assert _hit(tlb, a)  # order of use now b, c, a
    tlb.insert(d)  # evicts b
    assert list(tlb) == [a, c, d] and tlb.evictions == 1
    assert not _hit(tlb, b) and tlb.lookup(1, 5, b.epn) is None
    tlb.insert(c)  # re-inserting a held key refreshes it and evicts nothing
    assert tlb.evictions == 1 and len(tlb) == 3
    tlb.insert(e)  # order of use was a, d, c: a goes
    assert {_key(x) for x in tlb} == {_key(c), _key(d), _key(e)} and tlb.evictions == 2


def test_lookup_is_a_probe_and_changes_no_recency():
    tlb = Tlb(capacity=2)
    a, b, c = (_entry(i) for i in range(3))
    tlb.insert(a)
    tlb.insert(b)
    assert tlb.lookup(1, 5, a.epn) == a
    tlb.insert(c)  # a is still the least recently used
    assert tlb.lookup(1, 5, a.epn) is None and tlb.lookup(1, 5, b.epn) == b


def test_a_refused_hit_still_counts_as_use():
    """A cached entry found but not permitting the access (a store to a PTE with C=0)
    is used: the access re-walks, which on hardware refreshes that translation."""
    tlb = Tlb(capacity=2)
    clean = TlbEntry(
        lpid=1,
        pid=5,
        epn=0x2000_0000,
        page_size=C.PAGE_4K,
        rpn=0x500_0000,
        gra=None,
        proc_pte=PTE & ~C.PTE_C,
        part_pte=None,
    )
    other = _entry(0)
    tlb.insert(clean)
    tlb.insert(other)
    assert not _hit(tlb, clean, STORE)
    tlb.insert(_entry(1))
    assert tlb.lookup(1, 5, clean.epn) == clean and tlb.lookup(1, 5, other.epn) is None


def test_a_verdict_belongs_to_the_entry_it_was_computed_for():
    """Replacing an entry (by a fill, or even behind the TLB's back) never reuses the
    old entry's verdict: a store allowed with C set is refused once C is clear."""
    tlb = Tlb()
    dirty = _entry(0)
    clean = TlbEntry(
        lpid=1,
        pid=5,
        epn=dirty.epn,
        page_size=C.PAGE_4K,
        rpn=dirty.rpn,
        gra=None,
        proc_pte=PTE & ~C.PTE_C,
        part_pte=None,
    )
    tlb.insert(dirty)
    assert _hit(tlb, dirty, STORE)
    tlb.insert(clean)
    assert not _hit(tlb, clean, STORE) and _hit(tlb, clean, LOAD)
    tlb.insert(dirty)
    assert _hit(tlb, dirty, STORE)
    tlb.entries[_key(clean)] = clean  # not through the methods
    assert not _hit(tlb, clean, STORE)


def test_capacity_must_be_a_positive_int():
    for bad in (0, -1, 1.5, "8", True):
        with pytest.raises(PynestError, match="capacity"):
            Tlb(capacity=bad)  # type: ignore[arg-type]


PAGES = [(name, ea, size) for name, done in WORLD.mappings.items() for ea, _ra, size, _p in done]


def test_evicted_translations_miss_and_walk_again_to_the_same_answer():
    """A 2-entry TLB over three pages of one context: the third fill evicts the first,
    whose next access misses, walks (reading the tables again) and gives the same ra."""
    name = next(n for n, done in WORLD.mappings.items() if len(done) >= 3)
    cpu, mem = WORLD.contexts[name], WORLD.mem.copy()
    eas = [ea for ea, _ra, _size, _p in WORLD.mappings[name][:3]]
    tlb = Tlb(capacity=2)
    first = [translate(mem, cpu, ea, "load", tlb=tlb) for ea in eas]
    assert all(t.fault is None and not t.tlb_hit for t in first)
    assert len(tlb) == 2 and tlb.evictions == 1
    again = translate(mem, cpu, eas[0], "load", tlb=tlb)
    assert not again.tlb_hit and again.raw_steps and again.ra == first[0].ra
    assert tlb.evictions == 2 and len(tlb) == 2
    # the most recent one (eas[2]) survived the refill of eas[0]; eas[1] was evicted
    assert translate(mem, cpu, eas[2], "load", tlb=tlb).tlb_hit
    assert not translate(mem, cpu, eas[1], "load", tlb=tlb).tlb_hit


def _record(t):
    return (t.ea, t.access, t.ra, t.fault and str(t.fault), t.page_size, t.lpid, t.pid, t.gra)


@dataclass
class _Spy(Tlb):
    """A Tlb that reports each use the policy counts: an entry found by lookup_for
    (hit or refused) and each installation (fill or insert)."""

    uses: list = field(default_factory=list)

    def lookup_for(self, cpu, acc, lpid, pid, addr):
        for size in C.PAGE_SIZES:
            key = (lpid, pid, size, addr & -size)
            if key in self.entries:
                self.uses.append(("found", key))
                break
        return super().lookup_for(cpu, acc, lpid, pid, addr)

    def _put(self, entry):
        self.uses.append(("put", _key(entry)))
        super()._put(entry)


@st.composite
def operation(draw):
    kind = draw(st.sampled_from(["xlate"] * 6 + ["insert", "remove", "tlbie", "flush"]))
    if kind == "xlate":
        name, ea, size = draw(st.sampled_from(PAGES))
        cpu = WORLD.contexts[name]
        ea += draw(st.integers(0, size - 1)) & -8
        return ("xlate", cpu, ea, draw(st.sampled_from(["load", "store", "fetch"])))
    if kind in ("insert", "remove"):
        return (kind, _entry(draw(st.integers(0, 40)), draw(st.integers(0, 2))))
    if kind == "tlbie":
        is_ = draw(st.sampled_from([0, 2, 3]))
        _, ea, _size = draw(st.sampled_from(PAGES))
        rb = (ea & -C.PAGE_4K) | is_ << 10
        return ("tlbie", rb, draw(st.integers(0, 2)) << 32 | 5, draw(st.integers(0, 1)))
    return ("flush",)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.lists(operation(), min_size=5, max_size=60))
def test_capacity_never_exceeded_and_eviction_is_lru(capacity, ops):
    """A small TLB against a reference LRU fed the same uses: the same keys in the same
    order of use; never more than ``capacity``; and eviction never changes an answer
    (the same accesses through an unbounded TLB give the same records and memory)."""
    small, big = _Spy(capacity=capacity), Tlb(capacity=10_000)
    mem_small, mem_big = WORLD.mem.copy(), WORLD.mem.copy()
    ref: OrderedDict = OrderedDict()
    evicted = 0
    for op in ops:
        if op[0] == "xlate":
            _, cpu, ea, access = op
            a = translate(mem_small, cpu, ea, access, tlb=small)
            b = translate(mem_big, cpu, ea, access, tlb=big)
            assert _record(a) == _record(b)
        elif op[0] == "insert":
            small.insert(op[1])
            big.insert(op[1])
        elif op[0] == "remove":
            small.remove(op[1])
            big.remove(op[1])
            ref.pop(_key(op[1]), None)
        elif op[0] == "tlbie":
            _, rb, rs, prs = op
            for e in small.tlbie(rb, rs, 0, prs).removed:
                ref.pop(_key(e), None)
            big.tlbie(rb, rs, 0, prs)
        else:
            small.flush_all()
            big.flush_all()
            ref.clear()
        for what, key in small.uses:
            if what == "put" and key not in ref and len(ref) == capacity:
                ref.popitem(last=False)
                evicted += 1
            if what == "put" or key in ref:
                ref[key] = None
                ref.move_to_end(key)
        small.uses.clear()
        assert len(small) <= capacity
        assert list(small._lru) == list(ref) and set(small.entries) == set(ref)
        assert set(small._verdicts) <= set(small.entries)
        assert small.evictions == evicted
    assert list(mem_small.written()) == list(mem_big.written())


def test_verdicts_are_bounded_after_churn():
    """Many distinct entries inserted, hit under every register variant and taken out
    again by each way out (remove, tlbie, flush, eviction): the verdicts stay within
    what the TLB holds, and none is left once the TLB is empty."""
    tlb = Tlb(capacity=64)
    cpus = [
        CPU.replace(msr=CPU.msr | pr, amr=amr << 62) for pr in (0, C.MSR_PR) for amr in range(4)
    ]
    most = 0
    for i in range(5000):
        e = _entry(i, lpid=1 + i % 3)
        tlb.insert(e)
        for cpu in cpus:
            for acc in (0, 1, 2):
                tlb.lookup_for(cpu, acc, e.lpid, e.pid, e.epn)
        most = max(most, sum(len(v) for _e, v in tlb._verdicts.values()))
        assert set(tlb._verdicts) <= set(tlb.entries)
        way_out = i % 4
        if way_out == 0:
            tlb.remove(e)
        elif way_out == 1:
            rb = e.epn | 0 << 10 | C.AP_OF_PAGE_SIZE[C.PAGE_4K] << 5
            assert tlb.tlbie(rb, 5 << 32 | e.lpid, 0, 1).removed == (e,)
        elif way_out == 2 and i % 1000 == 2:
            tlb.flush_all()
        # otherwise it stays until eviction
    assert len(tlb) <= 64 and len(tlb._verdicts) <= 64 and tlb.evictions > 0
    assert most <= 64 * 3 * 2 * 4 * 4
    tlb.tlbie(3 << 10, 0, 2, 1)
    tlb.tlbie(3 << 10, 0, 2, 0)
    assert len(tlb) == 0 and not tlb._verdicts and not tlb._lru


def test_destroy_l1_leaves_no_verdict_behind():
    """The issue's case: after destroy_l1 no TLB entry, recency or verdict of the L1 or
    its shadow LPIDs is left, over repeated create/run/destroy cycles on one L0."""
    w = W.two_l2s(4, run=True)
    tlb = w.l0.tlb
    assert tlb._verdicts  # the runs were answered partly from remembered verdicts
    shadow = {gp.shadow_lpid for gp in w.vm.nested}
    w.l0.destroy_l1(w.vm)
    gone = shadow | {w.vm.lpid}
    assert not any(k[0] in gone for k in (*tlb.entries, *tlb._verdicts, *tlb._lru))
    sizes = []
    for seed in range(12):
        vm = w.l0.create_l1(128 << 20)
        l1 = L1(vm)
        assert l1.nested_init() == 0
        world = W.World(seed, w.l0, vm, l1)
        rng = random.Random(seed)
        for _ in range(2):
            W.add_l2(world, rng, C.PAGE_64K)
        assert set(world.run_all().values()) == {"ceded"}
        gone = {gp.shadow_lpid for gp in vm.nested} | {vm.lpid}
        w.l0.destroy_l1(vm)
        assert not any(k[0] in gone for k in (*tlb.entries, *tlb._verdicts, *tlb._lru))
        assert set(tlb._verdicts) <= set(tlb.entries) and len(tlb) <= tlb.capacity
        sizes.append((len(tlb), len(tlb._verdicts), len(tlb.pwc), len(tlb.table_cache)))
    assert sizes[-1] == sizes[0]  # back to the same footprint after every cycle


def test_walk_caches_are_bounded():
    """The walk caches keep at most their bound, dropping their oldest record."""
    cache: dict = {}
    for k in (1, 2, 1, 3):
        _note(cache, (k,), 2)
    assert list(cache) == [(2,), (3,)]
    tlb = Tlb()
    tlb.pwc.update(dict.fromkeys(((9, None, i) for i in range(PWC_ENTRIES)), None))
    name, ea, _size = PAGES[0]
    t = translate(WORLD.mem.copy(), WORLD.contexts[name], ea, "load", tlb=tlb)
    walked = [s for s in t.raw_steps if s[0] in ("process", "partition") and not s[5] & C.PTE_L]
    assert walked and len(tlb.pwc) == PWC_ENTRIES
    assert (9, None, 0) not in tlb.pwc and (9, None, PWC_ENTRIES - 1) in tlb.pwc
