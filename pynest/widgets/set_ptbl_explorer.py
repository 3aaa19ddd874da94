"""The H_SET_PARTITION_TABLE explorer of notebook 05: an L1 registers a PTCR you type.

Controls:

* **PTCR** -- the value the L1 puts in r4, typed in hex or decimal;
* **PRTS** -- the size field (``ptcr & 0x1f``) as a slider, kept in step with the box;
* **L1 memory** -- how much guest real memory the L1 VM has (one memslot from 0);
* **nesting** -- whether KVM_CAP_PPC_NESTED_HV is enabled for the VM.

Each try starts from the L1 as it is after ``kvmhv_nested_init`` (its own table
registered, two L2s already run, so L0 holds two nested guests), issues the hcall
through the model's dispatcher and shows the return code (name and value), the two
checks L0 made, where the table lies in L1 memory and L0's ``kvm->arch`` before and
after. Text that is not a number gets a message; the last picture stays.
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as w
from matplotlib.figure import Figure

from ..kvm.hcalls import H_CEDE
from ..kvm.host import L0, L1Vm
from ..kvm.l1 import L1
from ..kvm.nested import PRTS_MASK
from ..kvm.program import Hcall, Program
from ..mmu import constants as C
from ..scenarios.set_ptbl import SetPtblOutcome, set_ptbl_outcome, size_text
from ..viz.set_ptbl import draw_set_ptbl
from .base import Explorer, slider, text_box

_MB = 1 << 20
MEMORY_CHOICES = (("128 MiB", 128 * _MB), ("256 MiB", 256 * _MB), ("1 GiB", 1024 * _MB))
CODE_EA = 0x10000


def l1_with_two_l2s(mem_size: int, nesting: bool = True) -> tuple[L1Vm, int]:
    """A fresh L0 with one L1 VM of ``mem_size``; with nesting, the L1 has run
    ``kvmhv_nested_init`` and two L2s (each ran one H_CEDE), so L0 holds two nested
    guests. Returns the VM and the PTCR the L1 registered (0 without nesting)."""
    l0 = L0()
    vm = l0.create_l1(mem_size, nesting=nesting)
    if not nesting:
        return vm, 0
    l1 = L1(vm)
    l1.nested_init()
    for _ in range(2):
        l2 = l1.create_l2(16 * _MB)
        l1.l2_map(l2, CODE_EA, 0x40_0000, C.PAGE_4K, "x")
        l1.load_program(l2, Program((Hcall(H_CEDE),), entry=CODE_EA))
        l1.run_l2(l2)
    return vm, l1.ptcr


class SetPartitionTableExplorer(Explorer):
    """Type a PTCR for H_SET_PARTITION_TABLE; see the code and L0's state change."""

    def __init__(self, ptcr: int | None = None, mem_size: int = 256 * _MB) -> None:
        super().__init__()
        self._worlds: dict[tuple[int, bool], tuple[L1Vm, int]] = {}
        if mem_size not in dict((v, k) for k, v in MEMORY_CHOICES):
            mem_size = 256 * _MB
        vm, registered = self._world(mem_size, True)
        value = registered if ptcr is None else ptcr
        self.outcome: SetPtblOutcome | None = None
        self.figure: Figure | None = None
        style = {"description_width": "80px"}
        self.ptcr_text = text_box(f"{value:#x}", "PTCR (r4)", "320px", style)
        self.prts = slider(value & PRTS_MASK, 0, 31, "PRTS", style)
        self.memory = w.Dropdown(
            options=list(MEMORY_CHOICES),
            value=mem_size,
            description="L1 memory",
            style=style,
            layout=w.Layout(width="220px"),
        )
        self.nesting = w.Checkbox(value=True, description="nesting enabled (KVM_CAP_PPC_NESTED_HV)")
        self.watch(self.ptcr_text, handler=self._on_text)
        self.watch(self.prts, handler=self._on_prts)
        self.watch(self.memory, self.nesting)
        self.refresh()

    def controls(self) -> Sequence[w.Widget]:
        return [w.HBox([self.ptcr_text, self.prts]), w.HBox([self.memory, self.nesting])]

    # ------------------------------------------------------------------ worlds
    def _world(self, mem_size: int, nesting: bool) -> tuple[L1Vm, int]:
        key = (mem_size, nesting)
        if key not in self._worlds:
            self._worlds[key] = l1_with_two_l2s(mem_size, nesting)
        return self._worlds[key]

    # ------------------------------------------------------------------ handlers
    def _on_text(self, change: dict) -> None:
        if self._busy:
            return
        try:
            value = self.number(change["new"], "PTCR", kind="register")
        except ValueError as e:
            self.show_error(str(e))
            return
        self._busy = True
        try:
            self.prts.value = value & PRTS_MASK
        finally:
            self._busy = False
        self.refresh()

    def _on_prts(self, change: dict) -> None:
        if self._busy:
            return
        try:
            value = self.number(self.ptcr_text.value, "PTCR", kind="register")
        except ValueError:
            value = 0  # the box held garbage: start again from the slider alone
        value = (value & ~PRTS_MASK) | change["new"]
        self._busy = True
        try:
            self.ptcr_text.value = f"{value:#x}"
        finally:
            self._busy = False
        self.refresh()

    def issue(self, ptcr: int) -> bool:
        """Type ``ptcr`` into the box from Python (as a learner would) and redraw."""
        self.ptcr_text.value = f"{ptcr:#x}" if isinstance(ptcr, int) else str(ptcr)
        return not self.error

    # ------------------------------------------------------------------ model
    def update(self) -> list[Figure]:
        ptcr = self.number(self.ptcr_text.value, "PTCR", kind="register")
        vm, registered = self._world(self.memory.value, self.nesting.value)
        vm.l1_ptcr = registered  # every try starts from the table the L1 registered
        out = set_ptbl_outcome(vm, ptcr)
        vm.l1_ptcr = registered
        self.outcome = out
        reasons = out.reasons()
        lines = [out.summary(), *(f"- {r}" for r in reasons)]
        lines.append(
            f"L0 kvm->arch: l1_ptcr {out.ptcr_before:#x} -> {out.ptcr_after:#x}; "
            f"max_nested_lpid {out.max_nested_lpid_before} -> {out.max_nested_lpid_after}; "
            f"nested guests {list(out.nested_after)}; dropped {list(out.dropped) or 'none'}"
        )
        self.text = "\n".join(lines)
        mem = size_text(out.mem_size)
        status = f"{out.summary()} (L1 with {mem}). " + "; ".join(reasons) + "."
        self.set_status(status, ok=out.rc == 0)
        self.figure = draw_set_ptbl(out, fig=self.figure)
        return [self.figure]

    def render_text(self) -> str:
        """What the explorer shows, as text."""
        return self.text
