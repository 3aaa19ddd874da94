"""The classroom demo's exercises (notebook 11): :func:`demo_step` is the exercise kind
``demo``, "what happens at step k" questions whose answers are read from the story the
model produced (:func:`pynest.scenarios.classroom.classroom_story`).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from ..kvm.nested import PRTB_MASK, PRTS_MASK
from ..scenarios.classroom import (
    EMPTY_PTCR,
    PTCR_STEP,
    classroom_story,
)
from .base import Exercise, NumberAnswer, ReturnCodeAnswer

__all__ = ["GENERATORS", "demo_step"]


def _rng(seed: int) -> random.Random:
    return random.Random(f"pynest-demo-{seed}")


def demo_step(seed: int = 0) -> Exercise:
    """ "What happens at step k" of the classroom story (exercise kind ``demo``).

    The question names a step and asks for something the picture of that step shows
    (a shadow LPID, a count of shadow PTEs, rows in use, an hcall's return code); the
    answer is read from the story the model produced for a seeded world.
    """
    rng = _rng(seed)
    world_seed = rng.randrange(0, 1000)
    case = rng.choice(("shadow-lpid", "shadow-ptes", "l0-rows", "nested", "ptcr-rc", "ptcr-rc"))
    if case == "ptcr-rc":
        story0 = classroom_story(world_seed)
        kind = rng.choice(("ok", "prts", "outside"))
        base = story0.default_ptcr & PRTB_MASK
        if kind == "ok":
            ptcr = base | rng.randrange(0, 5)
        elif kind == "prts":
            ptcr = base | rng.randrange(5, 32)
        else:
            ptcr = (rng.randrange(1, 64) << 28) | 2  # 256 MiB and up: beyond the L1
        story = classroom_story(world_seed, ptcr)
        snap = story[PTCR_STEP]
        rc = snap.facts["rc"]
        question = (
            f"Classroom story, world seed {world_seed}. At step {snap.number} the L1 calls "
            f"H_SET_PARTITION_TABLE({ptcr:#x}). Its memory is 256 MiB (L1 real 0 .. "
            "0x10000000). What does L0 return in r3?"
        )
        solution = (
            f"PRTS = ptcr & 0x1f = {ptcr & PRTS_MASK}: the limit is 4 (4096 rows). Base = "
            f"ptcr & 0x0fff_ffff_ffff_f000 = {ptcr & PRTB_MASK:#x}: its page must be in the "
            "L1's memslot (kvm_is_visible_gfn). kvmhv_set_partition_table checks both, in "
            f"that order.\nModel: {snap.hcalls[0] if snap.hcalls else ''}\n{snap.sentence}"
        )
        hint = "two checks: the size field (at most 4) and where the base is."
        return Exercise("demo", seed, question, ReturnCodeAnswer(rc), solution, hint)

    story = classroom_story(world_seed)
    if case == "shadow-lpid":
        key = rng.choice(("run-l2-a", "run-l2-b"))
        snap = story.step(key)
        l2 = snap.facts["l2"]
        value = snap.facts["shadow_lpid"]
        question = (
            f"Classroom story, world seed {world_seed}, step {snap.number} ({snap.title}). "
            f"Which hardware (shadow) LPID does L0 run L2 {l2} with?"
        )
        mistakes = {
            l2: "that is the L1's number for the L2 (l1_lpid), not the LPID L0 gives the hardware.",
            1: "LPID 1 is the L1 itself.",
        }
        mistakes.pop(value, None)
        answer = NumberAnswer(value, "shadow LPID", mistakes, "this asks for an LPID")
        solution = (
            "kvmppc_alloc_lpid takes the lowest free hardware LPID: 0 is the host, "
            f"{story[1].facts['l1_lpid']} the L1"
            + (", the next went to the first L2" if key == "run-l2-b" else "")
            + f"; so L2 {l2} gets {value}.\n{snap.sentence}"
        )
        return Exercise("demo", seed, question, answer, solution)
    if case == "shadow-ptes":
        k = rng.choice(
            [
                s.index
                for s in story.steps
                if s.key in ("run-l2-a", "run-l2-b", "fault", "invalidate", "set-ptcr", "flush-all")
            ]
        )
        snap = story[k]
        l2 = rng.choice([g.l1_lpid for g in story.step("create-l2s").l2s])
        n = snap.nested_for(l2)
        value = n.shadow_ptes if n is not None else 0
        question = (
            f"Classroom story, world seed {world_seed}. After step {snap.number} "
            f"({snap.title}), how many shadow PTEs does L0 hold for L2 {l2}?"
        )
        prev = story[k - 1].nested_for(l2)
        mistakes = {}
        if prev is not None and prev.shadow_ptes != value:
            mistakes[prev.shadow_ptes] = "that is the count before this step."
        answer = NumberAnswer(value, "number of shadow PTEs", mistakes, "this asks for a count")
        solution = snap.text()
        return Exercise("demo", seed, question, answer, solution)
    if case == "l0-rows":
        snap = story[rng.randrange(len(story))]
        value = len(snap.l0_rows)
        question = (
            f"Classroom story, world seed {world_seed}. After step {snap.number} "
            f"({snap.title}), how many rows of L0's real partition table are in use "
            "(dw0 or dw1 non-zero)?"
        )
        answer = NumberAnswer(value, "number of rows", {}, "this asks for a count")
        solution = (
            "Rows: "
            + ", ".join(f"PATE[{r.lpid}] ({r.owner})" for r in snap.l0_rows)
            + f"\n{snap.sentence}"
        )
        return Exercise(
            "demo",
            seed,
            question,
            answer,
            solution,
            "count the host, the L1 and one shadow row per nested guest.",
        )
    variant = rng.choice((None, EMPTY_PTCR))
    story = classroom_story(world_seed, variant)
    snap = story[rng.randrange(PTCR_STEP - 5, len(story))]
    value = len(snap.nested)
    passed = (
        "a copy of its table at a new address"
        if variant is None
        else f"PTCR {EMPTY_PTCR:#x}, a table at L1 real {EMPTY_PTCR & PRTB_MASK:#x} that "
        "is all zeros"
    )
    question = (
        f"Classroom story, world seed {world_seed}; at step {PTCR_STEP + 1} the L1 registers "
        f"{passed}. After step {snap.number} ({snap.title}), how many nested guests "
        "(struct kvm_nested_guest) does L0 hold for the L1?"
    )
    answer = NumberAnswer(value, "number of nested guests", {}, "this asks for a count")
    solution = (
        "L0 creates a nested guest at an L2's first H_ENTER_NESTED and removes it on a RIC=2 "
        f"flush that finds the L2's row empty, or when the L1 VM goes.\n{snap.sentence}"
    )
    return Exercise("demo", seed, question, answer, solution)


GENERATORS: dict[str, Callable[[int], Exercise]] = {"demo": demo_step}
"""The classroom-demo exercise generators by kind."""
