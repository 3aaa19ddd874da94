"""Seeded, self-checking exercises (the OSTEP homework pattern).

>>> from pynest.exercises import generate
>>> ex = generate("translate", seed=3)
>>> print(ex.question)          # the same question for seed 3 on every run   # doctest: +SKIP
>>> ex.check("0x3000abc")       # (False, 'No, ...')                          # doctest: +SKIP
>>> print(ex.reveal())          # the answer and the walk trace               # doctest: +SKIP

``ex.widget()`` gives an answer form for a notebook (ipywidgets is imported only then).
Every kind of every notebook is in :data:`GENERATORS` (``pynest exercise`` lists them):

=========================  ============================================  ========
kind                       question                                      notebook
=========================  ============================================  ========
translate                  the real address of an EA, or its fault       01
decode-pte                 the fields of a PTE                           01
partition-table            where the MMU reads PATE[LPID]                02
quadrant, quadrant-ea,     which LPID/PID a quadrant uses; which EA;     03
quadrant-access            is the access allowed
walk2d                     memory reads of a 2-D walk                    04
set-ptbl, nested-cost      H_SET_PARTITION_TABLE's return code; the      05, 12
                           memory of the nested-guest table
lpids                      shadow LPID / max_nested_lpid / refcnt        06
enter-nested               trap number, LPCR/HFSCR after sanitising      07
enter-rc                   what r3 holds after an H_ENTER_NESTED         07
sanitise                   DAWRX0 / CIABR after sanitise_hv_regs         07
shadow                     shadow page size, reflection, host page       08
tlbie                      which TLB entries / shadow PTEs go            09
copy                       H_COPY_TOFROM_GUEST's return code             10
demo                       what happens at a step of the classroom demo  11
nested-init                the errno 4.20's kvmhv_nested_init returns    12
=========================  ============================================  ========

Where an answer depends on the kernel (rows of :mod:`pynest.kvm.versions`), the question
says which Linux L0 runs: ``enter-rc`` draws 4.20 or 5.0 (row ``nested-mmio``), or 4.20
or 5.14 for its TM case (row ``nested-tm-sanitise``); ``shadow`` reflection questions
draw 4.20 or 5.0 (row ``nested-rc``), ``copy`` runs a 5.0 L0 (row
``h-copy-tofrom-guest``; a 4.20 one answers H_FUNCTION through userspace).
Everything else is the merged 4.20 series.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import FieldError
from . import (
    demo,
    enter_nested,
    enter_request,
    hcalls,
    lpids,
    mmu,
    quadrants,
    review,
    shadow,
    tlbie,
    walk2d,
)
from .base import (
    Exercise,
    ExerciseWidget,
    FaultAnswer,
    LettersAnswer,
    NumberAnswer,
    Progress,
    parse_number,
    register,
)
from .demo import classroom_story, demo_step
from .enter_nested import copy_exercise, enter_nested_exercise
from .enter_request import enter_rc_exercise, sanitise_exercise
from .hcalls import nested_cost, set_ptbl
from .lpids import lpid_calls
from .mmu import decode_pte, partition_entry, translate_ea
from .quadrants import quadrant_access, quadrant_ea_exercise, quadrant_ids_exercise, quadrant_world
from .review import nested_init
from .shadow import shadow_fault
from .tlbie import tlbie_exercise
from .walk2d import walk2d_count


def _kind(name: str) -> str:
    return name.replace("_", "-")


GENERATORS: dict[str, Callable[[int], Exercise]] = {
    _kind(kind): gen
    for module in (
        mmu,
        quadrants,
        walk2d,
        hcalls,
        lpids,
        enter_nested,
        enter_request,
        shadow,
        tlbie,
        demo,
        review,
    )
    for kind, gen in module.GENERATORS.items()
}
"""Every exercise generator by kind (hyphenated; ``set_ptbl`` is accepted for ``set-ptbl``)."""

register(GENERATORS)  # the widgets' New question button finds the next seed's generator


def generate(kind: str, seed: int = 0) -> Exercise:
    """The exercise of ``kind`` for ``seed`` (kinds: see :data:`GENERATORS`)."""
    gen = GENERATORS.get(_kind(kind)) if isinstance(kind, str) else None
    if gen is None:
        raise FieldError(f"unknown exercise kind {kind!r}; choose from {', '.join(GENERATORS)}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise FieldError(f"seed must be an int, got {seed!r}")
    if not 0 <= seed < 1 << 64:
        raise FieldError(f"seed must be in 0..2**64-1, got {seed}")
    return gen(seed)


__all__ = [
    "GENERATORS",
    "Exercise",
    "ExerciseWidget",
    "FaultAnswer",
    "LettersAnswer",
    "NumberAnswer",
    "Progress",
    "classroom_story",
    "copy_exercise",
    "decode_pte",
    "demo_step",
    "enter_nested_exercise",
    "enter_rc_exercise",
    "generate",
    "lpid_calls",
    "nested_cost",
    "nested_init",
    "parse_number",
    "partition_entry",
    "quadrant_access",
    "quadrant_ea_exercise",
    "quadrant_ids_exercise",
    "quadrant_world",
    "sanitise_exercise",
    "set_ptbl",
    "shadow_fault",
    "tlbie_exercise",
    "translate_ea",
    "walk2d_count",
]
