"""Notebook 12 (reviewing patch 18): the review thread point by point, and what the
nested-guest table costs.

The thread is the seed message of this suite: Paul Mackerras's reply of Tue 2 Oct 2018
to David Gibson's review of *[PATCH v2 18/33] KVM: PPC: Book3S HV: Framework and hcall
stubs for nested virtualization* (David gave his Reviewed-by). Everything here
paraphrases it and cites it (:data:`THREAD`); nothing quotes its prose.

* :data:`REVIEW_POINTS` -- the nine points in the thread's order: where in v2, what
  David asked (``review``), what Paul answered (``reply``), what the merged code of
  Linux 4.20 does (``merged``, checked against 4.20.1 with function names) and the
  outcome (:data:`OUTCOMES`);
* :func:`run_point` -- the model run that shows a point, as merged or, where the model
  can take the change out, without it (:attr:`ReviewPoint.alternative`): a
  :class:`PointResult` (lines, verdict);
* :func:`kvmhv_nested_init_errno` / :func:`v2_nested_init_bool` -- what 4.20's
  ``kvmhv_nested_init`` returns, and what v2's bool said, for one start-up case;
* :func:`draw_review_thread` -- the thread as nine rows with their outcome (the chosen
  one framed) beside the chosen point: the v2 code, 4.20's answer and the model's run;
* :func:`lpid_pattern`, :func:`cost_record`, :func:`draw_table_costs` -- point 2 in
  depth: bytes of the fixed 4.20 array (``NestedArray.memory_cost``) against the IDR
  of 5.19 (:func:`pynest.kvm.nested.idr_memory_cost`) as the number and spread of
  nested guests grow; right, the 4096 possible lpids as a 64 x 64 grid, one row per
  64-slot leaf node.

Redrawing into the same figure (``fig=``) only updates it, so explorers stay cheap.
"""

from __future__ import annotations

import random
import textwrap
from collections import Counter
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from ..errors import ConfigError
from ..kvm import nested as N
from ..kvm.constants import KVM_MAX_NESTED_GUESTS
from ..kvm.hcalls import H_SET_PARTITION_TABLE, H_SUCCESS, rc_name
from ..kvm.host import L0
from ..kvm.l1 import L1
from ..kvm.nested_table import XA_CHUNK_SHIFT, XA_NODE_BYTES, NestedArray, idr_memory_cost
from ..kvm.races import Exploration, Interleaving, explore
from ..kvm.versions import row
from ..scenarios import two_l2s
from ..scenarios.nested_init import (
    ENODEV,
    ENOMEM,
    errno_name,
    kvmhv_nested_init_errno,
    v2_nested_init_bool,
)
from . import style as S

# ----------------------------------------------------------------------- the thread
THREAD = (
    "Paul Mackerras, 2 Oct 2018: reply to David Gibson's review of "
    "[PATCH v2 18/33] KVM: PPC: Book3S HV: Framework and hcall stubs for nested "
    "virtualization (linuxppc-dev)"
)
"""The message every point cites (the suite's seed document)."""

OUTCOMES = {
    "merged": ("merged 4.20", S.GREEN),
    "changed": ("changed 4.20", S.GREEN),
    "kept": ("kept: reason", S.SKY_BLUE),
    "no change": ("no change", S.SKY_BLUE),
    "later": ("later: 5.19", S.ORANGE),
}
"""Outcome of a point in the merged code: (the word on its tag, the tag's colour)."""

VARIANTS = ("merged", "alternative")


@dataclass(frozen=True)
class ReviewPoint:
    """One point of the thread, paraphrased (see the module docstring)."""

    number: int
    key: str
    title: str
    where: str
    review: str
    reply: str
    merged: str
    outcome: str
    alternative: str = ""  # what "without the change" runs; "" when the model cannot

    def __str__(self) -> str:
        return f"{self.number}. {self.title}"


