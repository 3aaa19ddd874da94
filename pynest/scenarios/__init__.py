"""Every world and experiment driver the notebooks, explorers, figures and exercises
share: one package, one world vocabulary.

Records: :class:`World` (an L0, one L1 and its L2s: every L1/L2 world) and
:class:`MmuWorld` (memory, radix tables and the CPU contexts that use them: every
MMU-only world, the guest worlds of the two-dimensional walk included). Modules,
bottom-up:

* :mod:`.text` -- numbers as a learner types them (:func:`parse_number`);
* :mod:`.radix` -- :func:`radix_reference` (the fact sheet's worked examples) and
  :func:`radix_host`; :mod:`.hv_process` -- the small seeded hypervisor-process world;
  :mod:`.quadrants` -- the quadrant world (notebook 03); :mod:`.guest` -- guest worlds,
  walk counts and the 3-D walk (notebook 04);
* :mod:`.l1` -- :func:`one_l1`, :func:`two_l2s`, :func:`migrated_l1` (``SCENARIOS``);
  :mod:`.direct` -- :func:`direct_translate`, the three-stage translation L2 EA -> L2
  real -> L1 real -> host real from the tables alone;
* :mod:`.set_ptbl` (notebooks 05, 12), :mod:`.nested` (H_ENTER_NESTED runs and the copy
  world, notebooks 07, 10), :mod:`.shadow` (nested page faults, notebook 08),
  :mod:`.tlbie` (the invalidation lab, notebook 09), :mod:`.nested_init` (notebook
  12's start-up errno), :mod:`.classroom` (the classroom story, notebook 11).

:data:`SCENARIOS` names the worlds ``pynest walk`` and ``pynest scenario`` list. Every
builder takes a ``seed`` (where it has one) and uses only its own ``random.Random``.
Also here: the isolation invariant (:func:`isolation_violations`, from
:mod:`pynest.kvm.host`).
"""

from __future__ import annotations

from ..kvm.host import isolation_violations
from .classroom import Story, classroom_story
from .direct import direct_translate
from .guest import guest_world, walk_3d
from .hv_process import hv_process_world
from .l1 import CODE_EA, DATA_EA, World, add_l2, migrated_l1, one_l1, two_l2s
from .nested import copy_world, nested_world, run_program
from .nested_init import kvmhv_nested_init_errno
from .quadrants import quadrant_world
from .radix import RADIX_REFERENCE_IMAGE, MmuWorld, Page, radix_host, radix_reference
from .set_ptbl import set_ptbl_outcome
from .shadow import shadow_world, touch
from .text import parse_number
from .tlbie import TlbieLab, lab

__all__ = [
    "CODE_EA",
    "DATA_EA",
    "RADIX_REFERENCE_IMAGE",
    "SCENARIOS",
    "MmuWorld",
    "Page",
    "Story",
    "TlbieLab",
    "World",
    "add_l2",
    "classroom_story",
    "copy_world",
    "direct_translate",
    "guest_world",
    "hv_process_world",
    "isolation_violations",
    "kvmhv_nested_init_errno",
    "lab",
    "migrated_l1",
    "nested_world",
    "one_l1",
    "parse_number",
    "quadrant_world",
    "radix_host",
    "radix_reference",
    "run_program",
    "set_ptbl_outcome",
    "shadow_world",
    "touch",
    "two_l2s",
    "walk_3d",
]

SCENARIOS = {
    "radix-reference": (radix_reference, "MMU: the fact sheet's hand-checked worked examples"),
    "radix-host": (radix_host, "MMU: hypervisor processes and a guest, pages of every size"),
    "one-l1": (one_l1, "KVM: an L0 with one L1 that has registered its partition table"),
    "two-l2s": (two_l2s, "KVM: that L1 running two L2s with code and data mapped"),
    "migrated-l1": (migrated_l1, "KVM: the two-L2 L1 just after migration to a fresh L0"),
}
"""Every named world: name -> (builder, one-line description)."""
