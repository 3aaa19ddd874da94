"""The tlbie exercise (notebook 09, kind ``tlbie``: :data:`GENERATORS`): "which entries
does this invalidation remove?", answered with entry labels (``T1 S3``), ``none`` or the
H_* code, in the lab of :mod:`pynest.scenarios.tlbie`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..mmu import constants as C
from ..scenarios.tlbie import (
    AP_NAMES,
    IS_NAMES,
    TlbieLab,
    TlbieOp,
    TlbieOutcome,
    lab,
    labels,
    tlbie_removed,
)
from .base import Exercise

__all__ = ["GENERATORS", "RemovedAnswer", "tlbie_exercise"]


# ----------------------------------------------------------------------------- answers
_LABEL_RE = re.compile(r"\b([ts])\s*(\d+)\b")


def _sort_labels(items: frozenset[str] | set[str]) -> list[str]:
    return sorted(items, key=lambda s: (s[0] != "T", int(s[1:])))


@dataclass(frozen=True)
class RemovedAnswer:
    """A set of entry labels (``T2 S5``), ``none``, or an H_* code when L0 refuses."""

    removed: frozenset[str]
    rc: str = "H_SUCCESS"
    known: frozenset[str] = frozenset()

    def _form(self) -> str:
        # The example uses labels that are in no list, so it cannot overlap the answer.
        t = next(f"T{n}" for n in range(1, 99) if f"T{n}" not in self.known)
        s = next(f"S{n}" for n in range(1, 99) if f"S{n}" not in self.known)
        return (
            f"the labels of the entries that go, like '{t} {s}' (the form only: these two "
            "are in no list), the question's word for an empty set, or the H_* code L0 "
            "refuses with"
        )

    def check(self, given: object) -> tuple[bool, str]:
        if not isinstance(given, str) or not given.strip():
            return False, f"Answer with {self._form()}."
        text = given.strip().lower()
        if "h_" in text:
            code = re.search(r"h_[a-z_0-9]+", text)
            name = code.group(0).upper() if code else ""
            if self.rc != "H_SUCCESS":
                if name == self.rc:
                    return True, f"Correct: L0 answers {self.rc} and removes nothing."
                return False, f"No: L0 does refuse this one, but not with {name or 'that'}."
            if name == "H_SUCCESS" and not self.removed:
                return True, "Correct: H_SUCCESS, and nothing is removed."
            return False, "No: L0 accepts this invalidation; which entries does it remove?"
        if text in ("none", "nothing", "-", "{}"):
            got: set[str] = set()
        else:
            got = {f"{a.upper()}{int(b)}" for a, b in _LABEL_RE.findall(text)}
            rest = _LABEL_RE.sub("", text)
            if not got or re.sub(r"[\s,;and&+]", "", rest):
                return False, f"Not understood: answer with {self._form()}."
        unknown = got - self.known if self.known else set()
        if unknown:
            return False, f"There is no {', '.join(_sort_labels(unknown))} in the lists."
        if self.rc != "H_SUCCESS":
            return False, "No: L0 refuses this operand combination; which return code?"
        if got == set(self.removed):
            return True, f"Correct: {self}."
        parts = []
        if set(self.removed) - got:
            parts.append("it also removes more than that")
        if got - set(self.removed):
            parts.append(f"{', '.join(_sort_labels(got - set(self.removed)))} stay")
        return False, "No: " + "; ".join(parts) + "."

    @property
    def form(self) -> str:
        return "the labels of the entries that go (T<n> S<n>), none, or an H_* code"

    def __str__(self) -> str:
        if self.rc != "H_SUCCESS":
            return f"{self.rc}: nothing removed"
        return " ".join(_sort_labels(self.removed)) or "none"


# ----------------------------------------------------------------------------- exercises
def _cases(lb: TlbieLab, rng: random.Random) -> TlbieOp:
    (l1a, sha, pida), (l1b, _shb, _pidb) = rng.sample(lb.l2s, 2)
    mine = [s for s in lb.shadow if s.l1_lpid == l1a]
    s = rng.choice(mine)
    case = rng.choice(
        ("page", "page", "page2m", "lpid", "all", "pwc", "prs", "is1", "absent", "hw-pid", "hw-gra")
    )
    if case == "page":
        return TlbieOp("L1", 0, 0, 1, 0, 5, l1a, 0, s.gpa + rng.randrange(0, s.size, C.PAGE_4K))
    if case == "page2m":
        return TlbieOp("L1", 0, 0, 1, 0, 1, l1a, 0, s.gpa)
    if case == "lpid":
        return TlbieOp("L1", rng.choice((0, 2)), 0, 1, 2, 0, l1b, 0, 0)
    if case == "all":
        return TlbieOp("L1", 0, 0, 1, 3, 0, 0, 0, 0)
    if case == "pwc":
        return TlbieOp("L1", 1, 0, 1, 2, 0, l1a, 0, 0)
    if case == "prs":
        return TlbieOp("L1", 0, 1, 1, 2, 0, l1a, pida, 0)
    if case == "is1":
        return TlbieOp("L1", 0, 0, 1, 1, 0, l1a, pida, 0)
    if case == "absent":
        return TlbieOp("L1", 0, 0, 1, 2, 0, 7 + rng.randrange(8), 0, 0)
    if case == "hw-pid":
        return TlbieOp("L0", 0, 1, 1, 1, 0, sha, pida, 0)
    return TlbieOp("L0", 0, 0, 1, 0, 5, sha, 0, s.gpa)


def _listing(outcome: TlbieOutcome) -> str:
    lines = [f"  {k:>3}  {v}" for k, v in labels(outcome).items()]
    return "\n".join(lines)


def tlbie_exercise(seed: int = 0) -> Exercise:
    """ "Which entries does this invalidation remove?" on a seeded world."""
    rng = random.Random(f"pynest-tlbie-{seed}")
    lb = lab(rng.randrange(3))
    op = _cases(lb, rng)
    out = lb.issue(op)
    who = (
        "The L1 hypervisor makes the hcall H_TLB_INVALIDATE(r4 = instr, r5 = RS, r6 = RB) to L0."
        if op.who == "L1"
        else "L0 itself executes tlbie (hypervisor state) on its own TLB."
    )
    pairs = ", ".join(f"L2 {a} runs as shadow LPID {b} (PID {c})" for a, b, c in lb.l2s)
    question = (
        f"An L1 runs two L2s under L0: {pairs}. After both ran, L0 has these TLB entries "
        f"(T) and shadow PTEs (S):\n{_listing(out)}\n{who}\n  {op}\n"
        "Which of the entries does it remove? Answer with labels ('T<n> S<n>'), 'none', or the "
        "H_* code if L0 refuses the operands."
    )
    removed = tlbie_removed(out)
    answer = RemovedAnswer(removed, out.rc_name or "H_SUCCESS", frozenset(labels(out)))
    why = _explain(op)
    solution = f"{why}\nModel: {out.summary()}\nRemoved: {answer}"
    hint = "decode IS first (how wide), then PRS (which scope), then RIC (which caches)."
    return Exercise("tlbie", seed, question, answer, solution, hint)


def _explain(op: TlbieOp) -> str:
    if op.who == "L0":
        scope = "process-scoped" if op.prs else "partition-scoped"
        return (
            f"A hardware tlbie only touches the TLB and walk caches, never page tables: the "
            f"shadow PTEs stay. IS={op.is_} ({IS_NAMES[op.is_]}), PRS={op.prs} ({scope}). "
            + (
                "A partition-scoped one-page tlbie also removes the combined (2-D) entries "
                "made through that guest real page."
                if not op.prs and op.is_ == 0
                else "It removes the cached translations of that LPID and PID."
            )
        )
    if not op.r or op.prs or op.ric == 3 or op.is_ == 1 or (op.is_ == 0 and op.ric in (1, 2)):
        return (
            "kvmhv_emulate_priv_tlbie refuses R=0, PRS=1, RIC=3, IS=1, and IS=0 with RIC 1 "
            "or 2 with -EINVAL, which kvmhv_do_nested_tlbie returns as H_PARAMETER."
        )
    if op.is_ == 0:
        return (
            f"IS=0: kvmhv_emulate_tlbie_tlb_addr removes every shadow PTE of L2 {op.lpid} in "
            f"the {AP_NAMES.get(op.ap, '?')} page at {op.epn & ~0xFFF:#x} (aligned down), and "
            "each removal does a partition-scoped tlbie of the shadow LPID for that page, "
            "which takes the combined TLB entries made through it."
        )
    if op.ric == 1:
        return "RIC=1 (page-walk cache): L0 caches no walk of the L1's tree; nothing to do."
    where = f"L2 {op.lpid}" if op.is_ == 2 else "every L2 of this L1"
    text = (
        f"IS={op.is_}: kvmhv_emulate_tlbie_lpid for {where}: the whole shadow tree goes "
        "(kvmppc_free_pgtable_radix) and L0 flushes the shadow LPID with kvmhv_flush_lpid "
        "(on a 4.20 bare-metal L0 one partition-scoped tlbie RIC=2 IS=2, which also takes "
        "the combined entries made through that LPID's partition-scoped translations)"
    )
    if op.ric == 2:
        text += (
            "; with RIC=2 this is kvmhv_flush_nested, which then re-reads the L2's row of the "
            "L1's table and removes the nested guest if the row is now empty"
        )
    return text + "; an lpid with no nested guest is a no-op."


GENERATORS: dict[str, Callable[[int], Exercise]] = {"tlbie": tlbie_exercise}
"""The exercise generators of this module, by kind."""
