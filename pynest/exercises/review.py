"""Exercises for notebook 12 (reviewing patch 18).

* :func:`nested_init` -- "what does kvmhv_nested_init return": an L1's (or L0's) KVM
  starts in a seeded situation (bare metal; a pseries L1 whose L0 has nesting on or
  off; an L1 with the hash MMU; the kmalloc of the table failing). The answer is the
  errno of the merged 4.20 function (review point 4: an errno, not v2's bool),
  computed by :func:`kvmhv_nested_init_errno` (the 4.20 function's rule) from the
  H_SET_PARTITION_TABLE code the model's L0 really returns
  (:meth:`pynest.kvm.l1.L1.nested_init`) where there is an hcall.

Also here: :class:`ErrnoAnswer`, an answer that accepts an errno as a name
(``-ENODEV``, ``ENODEV``) or a number (``-19``, ``0``). The errno rule itself is
:mod:`pynest.scenarios.nested_init`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import FieldError
from ..kvm.hcalls import H_SUCCESS, RETURN_CODES, rc_name
from ..kvm.host import L0
from ..kvm.l1 import L1
from ..scenarios.nested_init import (
    ENODEV,
    ENOMEM,
    ERRNOS,
    errno_name,
    kvmhv_nested_init_errno,
    v2_nested_init_bool,
)
from .base import Exercise, other_examples

_MB = 1 << 20


_RC_NAMES = {name for name in RETURN_CODES.values()}
_ERRNO_EXAMPLES = ("-EINVAL", "-14", "-EFAULT", "-22", "-EIO")


@dataclass(frozen=True)
class ErrnoAnswer:
    """A Linux return value: 0 or a negative errno, as a name (``-ENODEV``; ``ENODEV``
    is taken as the negative value kernel functions return) or a number (``-19``).

    ``mistakes`` maps a likely wrong value to the hint that explains it; an hcall code
    (``H_FUNCTION``) or a bool (``false``) gets its own explanation."""

    value: int
    why: str = ""
    mistakes: dict[int, str] = field(default_factory=dict, compare=False)

    def parse(self, given: object) -> int | None:
        """The value ``given`` names, or None."""
        if isinstance(given, bool) or not isinstance(given, (int, str)):
            return None
        if isinstance(given, int):
            return given
        text = given.strip().upper().replace(" ", "")
        m = re.fullmatch(r"(-?)([A-Z]+)", text)
        if m and m.group(2) in ERRNOS:
            return -ERRNOS[m.group(2)]
        if re.fullmatch(r"-?[0-9]+", text):
            return int(text)
        return None

    def _examples(self) -> str:
        shown = other_examples(_ERRNO_EXAMPLES, lambda c: self.parse(c) == self.value)
        return f"{shown} (the form only, not this answer)"

    def check(self, given: object) -> tuple[bool, str]:
        text = given.strip().upper() if isinstance(given, str) else ""
        if text in ("TRUE", "FALSE"):
            return False, (
                "No: true/false is what v2's bool said. The merged function returns an "
                f"int: its success value or a negative errno, written like {self._examples()}."
            )
        if text in _RC_NAMES or "H_" + text in _RC_NAMES:
            return False, (
                f"No: {text} is an hcall return code (what L0 puts in r3). The function "
                f"answers its own caller with a Linux int, written like {self._examples()}."
            )
        got = self.parse(given)
        if got is None:
            return False, (
                f"Not understood: {given!r}. Answer with the function's return value, a "
                f"number or an errno name, written like {self._examples()}."
            )
        if got == self.value:
            return True, f"Correct: {self}."
        slip = self.mistakes.get(got)
        if slip:
            return False, f"No, not {errno_name(got)}: {slip}"
        return False, f"No, 4.20's kvmhv_nested_init does not return {errno_name(got)} here."

    @property
    def form(self) -> str:
        return "0 or a negative errno: its name (-E...) or its number"

    def __str__(self) -> str:
        text = errno_name(self.value)
        return f"{text}: {self.why}" if self.why else text


CASES = ("bare-metal", "nesting-on", "nesting-off", "hash", "nomem")


def _rng(kind: str, seed: int) -> random.Random:
    return random.Random(f"pynest-{kind}-{seed}")


def nested_init_case(case: str, seed: int = 0) -> Exercise:
    """The :func:`nested_init` exercise of one case (see :data:`CASES`)."""
    if case not in CASES:
        raise FieldError(f"unknown case {case!r}; choose from {', '.join(CASES)}")
    rng = _rng(f"nested_init-{case}", seed)
    mem = rng.choice((128, 256, 512, 1024)) * _MB
    vcpus = rng.choice((1, 2, 4, 8))
    l0_name = rng.choice(("QEMU/KVM on a POWER9 host", "a POWER9 host running Linux 4.20"))
    on_pseries, radix, table, rc = True, True, True, None
    if case == "bare-metal":
        situation = (
            f"Linux 4.20 boots on a bare-metal POWER9 server with {vcpus * 4} cores and "
            "loads kvm_hv: this kernel is the hypervisor (L0)."
        )
        on_pseries = False
    else:
        nesting = case != "nesting-off"
        situation = (
            f"A Linux 4.20 guest (an L1, {mem // _MB} MiB, {vcpus} vcpu{'s' * (vcpus > 1)}) "
            "runs on "
            f"{l0_name}, with nesting {'enabled' if nesting else 'NOT enabled'} for it "
            "(KVM_CAP_PPC_NESTED_HV, QEMU cap-nested-hv). It loads kvm_hv."
        )
        if case == "hash":
            situation += " The guest booted with disable_radix: it uses the hash MMU."
            radix = False
        elif case == "nomem":
            situation += " The kmalloc of its nested partition table fails."
            table = False
        else:
            rc = L1(L0().create_l1(mem, nesting=nesting, nr_vcpus=vcpus)).nested_init()
    value = kvmhv_nested_init_errno(on_pseries, radix, table, H_SUCCESS if rc is None else rc)
    steps = [f"on pseries? {'yes' if on_pseries else 'no: return 0 at once (no table, no hcall)'}"]
    if on_pseries:
        steps.append(f"radix MMU? {'yes' if radix else 'no: return -ENODEV'}")
    if on_pseries and radix:
        steps.append(
            "kmalloc of the table (16 KiB, 1024 entries)? "
            + ("yes" if table else "no: return -ENOMEM")
        )
    if rc is not None:
        steps.append(
            f"H_SET_PARTITION_TABLE: the model's L0 returns {rc_name(rc)}"
            + (": return 0" if value == 0 else ": free the table, return -ENODEV")
        )
    why = {
        0: "nothing to do on bare metal" if not on_pseries else "the table is registered",
        -ENODEV: "no nesting for this L1" if radix else "nesting needs the radix MMU",
        -ENOMEM: "no memory for the partition table",
    }[value]
    mistakes = {
        0: "the function returns 0 only on bare metal or once the table is registered.",
        -ENODEV: "-ENODEV is for a missing radix MMU or a parent that refuses the hcall.",
        -ENOMEM: "-ENOMEM is for a failed kmalloc of the table.",
    }
    mistakes.pop(value)
    own = " (Take the function on its own.)" if case == "hash" else ""
    question = (
        f"{situation}\n"
        f"What does the merged (4.20) kvmhv_nested_init() return here?{own} "
        "Answer 0 or a negative errno, by name or number (written like -EINVAL or -22)."
    )
    solution = "kvmhv_nested_init (4.20, book3s_hv_nested.c), in order:\n" + "\n".join(
        f"* {s}" for s in steps
    )
    solution += (
        "\nA non-zero value is returned by kvmppc_book3s_init_hv as the module's load "
        "error; v2's bool would have said only true or false (review point 4)."
    )
    if case == "hash":
        solution += (
            "\n(In 4.20 the module never gets this far for a hash guest: "
            "kvmppc_book3s_init_hv's processor check refuses it first, also with -ENODEV.)"
        )
    hint = "walk the function's tests in order: pseries? radix? kmalloc? the hcall's code?"
    answer = ErrnoAnswer(value, why, mistakes)
    return Exercise("nested_init", seed, question, answer, solution, hint)


def nested_init(seed: int = 0) -> Exercise:
    """ "What does 4.20's kvmhv_nested_init return in this situation?" """
    case = _rng("nested_init", seed).choice(CASES)
    ex = nested_init_case(case, seed)
    return Exercise("nested_init", seed, ex.question, ex.answer, ex.solution, ex.hint)


GENERATORS: dict[str, Callable[[int], Exercise]] = {"nested_init": nested_init}

__all__ = [
    "CASES",
    "GENERATORS",
    "ErrnoAnswer",
    "errno_name",
    "kvmhv_nested_init_errno",
    "nested_init",
    "nested_init_case",
    "v2_nested_init_bool",
]
