"""Regressions found by the adversarial L1 state machine and ``make fuzz`` (issue 7),
each with the input that found it; and the properties of what was changed to make the
fuzz affordable."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pynest import scenarios as W
from pynest.errors import AddressError, ConfigError, PynestError
from pynest.kvm.hcalls import H_CEDE, do_hcall
from pynest.kvm.host import L0
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


# ----------------------------------------------------------------------------- the audit's finds
def test_regression_create_l1_with_2_pow_64_vcpus_is_refused_not_built():
    """L0.create_l1(nr_vcpus=2**64) never returned: it built a Vcpu record per vcpu.
    It is now refused up front (CONFIG_NR_CPUS = 2048), naming the argument."""
    l0 = L0()
    for bad in (2**64, 2049, 0, -1):
        with pytest.raises(ConfigError if bad > 0 else AddressError, match="nr_vcpus"):
            l0.create_l1(nr_vcpus=bad)
    assert l0.guests == {} and l0.lpids.free_count == 1022  # nothing half-created


def test_regression_map_l2_page_outside_the_l2_is_refused():
    """L1.map_l2_page(l2, gpa) with gpa past the L2's memory silently mapped an L2 page
    onto L1 memory beyond the L2's region (mem_base + gpa); str/float raised TypeError."""
    w = W.one_l1(0)
    l2 = w.l1.create_l2(4 << 20)
    before = l2.tree.mappings()
    for bad in (4 << 20, 2**40, "0x1000", 1.5):
        with pytest.raises(PynestError, match="gpa"):
            w.l1.map_l2_page(l2, bad)
    assert l2.tree.mappings() == before


def test_regression_hcall_from_a_vcpu_that_does_not_exist():
    """do_hcall(vcpu="1") raised TypeError, and a non-nested hcall from vcpu 99 passed."""
    w = W.one_l1(0)
    for bad in ("1", 1.0, -1, 99):
        with pytest.raises(PynestError, match="vcpu"):
            do_hcall(w.vm, H_CEDE, vcpu=bad)
