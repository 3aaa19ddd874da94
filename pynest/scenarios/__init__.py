"""Named, seeded worlds that notebooks and tests share.

* :func:`one_l1` -- an L0 with one L1 that has registered its partition table;
* :func:`two_l2s` -- that L1 running two L2s, each with code and data mapped and a
  program that stores, loads and cedes;
* :func:`migrated_l1` -- the same L1 just after migration to a fresh L0: its memory
  (partition table and L2 trees included) and ``l1_ptcr`` arrive, but L0 has no nested
  guests, no shadow tables and no backing yet;
* :func:`radix_reference` and :func:`radix_host` -- MMU-only worlds (tables in memory and
  the CPU contexts that use them) for the radix notebooks and ``pynest walk``.

:data:`SCENARIOS` names them all.

Every builder takes a ``seed`` and uses only ``random.Random(seed)``. Also here:
:func:`direct_translate`, the three-stage translation L2 EA -> L2 real -> L1 real ->
host real computed from the tables without shadow state, and the isolation invariant
(:func:`isolation_violations`, from :mod:`pynest.kvm.host`).
"""

from __future__ import annotations

from ..kvm.host import isolation_violations
from .direct import direct_translate
from .l1 import CODE_EA, DATA_EA, World, add_l2, migrated_l1, one_l1, two_l2s
from .radix import RADIX_REFERENCE_IMAGE, MmuWorld, Page, radix_host, radix_reference

__all__ = [
    "CODE_EA",
    "DATA_EA",
    "RADIX_REFERENCE_IMAGE",
    "SCENARIOS",
    "MmuWorld",
    "Page",
    "World",
    "add_l2",
    "direct_translate",
    "isolation_violations",
    "migrated_l1",
    "one_l1",
    "radix_host",
    "radix_reference",
    "two_l2s",
]

SCENARIOS = {
    "radix-reference": (radix_reference, "MMU: the fact sheet's hand-checked worked examples"),
    "radix-host": (radix_host, "MMU: hypervisor processes and a guest, pages of every size"),
    "one-l1": (one_l1, "KVM: an L0 with one L1 that has registered its partition table"),
    "two-l2s": (two_l2s, "KVM: that L1 running two L2s with code and data mapped"),
    "migrated-l1": (migrated_l1, "KVM: the two-L2 L1 just after migration to a fresh L0"),
}
"""Every named world: name -> (builder, one-line description)."""