REVIEW_POINTS: tuple[ReviewPoint, ...] = (
    ReviewPoint(
        1,
        "reviewed-by",
        "Reviewed-by; a v3 is coming",
        "the whole patch: v2 18/33, posted by Paul Mackerras on 28 Sep 2018",
        "David gives his Reviewed-by. His comments are small: worth taking if the "
        "series is respun anyway, or as later improvements, but no reason to hold the "
        "patch back.",
        "He will post a v3 in any case, because of other changes he has made.",
        "The series was merged for Linux 4.20. The merged commit 8e3f5fc1045d carries "
        "David's Reviewed-by; the 4.20.1 book3s_hv_nested.c is the code the nine points "
        "are checked against.",
        "merged",
    ),
    ReviewPoint(
        2,
        "nested-array",
        "nested_guests[] could be large",
        "struct kvm_arch (kvm_host.h): struct kvm_nested_guest "
        "*nested_guests[KVM_MAX_NESTED_GUESTS]",
        "The array may be big. A follow-up could allocate it dynamically: L1s that may "
        "not nest would not pay for it, and it could grow and shrink as the L1 creates "
        "and destroys its guests.",
        "Agreed.",
        "4.20 keeps the fixed array in every VM: KVM_MAX_NESTED_GUESTS = KVMPPC_NR_LPIDS "
        "= LPID_RSVD + 1 = 1024 pointers, 8 KiB (+ the int max_nested_lpid). By 5.11 "
        "LPID_RSVD is 0xfff, so the array has 4096 entries (32 KiB). 5.19 replaces it "
        "with an IDR, kvm_nested_guest_idr (patch 'KVM: PPC: Book3S HV Nested: Change "
        "nested guest lookup to use idr').",
        "later",
        "the IDR of 5.19",
    ),
    ReviewPoint(
        3,
        "init-comment",
        "the init comment is inaccurate",
        "the comment above kvmhv_nested_init (book3s_hv_nested.c), saying it runs only "
        "outside hypervisor mode",
        "Not quite right: the function is called on bare metal too, and returns at once.",
        "He will change the comment.",
        "4.20 has no comment above kvmhv_nested_init. kvmppc_book3s_init_hv "
        "(book3s_hv.c) calls it on bare metal and in a guest alike; its first test, "
        "!kvmhv_on_pseries(), returns 0 on bare metal.",
        "changed",
    ),
    ReviewPoint(
        4,
        "init-errno",
        "errno, not bool, from init",
        "bool kvmhv_nested_init(void)",
        "The function can fail in several ways, so it should return an errno instead of a bool.",
        "Agreed.",
        "long kvmhv_nested_init(void) returns 0 (bare metal, or the table is "
        "registered), -ENODEV (no radix MMU, or the parent hypervisor refused "
        "H_SET_PARTITION_TABLE) or -ENOMEM (no memory for the table); "
        "kvmppc_book3s_init_hv returns any non-zero value as the module's load error.",
        "changed",
        "v2's bool",
    ),
    ReviewPoint(
        5,
        "on-pseries",
        "the 'redundant' kvmhv_on_pseries()",
        "kvmhv_nested_exit: if (kvmhv_on_pseries() && pseries_partition_tb)",
        "The first test looks redundant: the table pointer can only be set on pseries.",
        "At run time it is, but the test is there for the compiler: in a "
        "CONFIG_PPC_PSERIES=n kernel kvmhv_on_pseries() is constant false, so the "
        "plpar_hcall_norets() call is dropped, and that kernel has no definition of "
        "it. The compiler cannot see from the pointer alone that it stays NULL.",
        "4.20 keeps both tests, with a comment in kvmhv_nested_exit giving this reason. "
        "kvmhv_on_pseries() is an #ifdef CONFIG_PPC_PSERIES pair in kvm_book3s_64.h; "
        "plpar_hcall_norets is declared in hvcall.h for every kernel but defined in "
        "platforms/pseries/hvCall.S, built only with CONFIG_PPC_PSERIES.",
        "kept",
        "the pointer test alone",
    ),
    ReviewPoint(
        6,
        "ptbl-flush",
        "the tlbie: a paravirt flush?",
        "kvmhv_set_ptbl_entry, pseries branch: store the entry, then a raw tlbie "
        "(RIC=2, for the LPID) that L0 was to emulate",
        "Was this version not meant to flush with a paravirt call instead of an emulated tlbie?",
        "Yes: the last patch of the series turns it into a paravirt flush; it could be "
        "brought in earlier.",
        "The pseries branch stores dw0/dw1 big-endian in pseries_partition_tb[lpid], "
        "then kvmhv_flush_lpid(lpid) makes H_TLB_INVALIDATE with H_TLBIE_P1_ENC(2, 0, 1), "
        "RS = lpid, RB = TLBIEL_INVAL_SET_LPID (IS=2). No released kernel stores "
        "without that flush.",
        "changed",
    ),
    ReviewPoint(
        7,
        "ptcr-check",
        "validate the PTCR",
        "kvmhv_set_partition_table (L0's H_SET_PARTITION_TABLE): l1_ptcr = r4, no test",
        "Not dangerous, since L1 addresses are checked when the table is read, but for "
        "debugging a guest the hcall should fail when the value makes no sense: a size "
        "out of bounds, or a base outside the L1's memory.",
        "Agreed.",
        "H_PARAMETER when PRTS > 4 (more than 4096 entries) or when the base's "
        "frame is not a visible memslot gfn of the L1 (kvm_is_visible_gfn, under srcu); "
        "only otherwise l1_ptcr = ptcr.",
        "changed",
        "v2's store of any r4",
    ),
    ReviewPoint(
        8,
        "remove-race",
        "the gp == nested_guests[lpid] test",
        "kvmhv_remove_nested: if (gp == kvm->arch.nested_guests[lpid]) under mmu_lock",
        "Is the test there because two removes can race? The function loads gp's kvm "
        "and lpid before it holds the lock.",
        "Basically yes: kvmhv_get_nested takes and drops the lock, and another CPU can "
        "run kvmhv_remove_nested in the meantime.",
        "4.20 keeps the test in kvmhv_remove_nested: only the caller that still finds "
        "its gp in the slot clears it and drops the slot's reference.",
        "kept",
        "no == gp test",
    ),
    ReviewPoint(
        9,
        "create-race",
        "'beat us to it': print a message?",
        "kvmhv_get_nested: the second look under mmu_lock that finds the slot taken",
        "Should L0 log something? It costs the host nothing, but it seems to mean the "
        "guest is starting two nested guests with one lpid at the same time, which "
        "looks dubious.",
        "No: it can simply be two vcpus of the same guest starting together, as when "
        "the L1 has just been migrated in and all its vcpus start at once.",
        "4.20 logs nothing: the loser's new struct is released (kvmhv_release_nested) "
        "and both vcpus use the installed guest.",
        "no change",
        "no second look",
    ),
)
"""The nine points of the thread, in its order."""

