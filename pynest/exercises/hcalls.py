"""Exercises for the nested hcalls of patch 18 (notebooks 05 and 12).

* :func:`set_ptbl` -- "what does H_SET_PARTITION_TABLE return": an L1 of a given
  memory size (nesting on or off) passes a PTCR value; the answer is the H_* code L0
  leaves in r3, computed by issuing the hcall on a fresh model L0
  (:func:`pynest.kvm.hcalls.do_hcall` -> :func:`pynest.kvm.nested.set_partition_table`).
* :func:`nested_cost` -- "how many bytes does the nested-guest table cost": the fixed
  4.20 array against the IDR of Linux 5.19 for a seeded set of L1 lpids
  (:func:`pynest.kvm.nested.idr_memory_cost`).

Each call is recorded by :func:`pynest.scenarios.set_ptbl.set_ptbl_outcome`.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from ..errors import FieldError
from ..kvm.host import L0
from ..kvm.nested_table import (
    XA_CHUNK_SHIFT,
    XA_NODE_BYTES,
    NestedArray,
    idr_memory_cost,
)
from ..scenarios.set_ptbl import MAX_PRTS, SetPtblOutcome, set_ptbl_outcome, size_text
from .base import Exercise, NumberAnswer, ReturnCodeAnswer

_MB = 1 << 20


# ----------------------------------------------------------------------- generators
def _rng(kind: str, seed: int) -> random.Random:
    return random.Random(f"pynest-{kind}-{seed}")


SET_PTBL_CASES = ("ok", "prts", "beyond", "straddle", "zero", "nesting-off", "unaligned")


def set_ptbl_case(case: str, seed: int = 0) -> Exercise:
    """The :func:`set_ptbl` exercise of one case (see :data:`SET_PTBL_CASES`)."""
    if case not in SET_PTBL_CASES:
        raise FieldError(f"unknown case {case!r}; choose from {', '.join(SET_PTBL_CASES)}")
    rng = _rng(f"set_ptbl-{case}", seed)
    mem = rng.choice((128, 256, 512, 1024)) * _MB
    page = 1 << 16
    frames = mem // page
    prts = rng.randrange(0, MAX_PRTS + 1)
    base = rng.randrange(256, frames - 16) * page
    nesting = True
    if case == "prts":
        prts = rng.randrange(MAX_PRTS + 1, 16)
    elif case == "beyond":
        base = mem + rng.randrange(0, 64) * page
    elif case == "straddle":
        prts = rng.randrange(2, MAX_PRTS + 1)
        base = mem - rng.choice((1, 2, 3)) * 0x1000
    elif case == "nesting-off":
        nesting = False
    elif case == "unaligned":
        prts = rng.randrange(1, MAX_PRTS + 1)
        base += 0x1000 * rng.randrange(1, 1 << prts, 2)
    ptcr = 0 if case == "zero" else base | prts
    l0 = L0()
    vm = l0.create_l1(mem, nesting=nesting)
    out = set_ptbl_outcome(vm, ptcr)
    why = "; ".join(out.reasons())
    question = (
        f"An L1 guest has {size_text(mem)} of guest real memory (one memslot from guest "
        f"real 0; L0's PAGE_SIZE is 64 KiB) and nesting is "
        f"{'enabled' if nesting else 'NOT enabled'} for it.\n"
        f"Its kernel calls H_SET_PARTITION_TABLE with r4 = {ptcr:#018x}.\n"
        "What does L0 return in r3? Answer with the name (H_SUCCESS, H_PARAMETER, ...) or "
        "the value (0, -4, ...)."
    )
    solution = (
        f"r4 = {ptcr:#018x}: base (ptcr & PRTB_MASK) = {out.base:#x}, PRTS (ptcr & 0x1f) = "
        f"{out.prts}.\n" + "\n".join(f"* {r}" for r in out.reasons()) + f"\n{out.summary()}"
    )
    hint = (
        "L0 checks two things only: PRTS <= 4 (at most 4096 entries), and that the page "
        "holding the base is L1 memory. First of all, is nesting on?"
    )
    return Exercise("set_ptbl", seed, question, ReturnCodeAnswer(out.rc, why), solution, hint)


def set_ptbl(seed: int = 0) -> Exercise:
    """ "What does H_SET_PARTITION_TABLE return for this PTCR and L1 memory size?" """
    case = _rng("set_ptbl", seed).choice(SET_PTBL_CASES)
    ex = set_ptbl_case(case, seed)
    return Exercise("set_ptbl", seed, ex.question, ex.answer, ex.solution, ex.hint)


def idr_nodes(lpids: list[int]) -> list[int]:
    """xarray nodes per level (leaves first) that :func:`idr_memory_cost` counts."""
    keys = sorted(set(lpids))
    if not keys or keys == [0]:
        return []
    height = max(1, -(-keys[-1].bit_length() // XA_CHUNK_SHIFT))
    return [len({k >> (XA_CHUNK_SHIFT * lv) for k in keys}) for lv in range(1, height + 1)]


def nested_cost(seed: int = 0) -> Exercise:
    """ "How many bytes does L0's nested-guest table cost for these lpids (IDR)?" """
    rng = _rng("nested_cost", seed)
    case = rng.choice(("dense", "spread", "one-high", "two-blocks"))
    n = rng.randrange(2, 7)
    if case == "dense":
        lpids = list(range(1, n + 1))
    elif case == "spread":
        lpids = sorted(rng.sample(range(1, 4096), n))
    elif case == "one-high":
        lpids = [*range(1, n), rng.randrange(64, 4096)]
    else:
        block = rng.randrange(1, 64) * 64
        lpids = [*range(1, n), *range(block, block + n)]
    cost = idr_memory_cost(lpids)
    nodes = idr_nodes(lpids)
    array = NestedArray().memory_cost()
    mistakes = {
        24
        + nodes[0] * XA_NODE_BYTES: "those are the leaf nodes only; count the node above them too.",
        sum(nodes) * XA_NODE_BYTES: "add the 24-byte struct idr itself.",
        array: "that is the fixed 4.20 array (1024 pointers + max_nested_lpid).",
    }
    mistakes.pop(cost, None)
    question = (
        f"An L1 runs nested guests with L1 lpids {lpids}.\n"
        "Linux 5.19 keeps them in an IDR (lpids up to 4095, as every kernel since 5.11 "
        "allows). Estimate its size as the model does: a 24-byte "
        "struct idr, plus one 576-byte xarray node for every 64-slot node the lpids need "
        "(a leaf node covers lpids 64*k .. 64*k+63; with lpids of 64 or more, one more "
        "level of nodes above the leaves, each covering 4096).\n"
        f"(The 4.20 array nested_guests[1024] costs {array} bytes whatever the lpids.)\n"
        "How many bytes does the IDR cost?"
    )
    levels = ", ".join(f"level {i + 1}: {k} node{'s' * (k != 1)}" for i, k in enumerate(nodes))
    leaves = sorted({lp >> XA_CHUNK_SHIFT for lp in lpids})
    solution = (
        f"Leaf nodes are lpid >> 6: {leaves} -> {nodes[0]} leaf node(s).\n"
        f"Levels: {levels}.\n"
        f"Cost = 24 + {sum(nodes)} * 576 = {cost} bytes "
        f"({'less' if cost < array else 'more'} than the array's {array})."
    )
    answer = NumberAnswer(cost, "number of bytes", mistakes, "a table size is a number")
    hint = "group the lpids by lpid >> 6 (one leaf node each); is any lpid 64 or more?"
    return Exercise("nested_cost", seed, question, answer, solution, hint)


GENERATORS: dict[str, Callable[[int], Exercise]] = {
    "set_ptbl": set_ptbl,
    "nested_cost": nested_cost,
}
"""The hcall exercise generators by kind."""


__all__ = [
    "GENERATORS",
    "SET_PTBL_CASES",
    "ReturnCodeAnswer",
    "SetPtblOutcome",
    "idr_nodes",
    "nested_cost",
    "set_ptbl",
    "set_ptbl_case",
    "set_ptbl_outcome",
    "size_text",
]
