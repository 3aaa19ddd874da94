"""Exercises on what L0 does with an L1's H_ENTER_NESTED request (notebook 07).

* kind ``enter_rc`` -- :func:`enter_rc_exercise`: "what does the L1 find in r3 when this
  H_ENTER_NESTED returns?" for a request that may break one of L0's checks
  (``kvmppc_pseries_do_hcall``, then ``kvmhv_enter_nested_guest`` in its 4.20 order) or
  pass them all (then r3 is the trap that ended the L2's run). The answer is what the
  model's hcall returns. L0 runs 4.20 or 5.0 (they differ for an L2 access to emulated
  MMIO, row ``nested-mmio``), or 5.14 for the TM check (row ``nested-tm-sanitise``).
* kind ``sanitise`` -- :func:`sanitise_exercise`: "which DAWRX0 / CIABR does the L2 run
  with?" after ``sanitise_hv_regs``; the answer is read back from the hv_guest_state
  that the model's H_ENTER_NESTED writes to L1 memory (the kernel writes the sanitised
  struct back, so the L1 sees what its L2 ran with).

Every generator takes a ``seed`` and draws from its own ``random.Random``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import FieldError
from ..kvm import guest_state as G
from ..kvm.constants import KVM_MAX_NESTED_GUESTS
from ..kvm.guest_state import HvGuestState, PtRegs
from ..kvm.hcalls import (
    H_AUTHORITY,
    H_BAD_MODE,
    H_CEDE,
    H_ENTER_NESTED,
    H_FUNCTION,
    H_INTERRUPT,
    H_NOT_AVAILABLE,
    H_P2,
    H_PARAMETER,
    H_PROD,
    H_TOO_HARD,
    do_hcall,
    rc_name,
)
from ..kvm.host import L0
from ..kvm.l1 import L1, L2Guest
from ..kvm.l2 import NR_CPUS
from ..kvm.program import Hcall, Load, Op, Program, Store
from ..kvm.versions import has, row
from ..mmu import constants as C
from ..scenarios.l1 import CODE_EA, DATA_EA
from .base import Exercise, NumberAnswer, ReturnCodeAnswer, other_examples
from .enter_nested import TRAP_SLIPS

_MB = 1 << 20
_CODE_GPA = 0x40_0000
_DATA_GPA = 0x80_0000
_SLICE = 1000


def _rng(kind: str, seed: int) -> random.Random:
    return random.Random(f"pynest-{kind}-{seed}")


# ----------------------------------------------------------------------- the answer
_R3_EXAMPLES = ("H_P2", "0x980", "H_FUNCTION", "0xe00", "-4", "H_NOT_AVAILABLE", "0xc00")
_PARSER = ReturnCodeAnswer(0)


def r3_text(value: int) -> str:
    """What r3 holds after H_ENTER_NESTED, in words: a trap, an H_* code, or 0."""
    if value >= 0x100 and value != H_TOO_HARD:
        return f"trap {value:#x} ({value})"
    if value == 0:
        return "0 (no trap: the L1 simply re-enters)"
    return f"{rc_name(value)} ({value})"


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).lower() == " ".join(b.split()).lower()


@dataclass(frozen=True)
class R3Answer:
    """The value the L1 finds in r3 after H_ENTER_NESTED: a trap number (``0xc00``,
    ``trap 0xc00``, ``3072``), an hcall return code (``H_PARAMETER``, ``-4``) or 0.

    ``mistakes`` maps a likely wrong value to the explanation of the slip; ``other``
    explains a wrong value of the other category (a trap for an error or the reverse).
    """

    value: int
    mistakes: dict[int, str] = field(default_factory=dict, compare=False)
    other: str = ""

    def parse(self, given: object) -> int | None:
        """The r3 value ``given`` names, or None."""
        if isinstance(given, str):
            text = given.strip()
            m = re.fullmatch(r"trap\s+(\S+)(?:\s*\(([^()]*)\))?", text, re.I)
            if m:
                a = _PARSER.parse(m.group(1))
                b = _PARSER.parse(m.group(2)) if m.group(2) is not None else a
                return a if a is not None and a == b and a >= 0 else None
            head = _PARSER.parse(text.split(" (")[0]) if " (" in text else None
            if head is not None and _same(r3_text(head), text):
                return head  # the shown spelling, '0 (no trap: ...)'
        return _PARSER.parse(given)

    def accepts(self, given: object) -> bool:
        return self.parse(given) == self.value

    def check(self, given: object) -> tuple[bool, str]:
        got = self.parse(given)
        if got is None:
            examples = other_examples(_R3_EXAMPLES, self.accepts, 3)
            return False, (
                f"Not understood: {given!r}. Say what r3 holds: an hcall return code (its "
                f"name or value) or a trap number in hex, e.g. {examples} (examples of the "
                "form, not this answer)."
            )
        if got == self.value:
            return True, f"Correct: {self}."
        shown = r3_text(got).split(" (")[0]
        slip = self.mistakes.get(got)
        if slip:
            return False, f"No, not {shown}: {slip}"
        is_trap = got >= 0x100 and got != H_TOO_HARD
        want_trap = self.value >= 0x100
        if self.other and is_trap != want_trap:
            return False, f"No, not {shown}: {self.other}"
        return False, f"No, the L1 does not find {shown} in r3 here."

    @property
    def form(self) -> str:
        return "a trap number in hex, or an hcall return code by name or value"

    def __str__(self) -> str:
        return r3_text(self.value)


# ----------------------------------------------------------------------- enter_rc
RC_CASES = (
    "trap",
    "hdec",
    "no-ptcr",
    "nesting-off",
    "hv-ptr",
    "version",
    "version-first",
    "regs-ptr",
    "token",
    "lpid",
    "mmio",
    "tm",
)
"""The request shapes :func:`enter_rc_exercise` draws from."""


@dataclass
class _Request:
    """One H_ENTER_NESTED as the question states it."""

    kernel: str
    nesting: bool
    mem: int
    ptcr: int
    r4: int
    r5: int
    hv: HvGuestState
    regs: PtRegs
    program: str
    extra: str = ""
    l2: L2Guest | None = None
    facts: list[str] = field(default_factory=list)


def _program_text(ops: tuple[Op, ...]) -> str:
    lines = []
    for i, op in enumerate(ops):
        if isinstance(op, Load):
            text = f"ld   r{op.rt}, {op.ea:#x}"
        elif isinstance(op, Store):
            text = f"std  {op.value:#x}, {op.ea:#x}"
        elif isinstance(op, Hcall):
            name = "H_CEDE" if op.nr == H_CEDE else "H_PROD"
            text = f"sc 1 with r3 = {op.nr:#x} ({name})"
        else:
            text = f"compute for {op.ticks} timebase ticks"
        lines.append(f"    {CODE_EA + 4 * i:#07x}: {text}")
    return "\n".join(lines)


def _kernel_for(case: str, rng: random.Random) -> str:
    if case == "tm":
        return rng.choice(("4.20", "5.14"))
    return rng.choice(("4.20", "5.0"))


def _world(case: str, rng: random.Random) -> tuple[L0, L1, _Request]:
    kernel = _kernel_for(case, rng)
    mem = rng.choice((256, 512)) * _MB
    l0 = L0(kernel=kernel)
    vm = l0.create_l1(mem, nesting=case != "nesting-off")
    l1 = L1(vm)
    hv_gpa, regs_gpa = l1.buffers[0]
    l2 = None
    ops: tuple[Op, ...] = (Hcall(H_CEDE),)
    extra = ""
    if case != "nesting-off":
        l1.nested_init()
        l2 = l1.create_l2(16 * _MB, pid=rng.randrange(1, 16))
        code_gpa = _CODE_GPA + rng.randrange(8) * C.PAGE_64K
        l1.l2_map(l2, CODE_EA, code_gpa, C.PAGE_4K, "rx")
        l1.map_l2_page(l2, code_gpa)
        data_gpa = _DATA_GPA + rng.randrange(16) * C.PAGE_4K
        l1.l2_map(l2, DATA_EA, data_gpa, C.PAGE_4K, "rw")
        if case == "mmio":
            device = vm.mem_size + rng.randrange(16) * C.PAGE_64K
            l2.tree.map(data_gpa & -C.PAGE_64K, device, C.PAGE_64K, "rw", r=True, c=True)
            ops = (Load(DATA_EA), Hcall(H_CEDE))
            extra = (
                f"The L2's kernel maps EA {DATA_EA:#x} to L2 real {data_gpa:#x}; the L1 "
                f"maps that 64K page of L2 real memory to L1 real {device:#x}, past the end "
                "of its own memory: a device its QEMU emulates (no memslot in L0)."
            )
        else:
            l1.map_l2_page(l2, data_gpa)
            if case == "trap":
                ops = (Store(DATA_EA, rng.getrandbits(16)), Hcall(rng.choice((H_CEDE, H_PROD))))
            else:
                ops = (Load(DATA_EA), Hcall(H_CEDE))
        l1.load_program(l2, Program(ops, entry=CODE_EA))
        if case == "no-ptcr":
            l1.nested_exit()
    v = vm.vcpus[0]
    lpid = l2.l1_lpid if l2 is not None else 1
    hv = HvGuestState(
        lpid=lpid,
        vcpu_token=l2.vcpu_token if l2 is not None else 0,
        lpcr=l2.lpcr if l2 is not None else 0,
        hfscr=v.hfscr,
        hdec_expiry=l0.timebase + v.tb_offset + _SLICE,
        pidr=l2.pid if l2 is not None else 1,
    )
    regs = PtRegs(nip=CODE_EA, msr=C.MSR_GUEST_KERNEL)
    r4, r5 = hv_gpa, regs_gpa
    if case == "hdec":
        hv.hdec_expiry = l0.timebase + v.tb_offset  # the deadline is now (u64: no earlier)
    elif case == "hv-ptr":
        r4 = mem - rng.choice((8, 64, 128, 224)) if rng.random() < 0.5 else mem + hv_gpa
    elif case in ("version", "version-first"):
        hv.version = rng.choice((0, 2, 2, 3))
        if case == "version-first":
            r5 = mem - rng.choice((16, 64, 200, 360))
    elif case == "regs-ptr":
        r5 = mem - rng.choice((16, 64, 200, 360)) if rng.random() < 0.6 else mem + regs_gpa
    elif case == "token":
        hv.vcpu_token = rng.choice((NR_CPUS, NR_CPUS + rng.randrange(1, 4096), 0xFFFF_FFFF))
    elif case == "lpid":
        hv.lpid = rng.choice(
            (KVM_MAX_NESTED_GUESTS, KVM_MAX_NESTED_GUESTS + rng.randrange(1, 3000), 0xFFFF_FFFF)
        )
    elif case == "tm":
        regs.msr |= rng.choice((G.MSR_TS_S, G.MSR_TS_T))
    assert vm.write_guest(hv_gpa, hv.to_bytes())
    assert vm.write_guest(regs_gpa, regs.to_bytes())
    req = _Request(
        kernel, case != "nesting-off", mem, vm.l1_ptcr, r4, r5, hv, regs, _program_text(ops)
    )
    req.extra, req.l2 = extra, l2
    return l0, l1, req


def _ts_text(msr: int) -> str:
    ts = msr & G.MSR_TS_MASK
    return {0: "0b00 (non-transactional)", G.MSR_TS_S: "0b01 (suspended)"}.get(
        ts, "0b10 (transactional)" if ts == G.MSR_TS_T else "0b11 (reserved)"
    )


def _describe(req: _Request, now: int) -> str:
    hv, regs = req.hv, req.regs
    delta = hv.hdec_expiry - now
    deadline = f"now + {delta} ticks" if delta > 0 else f"now - {-delta} ticks (already passed)"
    if delta == 0:
        deadline = "now (already reached)"
    nesting = "enabled" if req.nesting else "NOT enabled"
    if req.ptcr:
        prts = req.ptcr & 0x1F
        table = (
            f"registered its partition table (H_SET_PARTITION_TABLE with PTCR = "
            f"{req.ptcr:#x}: PRTS {prts}, {1 << (prts + 8)} entries)"
        )
    elif req.nesting:
        table = (
            "registered a partition table and created its L2, then called "
            "H_SET_PARTITION_TABLE(0) (kvmhv_nested_exit)"
        )
    else:
        table = "never made a nested hcall before"
    who = f" Its L2 has lpid {req.l2.l1_lpid}." if req.l2 is not None else ""
    text = (
        f"L0 runs Linux {req.kernel} (CONFIG_NR_CPUS = {NR_CPUS}, KVM_MAX_NESTED_GUESTS = "
        f"{KVM_MAX_NESTED_GUESTS}); nesting (QEMU cap-nested-hv) is {nesting} for this L1.\n"
        f"The L1 has {req.mem >> 20} MiB of memory (L1 real 0x0 .. {req.mem:#x}) and "
        f"{table}.{who}\n"
        f"The L1 (big-endian, not in a transaction) calls H_ENTER_NESTED with\n"
        f"  r4 = {req.r4:#x} (hv_guest_state: {G.HV_GUEST_STATE_V1_SIZE} bytes),\n"
        f"  r5 = {req.r5:#x} (pt_regs: {G.PT_REGS_SIZE} bytes).\n"
        f"The hv_guest_state the L1 filled in: version {hv.version}, lpid {hv.lpid:#x}, "
        f"vcpu_token {hv.vcpu_token:#x}, hdec_expiry = the L1's timebase {deadline}; "
        f"the L2's pt_regs: nip {regs.nip:#x}, MSR[TS] {_ts_text(regs.msr)}.\n"
        f"The L2's program (its own kernel maps code at {CODE_EA:#x} and data at "
        f"{DATA_EA:#x}; the L1 has mapped both pages of L2 real memory"
        + (" except as said below" if req.extra else "")
        + "; L0 has no shadow PTEs yet):\n"
        f"{req.program}\n"
    )
    if req.extra:
        text += req.extra + "\n"
    return text + (
        "What does the L1 find in r3 when H_ENTER_NESTED returns? (an hcall return code "
        "by name or value, or a trap number in hex)"
    )


_WHY = {
    "trap": "every check passes; the L2 runs until its sc 1, an exit L0 cannot absorb "
    "(the L1 emulates its L2's hcalls), so r3 is that system-call vector.",
    "hdec": "every check passes, but the L1's deadline has already come: the run loop "
    "stops before entering the L2, with the hypervisor-decrementer trap.",
    "no-ptcr": "H_SET_PARTITION_TABLE(0) set kvm->arch.l1_ptcr to 0; the very first test "
    "of kvmhv_enter_nested_guest refuses to enter without a partition table.",
    "nesting-off": "kvmppc_pseries_do_hcall starts r3 at H_FUNCTION for the nested hcalls "
    "and calls the handler only if nesting is enabled for the VM.",
    "hv-ptr": "kvm_vcpu_read_guest of the 232-byte hv_guest_state at r4 fails: the range "
    "leaves the L1's memslot.",
    "version": "the state is read, but its version is not 1, the only one 4.20 and 5.0 "
    "know (version 2 is Linux 5.12's); Linux chose H_P2 for it.",
    "version-first": "the version (not 1) is checked right after reading hv_guest_state "
    "and before r5 is even read, so the bad r5 is never seen.",
    "regs-ptr": "hv_guest_state is fine, but the 368-byte pt_regs at r5 cannot be read "
    "whole: the range leaves the L1's memslot.",
    "token": f"vcpu_token indexes the nested guest's prev_cpu[NR_CPUS]: {NR_CPUS} or more "
    "is refused.",
    "lpid": "kvmhv_get_nested finds no slot for that lpid: it must be below "
    f"KVM_MAX_NESTED_GUESTS ({KVM_MAX_NESTED_GUESTS}) and below the size of the L1's "
    "partition table (lpid is a C int: 0xffffffff is -1).",
}


def _mmio_why(kernel: str) -> str:
    r = row("nested-mmio")
    if has(kernel, r.key):
        return (
            f"the L2's load reaches an L1 address with no memslot. Linux {kernel} "
            f"({r.since}, versions row {r.key!r}) treats it as emulated MMIO: L0 exits to "
            "QEMU, H_ENTER_NESTED returns H_TOO_HARD, and kvmppc_pseries_do_hcall turns "
            "that into r3 = 0 (no trap): the L1 re-enters once QEMU has done the access."
        )
    return (
        f"the L2's load reaches an L1 address with no memslot. Linux {kernel} has no MMIO "
        f"passthrough yet ({r.since}, versions row {r.key!r}): __kvmhv_nested_page_fault "
        "logs 'emulated MMIO passthrough?' and returns -EINVAL, the run loop stops, and "
        "the L1 gets the HDSI trap back unresolved."
    )


def _tm_why(kernel: str) -> str:
    r = row("nested-tm-sanitise")
    if has(kernel, r.key):
        return (
            f"Linux {kernel} checks the L2's MSR[TS] against the L1's (versions row "
            f"{r.key!r}): a non-transactional L1 must hand an L2 with TS = 0, so L0 "
            "refuses with H_BAD_MODE before looking the lpid up."
        )
    return (
        f"Linux {kernel} has no TM check in H_ENTER_NESTED (it came in {r.since}, versions "
        f"row {r.key!r}): the L2 MSR is loaded whatever its TS, the L2 runs to its sc 1, "
        "and r3 is that system-call vector."
    )


def _slips(case: str, kernel: str, answer: int) -> dict[int, str]:
    tm = row("nested-tm-sanitise")
    slips = {
        H_FUNCTION: "nesting is enabled for this L1, so L0's KVM handles the call.",
        H_NOT_AVAILABLE: "the L1 has a partition table registered (l1_ptcr is set).",
        H_P2: "the version is 1, the one this L0 knows.",
        H_PARAMETER: "both structures can be read whole, and vcpu_token and lpid are in range.",
        H_BAD_MODE: (
            f"Linux {kernel} has no TM check in H_ENTER_NESTED (it came in {tm.since})."
            if not has(kernel, tm.key)
            else "the L2's MSR[TS] matches the L1's."
        ),
        H_AUTHORITY: "L0 can write both structures back where it read them.",
        H_INTERRUPT: "no signal is pending for the vcpu thread; and that code never "
        "reaches the L1 as such.",
        H_TOO_HARD: "that code never reaches the L1: kvmppc_pseries_do_hcall replaces it.",
        H_CEDE: "that is the hcall *number* the L2 put in its r3; the L1 gets a vector "
        "or an hcall return code.",
        H_ENTER_NESTED: "that is the number of the hcall the L1 made, not what it returns.",
    }
    slips.update({k: v for k, v in TRAP_SLIPS.items() if k not in slips})
    if case == "version-first":
        slips[H_PARAMETER] = "r5 is bad, but 4.20 and 5.0 read pt_regs only after the "
        slips[H_PARAMETER] += "version check."
    elif case in ("hv-ptr", "regs-ptr"):
        slips[H_P2] = "L0 never got as far as a version: count the bytes it reads."
    elif case == "nesting-off":
        slips[H_NOT_AVAILABLE] = (
            "true, there is no partition table, but an earlier test stops the call."
        )
    if case == "mmio" and has(kernel, "nested-mmio"):
        slips[0xE00] = (
            f"that was 4.20's answer; Linux {kernel} knows what an access with no memslot is."
        )
    if case == "mmio" and not has(kernel, "nested-mmio"):
        slips[0] = f"Linux {kernel} cannot pass an emulated device through to an L2 yet."
    slips.pop(answer, None)
    return slips


def enter_rc_case(case: str, seed: int = 0) -> Exercise:
    """The :func:`enter_rc_exercise` of one request shape (see :data:`RC_CASES`)."""
    if case not in RC_CASES:
        raise FieldError(f"unknown case {case!r}; choose from {', '.join(RC_CASES)}")
    rng = _rng(f"enter_rc-{case}", seed)
    l0, l1, req = _world(case, rng)
    now = l0.timebase + l1.vm.vcpus[0].tb_offset
    question = _describe(req, now)
    mark = l0.events.mark()
    r3 = do_hcall(l1.vm, H_ENTER_NESTED, req.r4, req.r5)
    events = [
        e
        for e in l0.events.since(mark)
        if e.kind in ("hcall-return", "enter", "exit", "reflect", "resume", "error", "userspace")
    ]
    if case == "mmio":
        why = _mmio_why(req.kernel)
    elif case == "tm":
        why = _tm_why(req.kernel)
    else:
        why = _WHY[case]
    trace = "\n".join(f"  {e}" for e in events[-8:])
    solution = (
        "kvmppc_pseries_do_hcall: r3 starts as H_FUNCTION; the handler runs only with "
        "nesting enabled. kvmhv_enter_nested_guest (4.20 order): l1_ptcr == 0 -> "
        "H_NOT_AVAILABLE; [5.14: L1 transactional -> H_BAD_MODE]; read hv_guest_state at "
        "r4 (fails -> H_PARAMETER); version != 1 -> H_P2; read pt_regs at r5 (fails -> "
        f"H_PARAMETER); vcpu_token >= NR_CPUS -> H_PARAMETER; [5.14: MSR[TS] mismatch -> "
        "H_BAD_MODE]; kvmhv_get_nested(lpid) finds nothing -> H_PARAMETER; then the L2 "
        "runs and r3 is the vector of the exit L0 could not absorb (H_INTERRUPT and "
        "H_TOO_HARD reach the L1 as 0).\n"
        f"Here: {why}\n"
        f"The model's events:\n{trace}\n"
        f"The L1 finds {r3_text(r3)} in r3."
    )
    want_trap = r3 >= 0x100
    other = (
        "every check of the request passes, so the L2 does run; r3 is then the vector of "
        "the exit that ended the run."
        if want_trap
        else "the L2 never runs to a vector this time."
        if r3 < 0 or 0 < r3 < 0x100
        else "no trap ends this call for the L1."
    )
    answer = R3Answer(r3, _slips(case, req.kernel, r3), other)
    hint = (
        "go through the checks in the kernel's order (does L0 let this L1 nest? a "
        "partition table? can both structures be read whole? the version? vcpu_token? "
        "lpid?); the first that fails decides. If none fails, the L2 runs: which exit "
        "can L0 not absorb? Mind which Linux L0 runs."
    )
    return Exercise("enter_rc", seed, question, answer, solution, hint)


def enter_rc_exercise(seed: int = 0) -> Exercise:
    """Kind ``enter_rc``: "what does the L1 find in r3 after this H_ENTER_NESTED?"."""
    case = _rng("enter_rc", seed).choice(RC_CASES)
    ex = enter_rc_case(case, seed)
    return Exercise("enter_rc", seed, ex.question, ex.answer, ex.solution, ex.hint)


# ----------------------------------------------------------------------- sanitise
_DAWRX_BITS = (
    (1 << 6, "DW"),
    (1 << 5, "DR"),
    (1 << 4, "WT"),
    (1 << 3, "WTI"),
    (G.DAWRX_HYP, "HYP"),
    (1 << 1, "KERNEL"),
    (1 << 0, "USER"),
)
_CIABR_PRIV = {0: "disabled", 1: "problem state", 2: "privileged, non-hypervisor", 3: "hypervisor"}


def _dawrx_names(value: int) -> str:
    names = [n for bit, n in _DAWRX_BITS if value & bit]
    return " | ".join(names) if names else "no bits"


def _run_sanitised(seed: int, rng: random.Random, **fields: int) -> tuple[HvGuestState, str]:
    """Make one H_ENTER_NESTED with ``fields`` in the L1's request and return the
    hv_guest_state L0 wrote back (and the kernel L0 runs)."""
    kernel = rng.choice(("4.20", "5.0"))
    l0 = L0(kernel=kernel)
    vm = l0.create_l1(256 * _MB)
    l1 = L1(vm)
    l1.nested_init()
    l2 = l1.create_l2(16 * _MB)
    l1.l2_map(l2, CODE_EA, _CODE_GPA, C.PAGE_4K, "rx")
    l1.map_l2_page(l2, _CODE_GPA)
    l1.load_program(l2, Program((Hcall(H_CEDE),), entry=CODE_EA))
    v = vm.vcpus[0]
    hv = HvGuestState(
        lpid=l2.l1_lpid,
        vcpu_token=l2.vcpu_token,
        lpcr=l2.lpcr,
        hfscr=v.hfscr,
        hdec_expiry=l0.timebase + v.tb_offset + _SLICE,
        pidr=l2.pid,
        **fields,
    )
    hv_gpa, regs_gpa = l1.buffers[0]
    assert vm.write_guest(hv_gpa, hv.to_bytes())
    assert vm.write_guest(regs_gpa, PtRegs(nip=CODE_EA, msr=C.MSR_GUEST_KERNEL).to_bytes())
    rc = do_hcall(vm, H_ENTER_NESTED, hv_gpa, regs_gpa)
    assert rc == 0xC00, rc  # the L2 ran to its sc 1
    out = HvGuestState.from_bytes(vm.read_guest(hv_gpa, G.HV_GUEST_STATE_V1_SIZE) or b"")
    assert out.dawrx0 == G.sanitise_hv_regs(v.hfscr, hv).dawrx0
    assert out.ciabr == G.sanitise_hv_regs(v.hfscr, hv).ciabr
    return out, kernel


def _dawrx_exercise(seed: int, rng: random.Random) -> Exercise:
    asked = 0
    while not asked & 0x60 or not asked & 0x7:  # a watch that reads or writes, somewhere
        asked = rng.getrandbits(7)
    if rng.random() < 0.7:
        asked |= G.DAWRX_HYP
    out, kernel = _run_sanitised(seed, rng, dawr0=DATA_EA + 8 * rng.randrange(512), dawrx0=asked)
    result = out.dawrx0
    mistakes = {
        asked: "L0 does not load it as given: one match condition would let the L2's "
        "watchpoint fire while L0 itself runs.",
        asked & ~(G.DAWRX_HYP | 0x2): "only one privilege condition goes; the L2's own "
        "kernel may still watch its accesses.",
        0: "the watchpoint is not switched off; one match condition is removed.",
        asked & ~G.DAWRX_HYP & ~0x1: "only one privilege condition goes; the L2's user "
        "programs may still be watched.",
    }
    mistakes.pop(result, None)
    question = (
        f"L0 runs Linux {kernel}. An L1 asks, in hv_guest_state for its L2, for the data "
        f"watchpoint dawr0 = {out.dawr0:#x} with\n"
        f"  dawrx0 = {asked:#x} ({_dawrx_names(asked)})\n"
        "(DAWRX0 bits, lowest first: USER 0x1 = match in problem state, KERNEL 0x2 = "
        "privileged non-hypervisor state, HYP 0x4 = hypervisor state, WTI 0x8, WT 0x10, "
        "DR 0x20 = on reads, DW 0x40 = on writes.)\n"
        "Which DAWRX0 does L0 load for the L2 after sanitise_hv_regs()? (hex; the L1 "
        "reads the same value back in hv_guest_state)"
    )
    solution = (
        "sanitise_hv_regs (book3s_hv_nested.c, 4.20): dawrx0 &= ~DAWRX_HYP -- no data "
        "watchpoint match in hypervisor state: only L0 runs in hypervisor state, so such "
        "a match could only fire in L0's own code, and an L1 must not be able to trap "
        "L0 that way.\n"
        f"  {asked:#x} & ~{G.DAWRX_HYP:#x} = {result:#x} ({_dawrx_names(result)})\n"
        "The model's H_ENTER_NESTED wrote that value back to the L1's hv_guest_state. "
        "(Later kernels clean dawrx1 the same way; 5.15 folds this into load_l2_hv_regs.)"
    )
    hint = "in which privilege state must an L2's watchpoint never fire?"
    answer = NumberAnswer(result, "DAWRX0", mistakes, "sanitising changes a register value")
    return Exercise("sanitise", seed, question, answer, solution, hint)


def _ciabr_exercise(seed: int, rng: random.Random) -> Exercise:
    priv = rng.choice((1, 2, 3, 3, 3))
    addr = (0xC000_0000_0000_0000 if priv != 1 else 0) | (rng.getrandbits(24) << 2)
    asked = addr | priv
    out, kernel = _run_sanitised(seed, rng, ciabr=asked)
    result = out.ciabr
    mistakes = {
        asked: "L0 does not load it as given when the breakpoint would match in the "
        "state L0 itself runs in.",
        addr | 2: "L0 does not demote the breakpoint to another privilege state; it "
        "clears the whole privilege field.",
        0: "the address bits are kept; only the privilege field can change.",
        addr: "only a breakpoint set to match in hypervisor state is touched.",
    }
    mistakes.pop(result, None)
    question = (
        f"L0 runs Linux {kernel}. An L1 asks, in hv_guest_state for its L2, for the "
        f"instruction breakpoint\n  ciabr = {asked:#018x}\n"
        "(CIABR: the instruction address in bits 0:61, PRIV in bits 62:63 = the low two "
        "bits: 0 disabled, 1 match in problem state, 2 in privileged non-hypervisor "
        "state, 3 in hypervisor state.)\n"
        "Which CIABR does L0 load for the L2 after sanitise_hv_regs()? (hex; the L1 "
        "reads the same value back in hv_guest_state)"
    )
    verdict = (
        f"PRIV = 3 (hypervisor): cleared, {asked:#x} & ~0x3 = {result:#x}: the "
        "breakpoint is disabled, not moved to another state."
        if priv == 3
        else f"PRIV = {priv} ({_CIABR_PRIV[priv]}): left alone, {result:#x}."
    )
    solution = (
        "sanitise_hv_regs (book3s_hv_nested.c, 4.20): if (ciabr & CIABR_PRIV) == "
        "CIABR_PRIV_HYPER, ciabr &= ~CIABR_PRIV -- no instruction breakpoint matching in "
        "hypervisor state, where L0 runs.\n"
        f"  {verdict}\n"
        "The model's H_ENTER_NESTED wrote that value back to the L1's hv_guest_state."
    )
    hint = "which PRIV value could make an L2's breakpoint fire in L0's own code?"
    answer = NumberAnswer(result, "CIABR", mistakes, "sanitising changes a register value")
    return Exercise("sanitise", seed, question, answer, solution, hint)


def sanitise_exercise(seed: int = 0) -> Exercise:
    """Kind ``sanitise``: the DAWRX0 or CIABR an L2 runs with after ``sanitise_hv_regs``."""
    rng = _rng("sanitise", seed)
    if rng.random() < 0.5:
        return _dawrx_exercise(seed, rng)
    return _ciabr_exercise(seed, rng)


GENERATORS: dict[str, Callable[[int], Exercise]] = {
    "enter_rc": enter_rc_exercise,
    "sanitise": sanitise_exercise,
}
"""The H_ENTER_NESTED request exercises of notebook 07."""
