"""Distinct names for the address spaces and identifiers pynest juggles.

These are ``typing.NewType`` aliases of ``int``: free at run time, but a reader (and a
type checker) sees at a glance whether a value is an effective address, a guest real
address or a host real address, and whether an LPID is the L1's or L0's shadow one.
"""

from __future__ import annotations

from typing import NewType

EA = NewType("EA", int)
"""Effective address, as a program issues it (quadrant in bits 0:1)."""
GRA = NewType("GRA", int)
"""Guest real address: output of a process-scoped walk inside a partition."""
HRA = NewType("HRA", int)
"""Host real address: what the memory subsystem sees."""
LPID = NewType("LPID", int)
"""Logical partition ID: an index into a partition table."""
PID = NewType("PID", int)
"""Process ID: an index into a process table."""
