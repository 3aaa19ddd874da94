"""The H_COPY_TOFROM_GUEST explorer of notebook 10: an L1 reads its L2's memory by EA.

Controls:

* **L2** -- which of the L1's guests (or an lpid the L1 has no guest for);
* **examples** -- named addresses that set the EA: a data page the L2 has touched, its
  code (what an L1 reads to emulate a faulting instruction), a page it maps but never
  touched, an EA it does not map, an EA with quadrant bits (it names the typed EA's
  case, or says the EA is your own);
* **EA** -- the L2 effective address, typed in hex or decimal (r6);
* **bytes** -- n (r9), 1 to 256.

Every change makes the hcall (a load: r7 = an L1 buffer, r8 = 0) in the world of
:func:`pynest.scenarios.nested.copy_world` and draws the stages the address goes
through, the shadow path the hcall uses, the return code and the bytes. L0 runs Linux
5.0 there (``l0_kernel``), the first release with the hcall; ``l0_kernel="4.20"`` shows
every call answered H_FUNCTION by userspace (versions row ``h-copy-tofrom-guest``).
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as w
from matplotlib.figure import Figure

from ..kvm.hcalls import H_COPY_TOFROM_GUEST, rc_name
from ..scenarios.nested import CODE_EA, DATA_EA, copy_world
from ..viz.copy_view import CopyStages, copy_stages, copy_text, draw_copy
from .base import Explorer, slider, text_box
from .menus import CUSTOM, follow, with_custom

_NO_L2 = 9  # an lpid the L1 has no guest for


class CopyToFromGuestExplorer(Explorer):
    """Make H_COPY_TOFROM_GUEST loads from an L2 of :func:`copy_world` (seeded)."""

    def __init__(self, world=None, *, seed: int = 0, l0_kernel: str = "5.0") -> None:
        super().__init__()
        self.world = copy_world(seed, l0_kernel=l0_kernel) if world is None else world
        l1 = self.world.l1
        self.buf = l1.alloc.alloc(4096)  # one L1 buffer (r7) for every copy
        self.stages: CopyStages | None = None
        style = {"description_width": "80px"}
        first = self.world.l2s[0]
        options = [(f"L2 lpid {l2.l1_lpid} (PID {l2.pid})", l2.l1_lpid) for l2 in self.world.l2s]
        options.append((f"lpid {_NO_L2}: no such L2", _NO_L2))
        self.l2 = w.Dropdown(options=options, value=first.l1_lpid, description="L2", style=style)
        self.example = w.Dropdown(
            options=self._examples(first.l1_lpid),
            description="examples",
            style=style,
            layout=w.Layout(width="520px"),
        )
        self.ea_text = text_box(f"{self.example.value:#x}", "EA (r6)", "340px", style)
        self.length = slider(16, 1, 256, "bytes (r9)", style, width="520px")
        self.watch(self.l2, handler=self._on_l2)
        self.watch(self.example, handler=self._on_example)
        self.watch(self.ea_text, self.length)
        self.refresh()

    def _examples(self, lpid: int) -> list[tuple[str, int]]:
        eas = self.world.data.get(lpid) or self.world.data[self.world.l2s[0].l1_lpid]
        return with_custom(
            [
                ("a data page the L2 stored to", eas[0]),
                ("the L2's code (an instruction to emulate)", CODE_EA),
                ("a page the L2 maps but never touched", eas[2]),
                ("an EA the L2 does not map", DATA_EA + (8 << 20)),
                ("the same data page as a quadrant-3 EA", eas[0] | 3 << 62),
            ]
        )

    def controls(self) -> Sequence[w.Widget]:
        return [w.HBox([self.l2, self.example]), self.ea_text, self.length]

    # ------------------------------------------------------------------ handlers
    def _on_l2(self, _change: dict) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            self.example.options = self._examples(self.l2.value)
            self.example.value = self.example.options[0][1]
            self.ea_text.value = f"{self.example.value:#x}"
        finally:
            self._busy = False
        self.refresh()

    def _on_example(self, change: dict) -> None:
        if self._busy or change["new"] in (None, CUSTOM):
            return
        self._busy = True
        try:
            self.ea_text.value = f"{change['new']:#x}"
        finally:
            self._busy = False
        self.refresh()

    # ------------------------------------------------------------------ model
    def update(self) -> list[Figure]:
        try:
            typed: int | None = self.number(self.ea_text.value, "EA", kind="address")
        except ValueError:
            typed = None
        follow(self.example, typed)
        ea = self.number(self.ea_text.value, "EA", kind="address")
        n = int(self.length.value)
        lpid = self.l2.value
        l1 = self.world.l1
        l2 = l1.l2s.get(lpid)
        pid = l2.pid if l2 is not None else 0
        rc = l1.hcall(H_COPY_TOFROM_GUEST, lpid, pid, ea, self.buf, 0, n)
        data = (l1.vm.read_guest(self.buf, n) or b"") if rc == 0 else b""
        s = copy_stages(l1, l2, ea, n, rc, data, lpid=lpid)
        self.stages = s
        self.text = copy_text(s)
        if s.ok:
            self.set_status(
                f"{rc_name(rc)}: {n} bytes of L2 {lpid} at EA {ea:#x} copied into the L1 "
                f"buffer at {self.buf:#x}, through shadow LPID {s.shadow_lpid}"
            )
        else:
            why = f": {s.no_hcall_text()}" if not s.hcall_exists else ""
            self.set_status(f"H_COPY_TOFROM_GUEST returned {rc_name(rc)} ({rc}){why}", ok=False)
        return [draw_copy(s)]

    def render_text(self) -> str:
        """What the explorer shows, as text."""
        return self.text