_BY_KEY = {p.key: p for p in REVIEW_POINTS}


def point(which: object) -> ReviewPoint:
    """The point numbered ``which`` (1..9) or with key ``which``; a ConfigError
    lists them otherwise."""
    if isinstance(which, int) and not isinstance(which, bool) and 1 <= which <= 9:
        return REVIEW_POINTS[which - 1]
    if isinstance(which, str) and which in _BY_KEY:
        return _BY_KEY[which]
    keys = ", ".join(p.key for p in REVIEW_POINTS)
    raise ConfigError(f"no review point {which!r}: give 1..9 or one of {keys}")


# ----------------------------------------------------------------------- kvmhv_nested_init
@dataclass(frozen=True)
class InitCase:
    """One way the L1's KVM can start: what its parent says and what init returns."""

    key: str
    text: str
    parent: str  # the H_SET_PARTITION_TABLE answer, or why there is no hcall
    errno: int  # 4.20's return value
    v2: bool  # v2's bool
    modelled: bool  # run on the model (else derived from the 4.20 source)


@cache
def nested_init_cases() -> tuple[InitCase, ...]:
    """The start-up cases of an L1's KVM (bare metal too), the hcall ones run on the
    model (:meth:`pynest.kvm.l1.L1.nested_init` against a 4.20 L0)."""
    out = [InitCase("bare-metal", "bare metal (this kernel is L0)", "no hcall", 0, True, True)]
    for nesting in (True, False):
        rc = L1(L0().create_l1(256 << 20, nesting=nesting)).nested_init()
        out.append(
            InitCase(
                "nesting-on" if nesting else "nesting-off",
                f"pseries L1, nesting {'on' if nesting else 'off'} in L0",
                rc_name(rc),
                kvmhv_nested_init_errno(True, rc=rc),
                v2_nested_init_bool(True, rc=rc),
                True,
            )
        )
    out.append(InitCase("hash", "pseries L1 with the hash MMU", "no hcall", -ENODEV, False, False))
    out.append(
        InitCase(
            "nomem", "pseries L1, kmalloc of the table fails", "no hcall", -ENOMEM, False, False
        )
    )
    return tuple(out)


# ----------------------------------------------------------------------- runs
@dataclass(frozen=True)
class PointResult:
    """What the model shows for one point: ``lines`` of text, a one-line ``verdict``,
    and ``ok`` (the concern of the point is handled in the variant run)."""

    point: ReviewPoint
    variant: str
    lines: tuple[str, ...]
    ok: bool
    verdict: str

    @property
    def label(self) -> str:
        if self.variant == "merged":
            return "4.20 as merged"
        return f"instead, {self.point.alternative}"

    def text(self) -> str:
        return "\n".join([f"{self.point} -- {self.label}: {self.verdict}", *self.lines])


def _ev(ev: object) -> str:
    """An event without its sequence number, runs of spaces squeezed."""
    return " ".join(str(ev).split()[1:])


def _outcome_tally() -> str:
    """``changed in 4.20: 3, 4, 6, 7; ...`` for points 2-9, in :data:`OUTCOMES` order."""
    words = {"changed": "changed in 4.20", "kept": "kept, for a reason", "later": "later"}
    words["no change"] = "no change needed"
    parts = []
    for key, word in words.items():
        nums = [str(q.number) for q in REVIEW_POINTS[1:] if q.outcome == key]
        if nums:
            parts.append(f"{word}: {', '.join(nums)}")
    return "; ".join(parts)


def _reviewed_by(_variant: str) -> tuple[list[str], bool, str]:
    w = two_l2s(0, run=True)
    calls = Counter(e.hcall for e in w.l0.events if e.kind == "hcall")
    guests = ", ".join(
        f"lpid {lp} -> shadow LPID {gp.shadow_lpid}" for lp, gp in w.vm.nested.items()
    )
    broken = N.lifecycle_violations(w.l0)
    lines = [
        "the merged framework, run: two_l2s(0) -- a 4.20 L0, one L1, two L2s run once",
        "hcalls L0 served: " + ", ".join(f"{k} x{n}" for k, n in sorted(calls.items())),
        f"L0's nested guests for the L1: {guests}",
        f"nested-guest lifecycle invariants: {'all hold' if not broken else broken[0]}",
        f"points 2-9: {_outcome_tally()}",
    ]
    return lines, not broken, "merged for 4.20 with the Reviewed-by"


