"""The event log is a ring of the last ``limit`` events with global numbering.

Hand-checked positions on a tiny ring, a property against an unbounded log (every view
is the unbounded one less what was dropped), and notebook-scale runs whose logs are whole
and identical to an unbounded log's.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pynest import scenarios as W
from pynest.errors import PynestError
from pynest.kvm import host
from pynest.kvm.events import DEFAULT_LIMIT, KINDS, EventLog
from pynest.kvm.nested import lifecycle_violations


def _fill(log: EventLog, kinds: list[str]) -> None:
    for i, kind in enumerate(kinds):
        log.append(kind, "L0", lpid=i % 3)


def test_a_full_ring_drops_the_oldest_and_keeps_numbering():
    log = EventLog(limit=3)
    _fill(log, ["hcall", "exit", "resume", "exit", "hcall-return"])
    assert len(log) == 5 and log.dropped == 2 and log.mark() == 5
    assert [e.seq for e in log] == [2, 3, 4]
    assert log[4].kind == "hcall-return" and log[-1] is log[4] and log[2].seq == 2
    assert log[-3] is log[2]
    for gone in (0, 1, -4, -5):
        with pytest.raises(IndexError, match="left the ring"):
            log[gone]
    for absent in (5, -6):
        with pytest.raises(IndexError, match="does not exist"):
            log[absent]
    assert [e.seq for e in log[0:5]] == [2, 3, 4] and [e.seq for e in log[3:]] == [3, 4]
    assert [e.seq for e in log.since(0)] == [2, 3, 4]  # a mark older than the ring
    assert [e.seq for e in log.since(3)] == [3, 4] and log.since(5) == []
    assert log.kinds(1) == ["resume", "exit", "hcall-return"]
    assert [e.seq for e in log.filter("exit")] == [3] and log.count("exit") == 1
    assert [e.seq for e in log.filter(lpid=1, start=4)] == [4]
    assert log.appended["exit"] == 2 and sum(log.appended.values()) == 5
    assert log.last("hcall") is None and log.last("resume").seq == 2
    assert str(log).splitlines()[0].split()[0] == "2"


def test_limit_must_be_a_positive_int():
    for bad in (0, -1, 2.5, "10", True):
        with pytest.raises(PynestError, match="limit"):
            EventLog(limit=bad)  # type: ignore[arg-type]


KIND_LIST = sorted(KINDS)


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 12),
    st.lists(st.sampled_from(KIND_LIST[:6]), max_size=60),
    st.integers(-70, 70),
)
def test_every_view_is_the_unbounded_log_less_what_was_dropped(limit, kinds, mark):
    ring, full = EventLog(limit=limit), EventLog(limit=10_000)
    _fill(ring, kinds)
    _fill(full, kinds)
    held = [e for e in full if e.seq >= ring.dropped]
    assert len(ring) == len(full) == len(kinds) and list(ring) == held
    assert len(list(ring)) == min(limit, len(kinds)) == len(kinds) - ring.dropped
    assert ring.since(mark) == [e for e in full.since(mark) if e.seq >= ring.dropped]
    assert ring.kinds(mark) == [e.kind for e in ring.since(mark)]
    for kind in KIND_LIST[:6]:
        want = [e for e in full.filter(kind, start=mark) if e.seq >= ring.dropped]
        assert ring.filter(kind, start=mark) == want
        assert ring.count(kind) == len([e for e in held if e.kind == kind])
        assert ring.appended[kind] == full.count(kind)
        assert ring.last(kind) == (full.last(kind) if ring.count(kind) else None)
    for i in range(-len(kinds), len(kinds)):
        j = i % len(kinds)
        if j >= ring.dropped:
            assert ring[i] == full[i] and ring[i].seq == j
        else:
            with pytest.raises(IndexError):
                ring[i]


def test_the_default_keeps_notebook_scale_logs_whole(monkeypatch):
    """A world like the notebooks' (two L2s, run twenty times): with the default ring
    nothing is dropped, seq is the index, and the log equals that of the same run whose
    L0 was built with an unbounded log."""
    assert DEFAULT_LIMIT == 100_000
    a = W.two_l2s(7)
    monkeypatch.setattr(host, "EventLog", lambda: EventLog(limit=10**9))
    b = W.two_l2s(7)
    assert a.l0.events.limit == DEFAULT_LIMIT and b.l0.events.limit == 10**9
    for w in (a, b):
        for _ in range(20):
            w.run_all()
    seen = list(a.l0.events)
    assert a.l0.events.dropped == 0 and [e.seq for e in seen] == list(range(len(a.l0.events)))
    assert [str(e) for e in seen] == [str(e) for e in b.l0.events]
    assert 500 < len(seen) < DEFAULT_LIMIT


def test_a_long_run_is_bounded_and_its_tail_is_the_unbounded_tail():
    """The same long run with a ring of 200 and an unbounded log: the ring holds exactly
    the last 200 events of the unbounded log, numbered alike, and the model's behaviour
    (what the runs returned) does not depend on the log's size."""
    small, big = W.two_l2s(3), W.two_l2s(3)
    small.l0.events = EventLog(limit=200)
    big.l0.events = EventLog(limit=10**9)
    stops_small = [small.run_all() for _ in range(15)]
    stops_big = [big.run_all() for _ in range(15)]
    assert stops_small == stops_big
    ring, full = small.l0.events, big.l0.events
    assert len(ring) == len(full) > 200 and ring.dropped == len(full) - 200
    assert [str(e) for e in ring] == [str(e) for e in list(full)[-200:]]
    assert ring.appended == full.appended


def test_lifecycle_violations_still_report_a_use_after_free_that_left_the_ring():
    w = W.one_l1(0)
    w.l0.events = EventLog(limit=4)
    w.l0.events.append("use-after-free", "L0", lpid=w.vm.lpid, detail="tlb_lock on a freed guest")
    assert [v.kind for v in lifecycle_violations(w.l0)] == ["use-after-free"]
    _fill(w.l0.events, ["hcall", "hcall-return"] * 3)  # pushes it out of the ring
    found = lifecycle_violations(w.l0)
    assert [(v.kind, v.lpid) for v in found] == [("use-after-free", None)]
    assert "1 more use-after-free" in found[0].text
