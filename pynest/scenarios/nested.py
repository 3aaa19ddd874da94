"""L2 runs under H_ENTER_NESTED and the copy world (notebooks 07 and 10, the timeline and
copy explorers).

:func:`nested_world` (an L1 with one L2 whose code and data are mapped; :data:`PROGRAMS`
names the L2 programs), :func:`run_program` (one :meth:`~pynest.kvm.l1.L1.run_l2` in a
fresh world, returned as an :class:`EnterRun` record) and :func:`copy_world` (an L1 with
two L2s that have run once, so L0's shadow tables hold the pages they touched; L0 runs
Linux 5.0, the first with H_COPY_TOFROM_GUEST, unless told otherwise). Every builder
draws from its own ``random.Random``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ..errors import FieldError
from ..kvm import guest_state as G
from ..kvm.events import Event
from ..kvm.hcalls import H_CEDE, H_PROD, rc_name
from ..kvm.host import L1_LPCR
from ..kvm.l1 import L2Guest
from ..kvm.program import Hcall, Load, Op, Program, Spin, Store
from ..mmu import constants as C
from .l1 import CODE_EA, DATA_EA, World, one_l1
from .text import parse_number


def _rng(kind: str, seed: int) -> random.Random:
    return random.Random(f"pynest-{kind}-{seed}")


CODE_GPA = 0x0040_0000


DATA_GPA = 0x0080_0000


SLICE = 1000
"""Timebase ticks the L1 gives each entry (``hdec_expiry`` = now + SLICE)."""


# ----------------------------------------------------------------------- worlds
def l2_with_pages(w: World, rng: random.Random, n_data: int = 3) -> tuple[L2Guest, list[int]]:
    """An L2 (16 MiB, 64K L1 pages) whose own kernel maps a code page (rx) at CODE_EA and
    ``n_data`` 4K data pages (rw) at DATA_EA + i MiB; returns (l2, data EAs)."""
    l1 = w.l1
    l2 = l1.create_l2(16 << 20, page_size=C.PAGE_64K, pid=rng.randrange(1, 16))
    l1.l2_map(l2, CODE_EA, CODE_GPA + rng.randrange(0, 8) * C.PAGE_64K, C.PAGE_4K, "rx")
    eas = []
    for i in range(n_data):
        ea = DATA_EA + i * (1 << 20) + rng.randrange(0, 16) * C.PAGE_4K
        gpa = DATA_GPA + i * (1 << 20) + rng.randrange(0, 16) * C.PAGE_4K
        l1.l2_map(l2, ea, gpa, C.PAGE_4K, "rw")
        eas.append(ea)
    w.l2s.append(l2)
    w.data[l2.l1_lpid] = eas
    return l2, eas


def _programs(d: list[int]) -> dict[str, tuple[Op, ...]]:
    return {
        "store, load, cede": (
            Store(d[0], 0x1122334455667788),
            Load(d[0]),
            Store(d[1], 42),
            Load(d[1]),
            Hcall(H_CEDE),
        ),
        "cede at once": (Hcall(H_CEDE),),
        "spin past the HDEC deadline": (Spin(1500), Hcall(H_CEDE)),
        "an hcall the L1 does not implement": (Hcall(H_PROD, (3,)), Hcall(H_CEDE)),
        "run off the end of the program": (Load(d[0]),),
        "load from a page the L2 never mapped": (Load(DATA_EA + (8 << 20)), Hcall(H_CEDE)),
    }


PROGRAMS: tuple[str, ...] = tuple(_programs([0, 0, 0]))
"""The named L2 programs of :func:`nested_world` (and the explorer's menu)."""


def nested_world(seed: int = 0, program: str = "store, load, cede") -> World:
    """:func:`pynest.scenarios.one_l1` plus one L2 with code and three data pages mapped
    by its own kernel, running the program named ``program`` (see :data:`PROGRAMS`)."""
    if program not in PROGRAMS:
        raise FieldError(f"unknown program {program!r}; choose from {', '.join(PROGRAMS)}")
    w = one_l1(seed)
    l2, eas = l2_with_pages(w, _rng("world", seed))
    w.l1.load_program(l2, Program(_programs(eas)[program], entry=CODE_EA))
    return w


@dataclass(frozen=True)
class EnterRun:
    """One :meth:`L1.run_l2` of a program: the events it logged and what came back."""

    program: str
    lpcr_asked: int
    vcore_lpcr: int
    l2_lpcr: int
    slice_ticks: int
    returns: tuple[int, ...]
    stopped: str
    events: tuple[Event, ...] = field(repr=False)
    warm: bool = False

    @property
    def returns_text(self) -> str:
        return ", ".join(rc_name(r, trap=True).replace("trap ", "") for r in self.returns)


def run_program(
    program: str = "store, load, cede",
    lpcr: int = L1_LPCR,
    slice_ticks: int = SLICE,
    *,
    seed: int = 0,
    warm: bool = False,
) -> EnterRun:
    """Run ``program`` in a fresh :func:`nested_world` with the L1 supplying ``lpcr`` in
    hv_guest_state and ``slice_ticks`` of HDEC per entry. ``warm`` runs it once first
    and records only the second run (L0's shadow tables already hold the pages)."""
    lpcr = parse_number(lpcr, "LPCR", kind="register")
    slice_ticks = parse_number(slice_ticks, "HDEC slice", kind="count")
    if not 1 <= slice_ticks <= 1_000_000:
        raise FieldError(f"HDEC slice {slice_ticks} must be 1 .. 1000000 timebase ticks")
    w = nested_world(seed, program)
    l2 = w.l2s[0]
    l2.lpcr = lpcr
    if warm:
        w.l1.run_l2(l2, slice_ticks=slice_ticks)
        w.l1.load_program(l2, w.vm.programs[l2.l1_lpid])  # type: ignore[arg-type]
    mark = w.l0.events.mark()
    r = w.l1.run_l2(l2, slice_ticks=slice_ticks)
    vcore = w.vm.vcpus[0].lpcr
    return EnterRun(
        program,
        lpcr,
        vcore,
        G.compose_l2_lpcr(vcore, lpcr),
        slice_ticks,
        r.returns,
        r.stopped,
        tuple(w.l0.events.since(mark)),
        warm,
    )


def copy_world(seed: int = 0, l0_kernel: str = "5.0") -> World:
    """:func:`one_l1` with two L2s (see :func:`nested_world`) that have each run
    "store, load, cede" once. Data pages 0 and 1 were touched (L0 has shadow PTEs for
    them and for the code page); data page 2 is mapped by the L2 but was never touched,
    so L0 has no shadow PTE for it yet.

    L0 runs Linux ``l0_kernel``: ``"5.0"`` by default, the first release with
    H_COPY_TOFROM_GUEST (versions row ``h-copy-tofrom-guest``); under ``"4.20"`` the
    hcall goes to userspace and QEMU answers H_FUNCTION."""
    w = one_l1(seed, l0_kernel=l0_kernel)
    rng = _rng("copy-world", seed)
    for _ in range(2):
        l2, eas = l2_with_pages(w, rng)
        ops = (
            Store(eas[0], rng.getrandbits(64)),
            Store(eas[1], rng.getrandbits(64)),
            Load(eas[0]),
            Hcall(H_CEDE),
        )
        w.l1.load_program(l2, Program(ops, entry=CODE_EA))
        w.l1.run_l2(l2)
    return w