def _nested_array(variant: str) -> tuple[list[str], bool, str]:
    kind = "array" if variant == "merged" else "dynamic"
    w = two_l2s(0, run=True, nested_table=kind)
    for _ in range(2):
        w.l0.create_l1(256 << 20, nesting=False)
    table = "nested_guests[1024] (4.20)" if kind == "array" else "an IDR (5.19)"
    lines = [f"one L0 keeps each VM's nested guests in {table}:"]
    total = 0
    for lpid, vm in w.l0.guests.items():
        cost = vm.nested.memory_cost()
        total += cost
        what = f"{len(vm.nested)} nested guests" if vm.nesting_enabled else "nesting off"
        lines.append(f"  VM LPID {lpid} ({what}): {cost:,} bytes")
    lines.append(f"  total {total:,} bytes")
    array4k = NestedArray(4096).memory_cost()
    if kind == "array":
        lines.append(
            f"the same array with 4096 entries (LPID_RSVD 0xfff, by 5.11): {array4k:,} bytes"
        )
        return lines, False, f"every VM pays {NestedArray().memory_cost():,} bytes, nesting or not"
    lines.append("the IDR grows with the 64-slot nodes the lpids need (idr_memory_cost)")
    return lines, True, "a VM without nested guests pays 24 bytes"


def _init_comment(_variant: str) -> tuple[list[str], bool, str]:
    l0 = L0()
    mark = l0.events.mark()
    rc = l0.nested_init()
    n = len(l0.events.since(mark))
    lines = [
        f"bare metal: L0.nested_init() -> {rc}; {n} events: no table, no hcall "
        "(kvmhv_on_pseries() is false)",
    ]
    l1 = L1(l0.create_l1(256 << 20))
    mark = l0.events.mark()
    rc = l1.nested_init()
    lines.append(
        f"pseries: L1.nested_init() takes a {l1.ptb_bytes:,}-byte table "
        f"(PRTS {l1.ptcr & N.PRTS_MASK}) and calls L0:"
    )
    lines += [
        "  " + _ev(e)
        for e in l0.events.since(mark)
        if e.kind in ("hcall", "set-ptcr", "hcall-return")
    ]
    return lines, rc == H_SUCCESS, "called on bare metal too, where it returns 0 at once"


def _init_errno(variant: str) -> tuple[list[str], bool, str]:
    merged = variant == "merged"
    col = "4.20 returns" if merged else "v2 returned"
    lines = [f"{'case':38} {'parent says':13} {col}"]
    for c in nested_init_cases():
        value = errno_name(c.errno) if merged else str(c.v2).lower()
        mark = "" if c.modelled else "  (source)"
        lines.append(f"{c.text:38} {c.parent:13} {value}{mark}")
    lines.append("(source): from the 4.20 code; the model's L1s are radix and its allocations")
    lines.append("do not fail. A hash L1 stops earlier in 4.20: kvmppc_book3s_init_hv's")
    lines.append("processor check refuses it (-ENODEV) before kvmhv_nested_init runs.")
    if merged:
        return lines, True, "0, -ENODEV or -ENOMEM: the cause reaches the module loader"
    return lines, False, "three different failures, one answer: false"


def _on_pseries(variant: str) -> tuple[list[str], bool, str]:
    l0 = L0()
    vm = l0.create_l1(256 << 20)
    l1 = L1(vm)
    l1.nested_init()
    mark = l0.events.mark()
    rc = l1.nested_exit()
    calls = [e for e in l0.events.since(mark) if e.kind == "hcall"]
    lines = [
        "run time, the model:",
        "  bare metal: L0.nested_init() -> 0, no table: kvmhv_nested_exit has nothing to do",
        f"  pseries: L1.nested_exit(): {_ev(calls[0])} -> {rc_name(rc)}; "
        f"L0's l1_ptcr = {vm.l1_ptcr:#x}",
        "build time, from the 4.20 source (the model does not compile C):",
    ]
    if variant == "merged":
        lines += [
            "  CONFIG_PPC_PSERIES=y: kvmhv_on_pseries() = !cpu_has_feature(CPU_FTR_HVMODE);",
            "    the call stays and platforms/pseries/hvCall.S defines plpar_hcall_norets",
            "  CONFIG_PPC_PSERIES=n: kvmhv_on_pseries() is the stub returning false: the",
            "    branch and its call are dropped, so nothing needs the missing symbol",
        ]
        return lines, True, "links with CONFIG_PPC_PSERIES=n too"
    lines += [
        "  CONFIG_PPC_PSERIES=n, if (pseries_partition_tb) alone: the static pointer is",
        "    assigned in kvmhv_nested_init, so the compiler keeps the branch and the call;",
        "    pseries/ is not built: undefined reference to plpar_hcall_norets at link time",
        "  (a C replica of the two functions, gcc 12 -O2: links with both tests, not with",
        "    the pointer test alone)",
    ]
    return lines, False, "CONFIG_PPC_PSERIES=n does not link"


