"""Exercises of notebook 06: shadow LPIDs, ``max_nested_lpid`` and reference counts.

:func:`lpid_calls` gives a short, seeded sequence of L0 calls for one L1 --
``kvmhv_get_nested(kvm, lpid, create=true)`` (a vcpu's H_ENTER_NESTED taking its
reference), ``kvmhv_put_nested`` (giving it back), ``kvmhv_remove_nested`` (the RIC=2
flush after the L1 zeroed its entry) -- runs it through the model
(:mod:`pynest.kvm.nested`) and asks one of:

* which **shadow LPID** a guest gets (L0's bitmap hands out the lowest free hardware
  LPID; the host has 0, the L1 itself 1, ``LPID_RSVD`` 1023 is reserved, and a released
  guest's LPID is reused);
* what **max_nested_lpid** is afterwards (-1 when the array is empty; removing the
  highest guest walks it down to the next used slot);
* what a guest's **refcnt** is afterwards (the slot holds one reference, every get
  another).

The answer comes from the model's own state after the calls; ``reveal`` shows every
call with what it did.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import FieldError
from ..kvm import nested as N
from ..kvm.host import L0, LPID_RSVD
from .base import Exercise, NumberAnswer

__all__ = ["GENERATORS", "lpid_calls"]

_PTCR = 0x0100_0000 | 2  # a 1024-entry table at L1 real 16 MiB


def _rng(seed: int) -> random.Random:
    return random.Random(f"pynest-lpids-{seed}")


@dataclass
class _Run:
    """The calls made so far and the model they ran on."""

    vm: object
    lines: list[str] = field(default_factory=list)
    vars: dict[str, N.NestedGuest] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)
    ever_freed_lpids: list[int] = field(default_factory=list)
    order: list[int] = field(default_factory=list)  # shadow LPIDs in creation order
    lpids_used: set[int] = field(default_factory=set)  # L1 LPIDs ever got


def _fresh_vm():
    l0 = L0()
    vm = l0.create_l1(256 << 20)
    rc = N.set_partition_table(vm, _PTCR)
    if rc:  # pragma: no cover - a fixed, valid PTCR
        raise FieldError(f"H_SET_PARTITION_TABLE({_PTCR:#x}) failed with {rc}")
    return vm


def _get(run: _Run, lpid: int) -> str:
    vm = run.vm
    existed = vm.nested.find(lpid) is not None  # type: ignore[attr-defined]
    gp = N.get_nested(vm, lpid, True)  # type: ignore[arg-type]
    assert gp is not None
    name = f"gp{lpid}"
    if run.vars.get(name) is not gp:  # a new object under this name (the old one is freed)
        run.held[name] = 0
    run.vars[name] = gp
    run.lpids_used.add(lpid)
    run.held[name] += 1
    call = f"{name} = kvmhv_get_nested(kvm, {lpid}, create=true)"
    if existed:
        what = f"found it: refcnt {gp.refcnt}"
    else:
        run.order.append(gp.shadow_lpid)
        what = (
            f"new guest, shadow LPID {gp.shadow_lpid}, refcnt {gp.refcnt} (slot + caller), "
            f"max_nested_lpid {vm.nested.max_nested_lpid}"  # type: ignore[attr-defined]
        )
    run.lines.append(f"{call:<46} -> {what}")
    return name


def _put(run: _Run, name: str) -> None:
    gp = run.vars[name]
    N.put_nested(gp)
    run.held[name] -= 1
    what = f"refcnt {gp.refcnt}"
    if gp.freed:
        what += f": released, shadow LPID {gp.shadow_lpid} back in the bitmap"
        run.ever_freed_lpids.append(gp.shadow_lpid)
    run.lines.append(f"{f'kvmhv_put_nested({name})':<46} -> {what}")


def _remove(run: _Run, name: str) -> None:
    gp = run.vars[name]
    vm = run.vm
    was = vm.nested.find(gp.l1_lpid) is gp  # type: ignore[attr-defined]
    N.remove_nested(gp)
    what = (
        f"slot cleared, refcnt {gp.refcnt}, max_nested_lpid {vm.nested.max_nested_lpid}"  # type: ignore[attr-defined]
        if was
        else f"not in the slot any more: refcnt stays {gp.refcnt}"
    )
    if gp.freed:
        what += f"; released, shadow LPID {gp.shadow_lpid} back in the bitmap"
        run.ever_freed_lpids.append(gp.shadow_lpid)
    run.lines.append(f"{f'kvmhv_remove_nested({name})':<46} -> {what}")


def _sequence(rng: random.Random) -> tuple[_Run, list[int]]:
    """A random, valid sequence: no call on a freed guest, puts only of references held."""
    run = _Run(_fresh_vm())
    lpids = sorted(rng.sample(range(1, 13), 3))
    for lp in lpids[:2]:
        _get(run, lp)
    for _ in range(rng.randrange(3, 6)):
        live = [n for n, g in run.vars.items() if not g.freed]
        choices = ["get"]
        if any(run.held.get(n, 0) > 0 for n in live):
            choices += ["put", "put"]
        if any(run.vm.nested.find(run.vars[n].l1_lpid) is run.vars[n] for n in live):  # type: ignore[attr-defined]
            choices += ["remove", "remove"]
        op = rng.choice(choices)
        if op == "get":
            # not an lpid whose guest was removed but is still held: its name would then
            # stand for two objects at once
            ok = [
                lp
                for lp in lpids
                if (g := run.vars.get(f"gp{lp}")) is None or g.freed or run.vm.nested.find(lp) is g  # type: ignore[attr-defined]
            ]
            _get(run, rng.choice(ok or [lp for lp in range(13, 16)]))
        elif op == "put":
            _put(run, rng.choice([n for n in live if run.held.get(n, 0) > 0]))
        else:
            cands = [n for n in live if run.vm.nested.find(run.vars[n].l1_lpid) is run.vars[n]]  # type: ignore[attr-defined]
            _remove(run, rng.choice(cands))
    return run, lpids


_INTRO = (
    "L0 runs Linux 4.20 and one L1 (its own hardware LPID is 1; the host has 0, LPID_RSVD "
    "{rsvd} is "
    "reserved). The L1 registered a 1024-entry partition table; L0 keeps its nested guests "
    "in the 4.20 array nested_guests[] with max_nested_lpid. Vcpus of the L1 cause these "
    "calls, in this order (gpN is the guest of L1 LPID N; each get keeps its reference "
    "until the put):\n\n"
)


def lpid_calls(seed: int = 0) -> Exercise:
    """Shadow LPID / max_nested_lpid / refcnt after a seeded sequence of calls."""
    rng = _rng(seed)
    kind = ("shadow", "max", "refcnt")[seed % 3]
    run, lpids = _sequence(rng)
    vm = run.vm
    if kind == "shadow":
        # one more guest: which hardware LPID does it get?
        free_lp = next((lp for lp in range(1, 13) if vm.nested.find(lp) is None), 13)  # type: ignore[attr-defined]
        shown = list(run.lines)
        call = f"gp{free_lp} = kvmhv_get_nested(kvm, {free_lp}, create=true)"
        name = _get(run, free_lp)
        gp = run.vars[name]
        mistakes = {
            free_lp: "that is the L1's number for the L2; L0 gives it a hardware LPID of "
            "its own from the global bitmap."
        }
        never_reused = max(run.order[:-1], default=1) + 1
        if never_reused != gp.shadow_lpid:
            mistakes.setdefault(
                never_reused,
                "a released guest's shadow LPID goes back to the bitmap, and "
                "kvmppc_alloc_lpid takes the lowest free one.",
            )
        mistakes.pop(gp.shadow_lpid, None)
        answer = NumberAnswer(
            gp.shadow_lpid, "shadow LPID", mistakes, fault_hint="kvmhv_alloc_nested succeeds"
        )
        question = (
            _INTRO.format(rsvd=LPID_RSVD)
            + "\n".join("  " + line.split(" -> ")[0].rstrip() for line in shown)
            + f"\n  {call}\n\nWhich shadow (hardware) LPID does gp{free_lp} get?"
        )
        hint = "List the hardware LPIDs in use after each call; the lowest free one wins."
    elif kind == "max":
        value = vm.nested.max_nested_lpid  # type: ignore[attr-defined]
        highest = max(run.lpids_used, default=-1)
        mistakes = {}
        if highest != value:
            mistakes[highest] = (
                "that is the highest L1 LPID ever used; kvmhv_remove_nested walks "
                "max_nested_lpid down to the next used slot when the highest one empties."
            )
        answer = NumberAnswer(value, "max_nested_lpid", mistakes, signed=True)
        question = (
            _INTRO.format(rsvd=LPID_RSVD)
            + "\n".join("  " + line.split(" -> ")[0].rstrip() for line in run.lines)
            + "\n\nWhat is max_nested_lpid now (-1 if the array is empty)?"
        )
        hint = "A put never changes the array; a remove that empties the top slot does."
    else:
        live = [(n, g) for n, g in run.vars.items() if not g.freed]
        name, gp = live[rng.randrange(len(live))] if live else (None, None)
        if gp is None:  # everything was released: ask about a fresh guest instead
            name = _get(run, lpids[0])
            gp = run.vars[name]
        mistakes = {}
        if vm.nested.find(gp.l1_lpid) is gp and gp.refcnt >= 1:  # type: ignore[attr-defined]
            mistakes[gp.refcnt - 1] = "the slot in nested_guests[] holds a reference too."
        answer = NumberAnswer(
            gp.refcnt, "refcnt", mistakes, fault_hint="nothing faults here", kind="count"
        )
        question = (
            _INTRO.format(rsvd=LPID_RSVD)
            + "\n".join("  " + line.split(" -> ")[0].rstrip() for line in run.lines)
            + f"\n\nWhat is {name}->refcnt now?"
        )
        hint = (
            "one reference for the slot while the guest is in nested_guests[], one more per "
            "get, one fewer per put."
        )
    solution = "What each call did (from the model):\n" + "\n".join(
        "  " + line for line in run.lines
    )
    solution += (
        f"\n\nAfterwards: max_nested_lpid = {vm.nested.max_nested_lpid}; "  # type: ignore[attr-defined]
        f"hardware LPIDs in use: {sorted(vm.l0.lpids.inuse)}"  # type: ignore[attr-defined]
    )
    return Exercise("lpids", seed, question, answer, solution, hint)


GENERATORS: dict[str, Callable[[int], Exercise]] = {"lpids": lpid_calls}
