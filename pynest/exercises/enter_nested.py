"""Exercises for notebooks 07 and 10, asked in the worlds of :mod:`pynest.scenarios.nested`.

* kind ``enter_nested`` -- :func:`enter_nested_exercise`: "what number does the L1 get
  back from this H_ENTER_NESTED?" (a trap number, computed by running the L2 program
  in the model), "which LPCR does the L2 run with?" and "which HFSCR survives
  ``sanitise_hv_regs``?";
* kind ``copy`` -- :func:`copy_exercise`: "what does this H_COPY_TOFROM_GUEST return?"
  (H_SUCCESS, H_PARAMETER, H_NOT_FOUND or H_NO_MEM, computed by making the hcall). The
  hcall is Linux 5.0's (versions row ``h-copy-tofrom-guest``), so the copy world's L0
  runs 5.0; one case puts the same call to a 4.20 L0, where it is no KVM hcall and QEMU
  answers H_FUNCTION.

Every generator takes a ``seed`` and draws from its own ``random.Random``.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from ..kvm import guest_state as G
from ..kvm.guest_copy import kmalloc_max
from ..kvm.hcalls import (
    H_CEDE,
    H_COPY_TOFROM_GUEST,
    H_FUNCTION,
    H_NO_MEM,
    H_NOT_FOUND,
    H_PARAMETER,
    H_PROD,
    H_SUCCESS,
    U64,
    rc_name,
)
from ..kvm.host import HFSCR_DEFAULT, L1_LPCR
from ..kvm.program import Hcall, Load, Op, Program, Spin, Store
from ..kvm.versions import has, row
from ..mmu import constants as C
from ..scenarios.l1 import CODE_EA, DATA_EA, one_l1
from ..scenarios.nested import (
    SLICE,
    copy_world,
    l2_with_pages,
)
from .base import Exercise, NumberAnswer, ReturnCodeAnswer


def _rng(kind: str, seed: int) -> random.Random:
    return random.Random(f"pynest-{kind}-{seed}")


# ----------------------------------------------------------------------- enter_nested
TRAP_SLIPS = {
    # Each slip explains the mistake without naming the trap that is right instead.
    0x300: "0x300 is the DSI the L2 would take from its *own* tables; a miss in the "
    "partition-scoped tables is a hypervisor interrupt, with a vector of its own.",
    0x400: "0x400 is the ISI the L2 would take from its own tables; a partition-scoped "
    "miss on a fetch is a hypervisor interrupt, with a vector of its own.",
    0x900: "0x900 is the L2's own decrementer; the L1's deadline is kept by the "
    "hypervisor decrementer, which has another vector.",
    H_CEDE: "0xe0 is the hcall *number* (H_CEDE) the L2 put in r3; H_ENTER_NESTED returns "
    "the vector of the interrupt that ended the run, and an hcall is a system call.",
    0: "0 means 'nothing for the L1 to do' (L0 was interrupted by a signal).",
    0xE00: "0xe00 is an HDSI (a data access); was this access a data access?",
    0xE20: "0xe20 is an HISI (an instruction fetch); was it a fetch that failed?",
    0xC00: "0xc00 is the system call interrupt of an hcall; did the L2 reach its sc 1?",
    0x980: "0x980 is the HDEC: did the L1's deadline pass before anything else happened?",
    0xE40: "0xe40 is an emulation assist (no instruction at that address); did the L2 "
    "run past its program?",
}


def _op_text(op: Op) -> str:
    if isinstance(op, Load):
        return f"ld   r{op.rt}, {op.ea:#x}"
    if isinstance(op, Store):
        return f"std  {op.value:#x}, {op.ea:#x}"
    if isinstance(op, Spin):
        return f"compute for {op.ticks} timebase ticks"
    name = "H_CEDE" if op.nr == H_CEDE else f"hcall {op.nr:#x}"
    return f"sc 1 with r3 = {op.nr:#x} ({name})"


def _trap_case(seed: int, rng: random.Random) -> Exercise:
    w = one_l1(seed)
    l1 = w.l1
    l2, eas = l2_with_pages(w, rng)
    case = rng.choice(("cede", "hdec", "unmapped", "hcall", "end", "own-fault"))
    code_gpa = l2.proc_trees[l2.pid].lookup(CODE_EA).ra  # type: ignore[union-attr]
    premapped = [code_gpa]
    for ea in eas:
        premapped.append(l2.proc_trees[l2.pid].lookup(ea).ra)  # type: ignore[union-attr]
    hole = None
    if case == "unmapped":
        hole = rng.randrange(len(eas))
        del premapped[1 + hole]
    ops: list[Op] = [Store(eas[0], rng.getrandbits(32))]
    if case == "hdec":
        ops += [Spin(SLICE + rng.randrange(1, 500)), Hcall(H_CEDE)]
    elif case == "unmapped":
        ops += [Load(eas[hole]), Hcall(H_CEDE)]  # type: ignore[index]
    elif case == "hcall":
        ops += [Hcall(rng.choice((H_CEDE, H_PROD)), (rng.randrange(8),))]
    elif case == "own-fault":
        ops += [Load(DATA_EA + (8 << 20) + rng.randrange(16) * C.PAGE_4K), Hcall(H_CEDE)]
    elif case == "cede":
        ops += [Load(eas[-1]), Hcall(H_CEDE)]
    else:
        ops += [Load(eas[-1])]
    for gpa in premapped:
        l1.map_l2_page(l2, gpa)
    l1.load_program(l2, Program(tuple(ops), entry=CODE_EA))
    mark = w.l0.events.mark()
    result = l1.run_l2(l2, max_entries=1)
    trap = result.returns[0]
    events = w.l0.events.since(mark)
    listing = "\n".join(f"  {CODE_EA + 4 * i:#07x}: {_op_text(op)}" for i, op in enumerate(ops))
    mapped = ", ".join(f"{g & -C.PAGE_64K:#x}" for g in sorted(set(premapped)))
    question = (
        f"An L1 runs its L2 (lpid {l2.l1_lpid}) for the first time. The L2's own kernel maps "
        f"code at {CODE_EA:#x} and data at {', '.join(f'{e:#x}' for e in eas)}. The L1 has "
        f"already mapped these 64K pages of L2 real memory in its partition-scoped tree: "
        f"{mapped} (plus the L2's page tables); L0 has no shadow PTEs yet. The L1 gives the "
        f"entry {SLICE} timebase ticks. The L2's program (NIP starts at {CODE_EA:#x}):\n"
        f"{listing}\n"
        "What does the L1 find in r3 when this first H_ENTER_NESTED returns? (a trap "
        "number such as 0x900, in hex)"
    )
    exits = [e for e in events if e.kind in ("exit", "reflect", "resume", "l2-guest-interrupt")]
    trace = "\n".join(f"  {e}" for e in exits)
    solution = (
        "L0 handles every exit first (kvmppc_handle_nested_exit): an HDSI/HISI whose L2 "
        "real page the L1 *has* mapped is fixed in L0 (a shadow PTE, RESUME_GUEST) and the "
        "L1 never sees it; a fault in the L2's *own* tables goes to the L2 itself. Only an "
        "exit L0 cannot absorb ends H_ENTER_NESTED, and its vector is the return value.\n"
        f"The model's exits and L0's decisions:\n{trace}\n"
        f"H_ENTER_NESTED returned {rc_name(trap, trap=True)} (r3 = {trap:#x})."
    )
    mistakes = {k: v for k, v in TRAP_SLIPS.items() if k != trap}
    answer = NumberAnswer(trap, "trap number", mistakes, "H_ENTER_NESTED returns a number")
    hint = "which exits can L0 handle without the L1? Page faults the L1's tree covers."
    return Exercise("enter_nested", seed, question, answer, solution, hint)


_HOSTILE = (C.LPCR_HR, C.LPCR_UPRT, C.LPCR_GTSE, 0x2, 0x1)  # bits an L1 might try to clear
_L1_FIELDS = (G.LPCR_ILE, G.LPCR_AIL, G.LPCR_LD, G.LPCR_MER, G.LPCR_TC, G.LPCR_LPES, G.LPCR_DPFD)


def _lpcr_exercise(seed: int, rng: random.Random) -> Exercise:
    vcore = L1_LPCR | (rng.choice((0, 1, 3)) << 23 if rng.random() < 0.3 else 0)
    asked = 0
    for mask in _L1_FIELDS:  # a random value in some of the fields the L1 may set
        if rng.random() < 0.5:
            low = mask & -mask
            asked |= (rng.randrange(1, mask // low + 1) * low) & mask
    for b in _HOSTILE:
        if rng.random() < 0.5:
            asked |= b  # the L1 keeps this one
    asked |= rng.choice((0, 1 << 21, 1 << 14, 1 << 4)) if rng.random() < 0.5 else 0
    result = G.compose_l2_lpcr(vcore, asked)
    mistakes = {
        asked: "that is what the L1 asked for; L0 takes only the bits inside the mask from it.",
        vcore: "that is the L1's own LPCR; the L1 does choose the bits inside the mask.",
        vcore | asked: "OR-ing lets the L1 set any bit; bits outside the mask come only from "
        "the L1's own LPCR.",
        asked & G.LPCR_L1_MASK: "the bits outside the mask are not cleared: they come from "
        "the L1's own LPCR (HR, UPRT, GTSE, HVICE, HDICE...).",
    }
    mistakes.pop(result, None)
    question = (
        f"L0 runs an L1 vcpu with LPCR (vc->lpcr) = {vcore:#018x}.\n"
        f"The L1 puts lpcr = {asked:#018x} in hv_guest_state for its L2.\n"
        f"The mask is LPCR_DPFD|ILE|TC|AIL|LD|LPES|MER = {G.LPCR_L1_MASK:#018x}.\n"
        "Which LPCR does the L2 run with? (hex)"
    )
    solution = (
        "kvmhv_enter_nested_guest (4.20): lpcr = (vc->lpcr & ~mask) | (hv.lpcr & mask)\n"
        f"  vc->lpcr & ~mask = {vcore & ~G.LPCR_L1_MASK & U64:#018x}\n"
        f"  hv.lpcr  &  mask = {asked & G.LPCR_L1_MASK:#018x}\n"
        f"  L2 LPCR          = {result:#018x}"
    )
    hint = "split the LPCR at the mask: inside it the L1's value, outside it L0's value."
    return Exercise(
        "enter_nested", seed, question, NumberAnswer(result, "LPCR", mistakes), solution, hint
    )


def _hfscr_exercise(seed: int, rng: random.Random) -> Exercise:
    allowed = HFSCR_DEFAULT & ~(rng.getrandbits(9) if rng.random() < 0.5 else 0)
    asked = rng.getrandbits(16) | (rng.getrandbits(8) << 56 if rng.random() < 0.5 else 0)
    result = G.sanitise_hv_regs(allowed, G.HvGuestState(hfscr=asked)).hfscr
    mistakes = {
        asked: "L0 does not trust it as is: facilities L0 denies the L1 cannot be given to the L2.",
        asked & allowed: "the interrupt-cause byte (bits 0:7, mask 0xff00000000000000) "
        "passes through.",
        allowed: "the L1 can also deny facilities to its L2: AND, don't replace.",
    }
    mistakes.pop(result, None)
    question = (
        f"L0 lets an L1 use the facilities HFSCR = {allowed:#018x} (vcpu->arch.hfscr).\n"
        f"The L1 asks for hfscr = {asked:#018x} for its L2 in hv_guest_state.\n"
        "Which HFSCR does L0 (Linux 4.20) load for the L2 after sanitise_hv_regs()? (hex)"
    )
    solution = (
        "sanitise_hv_regs (4.20 book3s_hv_nested.c): hfscr &= HFSCR_INTR_CAUSE | "
        "vcpu->arch.hfscr\n"
        f"  HFSCR_INTR_CAUSE | allowed = {G.HFSCR_INTR_CAUSE | allowed:#018x}\n"
        f"  {asked:#018x} & that = {result:#018x}\n"
        "(sanitise_hv_regs is still there in 5.14; by 5.15 load_l2_hv_regs does this with "
        "HFSCR_INTR_CAUSE | vcpu->arch.hfscr_permitted.)"
    )
    hint = "the L2 gets at most what the L1 has, plus the interrupt-cause byte."
    return Exercise(
        "enter_nested", seed, question, NumberAnswer(result, "HFSCR", mistakes), solution, hint
    )


def enter_nested_exercise(seed: int = 0) -> Exercise:
    """Kind ``enter_nested``: a trap number, a sanitised LPCR or a sanitised HFSCR."""
    rng = _rng("enter_nested", seed)
    case = rng.choice(("trap", "trap", "trap", "lpcr", "lpcr", "hfscr"))
    if case == "trap":
        return _trap_case(seed, rng)
    if case == "lpcr":
        return _lpcr_exercise(seed, rng)
    return _hfscr_exercise(seed, rng)


# ----------------------------------------------------------------------- copy
def copy_exercise(seed: int = 0) -> Exercise:
    """Kind ``copy``: "what does this H_COPY_TOFROM_GUEST return?" in :func:`copy_world`."""
    rng = _rng("copy", seed)
    case = rng.choice(
        ("ok", "ok", "both", "quadrant", "lpid", "untouched", "unmapped", "nomem", "pid", "4.20")
    )
    kernel = "4.20" if case == "4.20" else "5.0"
    w = copy_world(seed % 4, l0_kernel=kernel)
    l1, vm = w.l1, w.vm
    l2 = rng.choice(w.l2s)
    eas = w.data[l2.l1_lpid]
    buf = l1.alloc.alloc(C.PAGE_4K)
    lpid, pid, ea, to, frm, n = l2.l1_lpid, l2.pid, eas[0] + 8 * rng.randrange(64), buf, 0, 8
    n = rng.choice((8, 16, 64))
    why = ""
    copy = row("h-copy-tofrom-guest")
    if case == "ok":
        ea = rng.choice((eas[0], eas[1], CODE_EA)) + 8 * rng.randrange(64)
        why = "the page was touched by the L2, so L0's shadow tree maps it."
    elif case == "4.20":
        ea = rng.choice((eas[0], eas[1], CODE_EA)) + 8 * rng.randrange(64)
        why = (
            f"L0 runs Linux 4.20, which has no H_COPY_TOFROM_GUEST (it came in {copy.since}, "
            f"versions row {copy.key!r}): {copy.before}. The arguments are never looked at."
        )
    elif case == "both":
        frm = buf + 0x800
        why = "r7 and r8 are both non-zero: exactly one buffer says the direction."
    elif case == "quadrant":
        ea |= 3 << 62
        why = (
            "EA bits 0:11 are set (quadrant 3): the L1 must strip the quadrant and say "
            "pid 0 instead."
        )
    elif case == "lpid":
        lpid = max(w.l1.l2s) + rng.randrange(1, 30)
        why = f"the L1 has no L2 with lpid {lpid} (kvmhv_get_nested finds none)."
    elif case == "untouched":
        ea = eas[2] + 8 * rng.randrange(64)
        why = (
            "the L2 maps the page but never touched it, so L0's shadow tree has no PTE "
            "for it: the copy goes through the shadow tables and faults."
        )
    elif case == "unmapped":
        ea = DATA_EA + (8 << 20) + rng.randrange(16) * C.PAGE_4K
        why = "the L2's own page table does not map this EA."
    elif case == "nomem":
        n = kmalloc_max(vm.page_shift) * rng.choice((2, 4))
        why = (
            f"n = {n:#x} is more than kzalloc can give ({kmalloc_max(vm.page_shift):#x} "
            "bytes with 64K pages): the bounce buffer cannot be allocated."
        )
    else:
        pid = (l2.pid % 15) + 1
        why = f"PID {pid} has no process tree in the L2 (its process-table entry is empty)."
    rc = l1.hcall(H_COPY_TOFROM_GUEST, lpid, pid, ea, to, frm, n)
    assert (rc == H_FUNCTION) is not has(kernel, copy.key)
    mistakes = {
        H_SUCCESS: "something in the arguments or the translation stops the copy.",
        H_PARAMETER: "the arguments are well formed; the copy itself fails.",
        H_NOT_FOUND: "the hcall stops before any translation is tried.",
        H_NO_MEM: f"{n} bytes is easily allocated.",
        H_FUNCTION: f"L0 runs Linux {kernel}, which has H_COPY_TOFROM_GUEST.",
    }
    if not has(kernel, copy.key):
        mistakes = {k: f"L0 runs Linux {kernel}: which hcalls does its KVM know?" for k in mistakes}
    mistakes.pop(rc, None)
    question = (
        f"L0 runs Linux {kernel}"
        + (" (the first release with this hcall)" if kernel == copy.since else "")
        + f". The L1 (its L2s have lpids {sorted(w.l1.l2s)}) makes H_COPY_TOFROM_GUEST with\n"
        f"  r4 lpid = {lpid}, r5 pid = {pid}, r6 eaddr = {ea:#018x},\n"
        f"  r7 to = {to:#x}, r8 from = {frm:#x}, r9 n = {n}.\n"
        f"L2 {l2.l1_lpid} runs PID {l2.pid}; its kernel maps {', '.join(f'{e:#x}' for e in eas)} "
        f"(data, 4K each) and {CODE_EA:#x} (code). It has run once, storing to the first two "
        "data pages and fetching its code; the third data page was never touched.\n"
        "What does the hcall return? (H_SUCCESS, H_PARAMETER, H_NOT_FOUND, H_NO_MEM, "
        "H_FUNCTION ...)"
    )
    solution = (
        f'H_COPY_TOFROM_GUEST is Linux {copy.since}\'s (patch "{copy.patch}"). '
        "kvmhv_copy_tofrom_guest_nested (5.0 book3s_hv_nested.c) checks, in order: both "
        "buffers given -> H_PARAMETER; EA bits 0:11 set -> H_PARAMETER; kzalloc(n) fails "
        "-> H_NO_MEM; no such nested guest -> H_PARAMETER; then copies through the real "
        "MMU with the shadow LPID and the PID; any fault -> H_NOT_FOUND. A 4.20 L0 has no "
        "such case in kvmppc_pseries_do_hcall: userspace (QEMU) answers H_FUNCTION.\n"
        f"Here: {why}\nThe model returned {rc_name(rc)} ({rc})."
    )
    hint = (
        "first: does L0's kernel have this hcall? Then go through the checks in the "
        "kernel's order: buffers, EA, allocation, lpid, copy."
    )
    return Exercise("copy", seed, question, ReturnCodeAnswer(rc, mistakes=mistakes), solution, hint)


GENERATORS: dict[str, Callable[[int], Exercise]] = {
    "enter_nested": enter_nested_exercise,
    "copy": copy_exercise,
}
"""The exercise kinds of notebooks 07 and 10."""