def _ptbl_flush(_variant: str) -> tuple[list[str], bool, str]:
    w = two_l2s(0, run=True)
    lpid = w.l2s[0].l1_lpid
    mark = w.l0.events.mark()
    rc = w.l1.set_ptbl_entry(lpid, 0, 0)
    evs = w.l0.events.since(mark)
    addr = (w.l1.ptcr & N.PRTB_MASK) + 16 * lpid
    keep = ("hcall", "shadow-flush", "ptbl-cache", "nested-remove", "nested-free")
    lines = [
        f"two_l2s(0) after a run; the L1 zeroes its entry: L1.set_ptbl_entry({lpid}, 0, 0)",
        f"  L1 stores PATE[{lpid}] = 0, 0 big-endian at its guest real {addr:#x}, then:",
    ]
    seen: set[str] = set()
    for e in evs:
        if e.kind in keep and e.kind not in seen:
            seen.add(e.kind)
            lines.append("  " + _ev(e))
            if e.kind == "hcall":
                lines.append(
                    "    (r4 = H_TLBIE_P1_ENC(2, 0, 1): RIC=2 PRS=0 R=1; r5 = RS = the lpid; "
                    "r6 = RB = TLBIEL_INVAL_SET_LPID, IS=2)"
                )
    left = [lp for lp, _ in w.vm.nested.items()]
    lines.append(f"  -> {rc_name(rc)}; L0's nested guests now: lpids {left}")
    r = row("set-ptbl-flush")
    lines.append(f"versions row {r.key}: since Linux {r.since}, patch '{r.patch}'")
    ok = any(e.kind == "hcall" and e.hcall == "H_TLB_INVALIDATE" for e in evs)
    return lines, ok, "store, then H_TLB_INVALIDATE RIC=2 IS=2 for the lpid"


HOSTILE_PTCR = 0x7FFF_0000_0000 | 31  # base at 128 TiB, PRTS 31


def _ptcr_check(variant: str) -> tuple[list[str], bool, str]:
    l0 = L0()
    vm = l0.create_l1(256 << 20)
    l1 = L1(vm)
    l1.nested_init()
    if variant == "merged":
        trials = (
            (l1.ptcr, "the L1's own table, PRTS 2"),
            ((l1.ptcr & ~N.PRTS_MASK) | 5, "PRTS 5: 8192 entries"),
            (0x2000_0000 | 2, "base 512 MiB: beyond the 256 MiB L1"),
            (HOSTILE_PTCR, "base 128 TiB, PRTS 31"),
        )
        lines = ["the L1 (256 MiB) calls H_SET_PARTITION_TABLE; L0 is 4.20:"]
        for ptcr, why in trials:
            rc = l1.hcall(H_SET_PARTITION_TABLE, ptcr)
            lines.append(f"  r4 = {ptcr:#x} ({why}) -> {rc_name(rc)}; l1_ptcr = {vm.l1_ptcr:#x}")
        return lines, True, "a PTCR that makes no sense gets H_PARAMETER"
    vm.l1_ptcr = HOSTILE_PTCR  # what v2's handler stored: l1_ptcr = r4
    lines = [
        f"v2 stored any r4: l1_ptcr = {HOSTILE_PTCR:#x} (PRTS 31, base 128 TiB) -> H_SUCCESS",
        "  lpids kvmhv_get_nested accepts: "
        + ", ".join(f"{lp}: {N.lpid_in_range(vm, lp)}" for lp in (1023, 1024, 5000))
        + " (the array bound still holds)",
    ]
    gp = N.get_nested(vm, 5, create=True)
    assert gp is not None
    N.update_ptbl_cache(gp)
    cache = l0.events.last("ptbl-cache")
    lines.append(f"  H_ENTER_NESTED for lpid 5 reads the entry: {_ev(cache)}")
    lines.append(
        "  no memslot there: the guest gets entry 0 -- not dangerous, as the review says, "
        "but the L1 was told H_SUCCESS for a table that is not there"
    )
    N.put_nested(gp)
    return lines, False, "accepted without a word; trouble shows up later"


def _trace(inter: Interleaving, limit: int = 11) -> list[str]:
    out = [f"  {s.index}. vcpu {s.vcpu} {s.function}: {s.text}" for s in inter.steps][:limit]
    out += [f"  VIOLATION {v}" for v in inter.violations][:2]
    return out


def _races(race: str, variant: str) -> tuple[list[str], bool, str]:
    merged = variant == "merged"
    if race == "remove":
        ex: Exploration = explore("remove", check_gp=merged)
        lines = [ex.summary()]
        if merged:
            both = next(i for i in ex.interleavings if any("no longer" in s.text for s in i.steps))
            lines.append(
                f"order #{both.number}: the second remove finds the slot empty and leaves refcnt:"
            )
            lines += _trace(both)
            return lines, True, "the test keeps a second remove from dropping a reference again"
        bad = ex.bad[0]
        lines.append(f"order #{bad.number}: both removes drop the slot's reference:")
        lines += _trace(bad, 9)
        return lines, False, f"{len(ex.bad)} of {ex.count} orders break an invariant"
    ex = explore("create", recheck=merged)
    lines = [ex.summary()]
    if merged:
        lost = [i for i in ex.interleavings if len(i.final.objects) == 2]
        lines.append(
            f"in {len(lost)} of {ex.count} orders both vcpus allocate; the loser takes the "
            "winner's guest and frees its own: nothing to report"
        )
        lines += _trace(lost[0], 10)
        return lines, True, "a lost race is normal and harmless: no message"
    bad = ex.bad[0]
    lines.append(f"order #{bad.number}: the second install overwrites the first guest:")
    lines += _trace(bad, 10)
    return lines, False, f"{len(ex.bad)} of {ex.count} orders break an invariant"


