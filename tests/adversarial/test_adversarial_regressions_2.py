"""Regressions found by the adversarial L1 state machine and ``make fuzz`` (issue 7),
each with the input that found it; and the properties of what was changed to make the
fuzz affordable."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pynest.memory import PhysicalMemory


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.lists(st.tuples(st.integers(0, 2**14 - 1), st.integers(0, 3)), max_size=60),
    st.integers(0, 2**14 - 1),
    st.integers(0, 2**12),
)
def test_nonzero_u64_matches_a_scan_after_any_writes(writes, start, n):
    """nonzero_u64 keeps a per-4K-frame index of written doublewords (the isolation
    check scans every table after every fuzz step; a 64 KiB root was 8192 lookups).
    Writes of 0 remove entries; the index must answer exactly what a scan would."""
    mem = PhysicalMemory(1 << 17)
    for dw, value in writes:
        mem.write_u64(8 * dw, value)
    start, size = 8 * start, min(8 * n, (1 << 17) - 8 * start)
    scan = [(a, mem.read_u64(a)) for a in range(start, start + size, 8) if mem.read_u64(a)]
    assert mem.nonzero_u64(start, size) == scan
    assert mem.copy().nonzero_u64(start, size) == scan
    mem.write(start, bytes(size))  # the zeroing fast path
    assert mem.nonzero_u64(start, size) == []