_RUNNERS = {
    "reviewed-by": _reviewed_by,
    "nested-array": _nested_array,
    "init-comment": _init_comment,
    "init-errno": _init_errno,
    "on-pseries": _on_pseries,
    "ptbl-flush": _ptbl_flush,
    "ptcr-check": _ptcr_check,
    "remove-race": lambda v: _races("remove", v),
    "create-race": lambda v: _races("create", v),
}


def run_point(which: object, variant: str = "merged") -> PointResult:
    """Run the model for point ``which`` (1..9 or a key of :data:`REVIEW_POINTS`),
    ``variant`` "merged" (Linux 4.20) or "alternative" (without the change, where
    :attr:`ReviewPoint.alternative` names one). Deterministic; cached."""
    p = point(which)
    if variant not in VARIANTS:
        raise ConfigError(f"variant must be 'merged' or 'alternative', got {variant!r}")
    if variant == "alternative" and not p.alternative:
        raise ConfigError(f"point {p.number} ({p.key}) has no alternative the model can run")
    return _run(p.key, variant)


@lru_cache(maxsize=32)
def _run(key: str, variant: str) -> PointResult:
    lines, ok, verdict = _RUNNERS[key](variant)
    return PointResult(_BY_KEY[key], variant, tuple(lines), ok, verdict)


# ----------------------------------------------------------------------- the thread figure
THREAD_W, THREAD_H = 14.0, 8.4
_ROW_H = 0.7
_MODEL_WRAP = 66  # characters of SMALL_SIZE mono in the 8-inch model box
_LINE_H = 0.235


def _model_lines(result: PointResult, room: int) -> list[str]:
    """The result's lines wrapped for the model box, at most ``room`` of them."""
    out: list[str] = []
    for line in result.lines:
        indent = " " * (len(line) - len(line.lstrip()) + 2)
        out += textwrap.wrap(line, _MODEL_WRAP, subsequent_indent=indent) or [""]
    if len(out) > room:
        out = [*out[: room - 1], "  ... (the whole run: PointResult.text())"]
    return out


def draw_review_thread(result: PointResult, *, fig: Figure | None = None) -> Figure:
    """Left, the nine points with their outcome tags (``result``'s point framed);
    right, that point: the v2 code, what the merged code does, and the model's run
    (green box: the point's concern is handled in this run; vermillion: it is not)."""
    fig, cv = S.reuse_canvas(fig, THREAD_W, THREAD_H)
    p = result.point
    S.label(
        cv,
        0.3,
        8.05,
        f"Patch 18 v2, the review thread: point {p.number} of 9",
        S.TITLE_SIZE,
        bold=True,
        ha="left",
    )
    S.label(
        cv,
        0.3,
        7.68,
        "David Gibson's review, answered by Paul Mackerras on 2 Oct 2018; "
        "checked against Linux 4.20.1",
        S.SMALL_SIZE,
        ha="left",
    )
    top = 7.25
    for q in REVIEW_POINTS:
        y = top - q.number * _ROW_H
        chosen = q is p
        face = S.tint(S.YELLOW, 0.35) if chosen else S.WHITE
        S.box(cv, 0.3, y, 5.3, _ROW_H - 0.08, face, lw=3.0 if chosen else 0.8)
        # the title on top, its outcome tag under it on the right: both fit at SMALL_SIZE
        S.label(
            cv,
            0.42,
            y + _ROW_H - 0.24,
            f"{q.number}. {q.title}",
            S.SMALL_SIZE,
            bold=chosen,
            ha="left",
        )
        word, colour = OUTCOMES[q.outcome]
        S.box(cv, 4.05, y + 0.05, 1.45, 0.3, S.tint(colour, 0.5), lw=0.8, rounded=False)
        S.label(cv, 4.775, y + 0.2, word, S.SMALL_SIZE)
    x = 5.95
    S.label(cv, x, 7.0, str(p), S.LABEL_SIZE, bold=True, ha="left")
    y = 6.6
    for head, text in (("v2:", p.where), ("merged:", p.merged)):
        S.label(cv, x, y, head, S.SMALL_SIZE, bold=True, ha="left")
        for line in S.wrap_words(text, 62)[:5]:
            S.label(cv, x + 1.05, y, line, S.SMALL_SIZE, ha="left")
            y -= 0.25
        y -= 0.1
    h = y - 0.2
    body = _model_lines(result, max(4, int((h - 0.9) / _LINE_H)))
    face = S.tint(S.OK, 0.18) if result.ok else S.tint(S.FAULT, 0.18)
    S.box(cv, x - 0.1, 0.15, 8.0, h, face, rounded=False, lw=1.0)
    S.label(
        cv,
        x,
        0.15 + h - 0.22,
        f"the model: {result.label}",
        S.SMALL_SIZE,
        bold=True,
        ha="left",
    )
    verdict = f"{'holds' if result.ok else 'broken'}: {result.verdict}"
    S.label(
        cv,
        x,
        0.15 + h - 0.5,
        verdict,
        S.SMALL_SIZE,
        bold=True,
        ha="left",
        colour=S.BLACK if result.ok else S.VERMILLION,
    )
    yy = 0.15 + h - 0.8
    for line in body:
        S.label(cv, x, yy, line, S.SMALL_SIZE, mono=True, ha="left")
        yy -= _LINE_H
    fig._pynest_review = {  # type: ignore[attr-defined]
        "point": p.number,
        "variant": result.variant,
        "ok": result.ok,
        "rows": len(REVIEW_POINTS),
        "model_lines": len(body),
    }
    return fig


# ----------------------------------------------------------------------- point 2: table costs
PATTERNS = ("dense", "spread", "random")
MAX_LPID = 4095  # a 4096-entry table (PRTS 4), the most H_SET_PARTITION_TABLE accepts
MAX_DENSE = KVM_MAX_NESTED_GUESTS - 1  # lpids 1..1023: lpid 0 is the L1 itself


def lpid_pattern(pattern: str, n: int, highest: int = MAX_LPID, seed: int = 0) -> list[int]:
    """``n`` distinct L1 lpids in ``1..highest``: ``dense`` = 1..n; ``spread`` = evenly
    spaced, the last one ``highest``; ``random`` = the first n of a seeded shuffle."""
    if pattern not in PATTERNS:
        raise ValueError(f"pattern must be one of {', '.join(PATTERNS)}, got {pattern!r}")
    if not 0 <= n <= highest or not 1 <= highest <= MAX_LPID:
        raise ValueError(
            f"{n} guests do not fit in lpids 1..{highest}: need 0 <= n <= highest <= {MAX_LPID}"
        )
    if pattern == "dense" or n == 0:
        return list(range(1, n + 1))
    if pattern == "spread":
        return sorted({1 + (highest - 1) * (i + 1) // n for i in range(n)} | {highest})[-n:]
    return sorted(_shuffled(highest, seed)[:n])


@lru_cache(maxsize=64)
def _shuffled(highest: int, seed: int) -> tuple[int, ...]:
    """1..highest in a seeded order: n random guests are its first n, so one more guest
    keeps the lpids of the others."""
    order = list(range(1, highest + 1))
    random.Random(f"pynest-lpids-{seed}").shuffle(order)
    return tuple(order)


@dataclass(frozen=True)
class CostRecord:
    """What the table of one L1 costs for ``lpids`` (bytes), and how the IDR cost grows."""

    pattern: str
    highest: int
    lpids: tuple[int, ...]
    array_bytes: int
    array_4096_bytes: int
    idr_bytes: int
    idr_levels: tuple[int, ...]
    beyond_array: tuple[int, ...]
    curve_n: tuple[int, ...]
    curve_idr: tuple[int, ...]

    @property
    def n(self) -> int:
        return len(self.lpids)

    def summary(self) -> str:
        nodes = " + ".join(str(k) for k in self.idr_levels) or "0"
        out = (
            f"{self.n} nested guests ({self.pattern}, highest lpid "
            f"{self.lpids[-1] if self.lpids else '-'}): fixed array {self.array_bytes} bytes; "
            f"IDR {self.idr_bytes} bytes (24 + ({nodes}) nodes x {XA_NODE_BYTES})"
        )
        if self.beyond_array:
            out += (
                f"; the 4.20 array cannot hold {len(self.beyond_array)} of these lpids "
                f"(>= {KVM_MAX_NESTED_GUESTS})"
            )
        return out


def _levels(lpids: list[int]) -> tuple[int, ...]:
    keys = sorted(set(lpids))
    if not keys or keys == [0]:
        return ()
    height = max(1, -(-keys[-1].bit_length() // XA_CHUNK_SHIFT))
    return tuple(len({k >> (XA_CHUNK_SHIFT * lv) for k in keys}) for lv in range(1, height + 1))


_CURVES: dict[tuple[str, int, int], tuple[tuple[int, ...], tuple[int, ...]]] = {}


def _curve(pattern: str, highest: int, seed: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The IDR cost for 0..top guests of ``pattern`` (cached: the explorer redraws often)."""
    key = (pattern, highest, seed)
    if key not in _CURVES:
        top = MAX_DENSE if pattern == "dense" else highest
        marks = {
            0,
            1,
            2,
            4,
            8,
            16,
            32,
            64,
            128,
            256,
            512,
            top,
            *range(0, top + 1, max(1, top // 20)),
        }
        ns = tuple(sorted(k for k in marks if k <= top))
        costs = []
        for k in ns:
            high = max(k, 1) if pattern == "dense" else highest
            costs.append(idr_memory_cost(lpid_pattern(pattern, k, high, seed)))
        _CURVES[key] = (ns, tuple(costs))
    return _CURVES[key]


def cost_record(pattern: str, n: int, highest: int = MAX_LPID, seed: int = 0) -> CostRecord:
    """The :class:`CostRecord` for ``n`` guests laid out by ``pattern`` (see
    :func:`lpid_pattern`; for ``dense`` the highest lpid is ``n``)."""
    if pattern == "dense":
        highest = max(n, 1)
    lpids = lpid_pattern(pattern, n, highest, seed)
    ns, costs = _curve(pattern, highest, seed)
    return CostRecord(
        pattern=pattern,
        highest=highest,
        lpids=tuple(lpids),
        array_bytes=NestedArray().memory_cost(),
        array_4096_bytes=NestedArray(MAX_LPID + 1).memory_cost(),
        idr_bytes=idr_memory_cost(lpids),
        idr_levels=_levels(lpids),
        beyond_array=tuple(lp for lp in lpids if lp >= KVM_MAX_NESTED_GUESTS),
        curve_n=ns,
        curve_idr=costs,
    )


# ----------------------------------------------------------------------- the figure
# grid cell values: 0 free, 1 node allocated (IDR row / array slot), 2 a guest, 3 no slot
_CMAP = ListedColormap([S.WHITE, S.tint(S.SKY_BLUE, 0.45), S.ORANGE, S.tint(S.GREY, 0.5)])


def _grid(rec: CostRecord, table: str) -> np.ndarray:
    grid = np.zeros((64, 64), dtype=float)
    if table == "array":
        grid[: KVM_MAX_NESTED_GUESTS // 64, :] = 1
        grid[KVM_MAX_NESTED_GUESTS // 64 :, :] = 3
    else:
        for row in {lp >> XA_CHUNK_SHIFT for lp in rec.lpids}:
            grid[row, :] = 1
    for lp in rec.lpids:
        grid[lp >> 6, lp & 63] = 2
    return grid


def draw_table_costs(
    rec: CostRecord, table: str = "dynamic", *, fig: Figure | None = None
) -> Figure:
    """Bytes against guests (left) and the lpid grid of ``table`` (right); see module."""
    if table not in ("array", "dynamic"):
        raise ValueError(f"table must be 'array' or 'dynamic', got {table!r}")
    art = getattr(fig, "_pynest_costs", None) if fig is not None else None
    if art is None:
        fig = S.new_figure(S.FIGURE_WIDTH, 6.6)
        ax, gx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.35, 1]})
        fig.subplots_adjust(left=0.08, right=0.97, bottom=0.12, top=0.76, wspace=0.25)
        ax.set_xlabel("nested guests of this L1", fontsize=S.LABEL_SIZE)
        ax.set_ylabel("bytes in L0 per VM", fontsize=S.LABEL_SIZE)
        ax.tick_params(labelsize=S.SMALL_SIZE)
        ax.grid(True, color=S.LIGHT_GREY)
        art = {
            "ax": ax,
            "gx": gx,
            "array": ax.plot(
                [], [], color=S.BLUE, lw=3, label="fixed array nested_guests[1024] (4.20)"
            )[0],
            "array4k": ax.plot(
                [], [], color=S.BLUE, lw=2, ls="--", label="the array with 4096 entries (by 5.11)"
            )[0],
            "idr": ax.plot([], [], color=S.VERMILLION, lw=3, label="IDR (5.19)")[0],
            "dot_a": ax.plot([], [], "o", color=S.BLUE, ms=11)[0],
            "dot_i": ax.plot([], [], "s", color=S.VERMILLION, ms=11)[0],
            "img": gx.imshow(np.zeros((64, 64)), cmap=_CMAP, vmin=0, vmax=3, interpolation="none"),
        }
        fig.legend(fontsize=S.SMALL_SIZE, loc="upper center", ncol=3, bbox_to_anchor=(0.5, 0.93))
        gx.set_xlabel("lpid & 63 (slot in a 64-slot node)", fontsize=S.TEXT_SIZE)
        gx.set_ylabel("lpid >> 6 (leaf node)", fontsize=S.TEXT_SIZE)
        gx.set_xticks([0, 32, 63])
        gx.set_yticks([0, 16, 32, 48, 63])
        gx.tick_params(labelsize=S.SMALL_SIZE)
        art["title"] = fig.suptitle("", fontsize=S.TITLE_SIZE, fontweight="bold")
        art["gtitle"] = gx.set_title("", fontsize=S.TEXT_SIZE)
        fig._pynest_costs = art  # type: ignore[attr-defined]
    ax, gx = art["ax"], art["gx"]
    xmax = max(rec.curve_n[-1], 1)
    art["array"].set_data([0, xmax], [rec.array_bytes] * 2)
    art["array4k"].set_data([0, xmax], [rec.array_4096_bytes] * 2)
    art["idr"].set_data(rec.curve_n, rec.curve_idr)
    art["dot_a"].set_data([rec.n], [rec.array_bytes])
    art["dot_i"].set_data([rec.n], [rec.idr_bytes])
    art["array"].set_linewidth(4 if table == "array" else 2)
    art["idr"].set_linewidth(4 if table == "dynamic" else 2)
    ax.set_xlim(0, xmax)
    ax.set_ylim(0, max(rec.array_4096_bytes, max(rec.curve_idr)) * 1.1)
    art["img"].set_data(_grid(rec, table))
    if table == "array":
        free = KVM_MAX_NESTED_GUESTS - sum(1 for lp in rec.lpids if lp < KVM_MAX_NESTED_GUESTS)
        gtitle = f"array: 1024 slots always there\n({free} empty); grey: no slot"
    else:
        rows = len({lp >> 6 for lp in rec.lpids})
        gtitle = f"IDR: {rows} leaf node(s)\nwhere the {rec.n} guests are"
    art["gtitle"].set_text(gtitle)
    chosen = rec.array_bytes if table == "array" else rec.idr_bytes
    art["title"].set_text(
        f"{'fixed array' if table == 'array' else 'IDR'}: {chosen} bytes for {rec.n} guests "
        f"(array {rec.array_bytes}, IDR {rec.idr_bytes})"
    )
    return fig
