"""The PTCR explorer of notebook 02: edit the PTCR bit by bit, see the partition table.

Controls:

* **PTCR** -- the whole register, typed in hex or decimal;
* **PATB** (bits 4:51) and **PATS** (bits 59:63) -- the two fields, kept in step with
  the PTCR box both ways;
* **flip bit** -- an ISA bit number (0 = most significant) and a button that inverts
  that bit, to practise MSB-0 numbering;
* **LPID** -- the partition whose entry the MMU should fetch.

Below them: the PTCR drawn bit by bit, and the partition table that PTCR names, drawn as
rows indexed by LPID with the chosen LPID framed. The status line says what the model's
MMU does with this PTCR for a translation by that LPID (an address, or the HDSI a bad
PTCR or LPID causes). Values the hardware would reject are explained, never raised.
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as w
from matplotlib.figure import Figure

from ..mmu import constants as C
from ..mmu.formats import Ptcr
from ..mmu.xlate import CpuState, Translation, translate
from ..scenarios import radix_reference
from ..viz.tables import draw_partition_table, draw_ptcr, read_partition_table
from .base import Explorer, slider, text_box


def _probe(world, ptcr: int, lpid: int) -> tuple[str, int, CpuState]:
    """A context of ``world`` that uses ``lpid`` (its PTCR replaced), and an EA to try.

    Falls back to a guest kernel of that LPID (or the hypervisor for LPID 0) loading
    from quadrant 3, when the world has no such context.
    """
    for name, cpu in world.contexts.items():
        hv = cpu.hv
        if (lpid == 0 and hv and cpu.lpidr == 0) or (lpid and not hv and cpu.lpidr == lpid):
            pages = world.mappings.get(name) or [(0, 0, 0, "")]
            return name, pages[0][0] + 0xABC, cpu.replace(ptcr=ptcr)
    if lpid == 0:
        return "hypervisor", 0xC000000000000ABC, CpuState(ptcr=ptcr)
    guest = CpuState(ptcr=ptcr, lpidr=lpid, msr=C.MSR_GUEST_KERNEL)
    return f"guest LPID {lpid}", 0xC000000000000ABC, guest


class PtcrExplorer(Explorer):
    """Edit a PTCR and pick an LPID in an MMU world (default: the reference world)."""

    def __init__(self, world=None, ptcr: int | None = None, lpid: int = 7) -> None:
        super().__init__()
        if world is None:
            world = radix_reference()
        self.world = world
        first_cpu = next(iter(world.contexts.values()))
        value = first_cpu.ptcr if ptcr is None else ptcr
        self.ptcr_value = value
        self.view = None
        self.translation: Translation | None = None
        p = Ptcr.decode(value)
        style = {"description_width": "70px"}
        self.ptcr_text = text_box(f"{value:#x}", "PTCR", "300px", style)
        self.patb_text = text_box(f"{p.patb:#x}", "PATB", "300px", style)
        self.pats = slider(p.pats, 0, 31, "PATS", style)
        self.flip_bit = w.BoundedIntText(
            value=59,
            min=0,
            max=63,
            description="ISA bit",
            style=style,
            layout=w.Layout(width="160px"),
        )
        self.flip_button = w.Button(description="flip that bit")
        self.lpid_text = text_box(str(lpid), "LPID", "200px", style)
        self.watch(self.ptcr_text, handler=self._on_ptcr_text)
        self.watch(self.patb_text, self.pats, handler=self._on_field)
        self.watch(self.lpid_text)
        self.flip_button.on_click(lambda _b: self.flip(self.flip_bit.value))
        self.refresh()

    def controls(self) -> Sequence[w.Widget]:
        return [
            w.HBox([self.ptcr_text, self.lpid_text]),
            w.HBox([self.patb_text, self.pats]),
            w.HBox([self.flip_bit, self.flip_button]),
        ]

    # ------------------------------------------------------------------ handlers
    def _set_fields(self, value: int) -> None:
        """Show ``value`` in all three boxes without re-triggering the handlers."""
        p = Ptcr.decode(value)
        self._busy = True
        try:
            self.ptcr_text.value = f"{value:#x}"
            self.patb_text.value = f"{p.patb:#x}"
            self.pats.value = p.pats
        finally:
            self._busy = False

    def _on_ptcr_text(self, change: dict) -> None:
        if self._busy:
            return
        try:
            value = self.number(change["new"], "PTCR", kind="register")
        except ValueError as e:
            self.show_error(str(e))
            return
        self.ptcr_value = value
        self._set_fields(value)
        self.refresh()

    def _on_field(self, change: dict) -> None:
        if self._busy:
            return
        try:
            patb = self.number(self.patb_text.value, "PATB", kind="address")
        except ValueError as e:
            self.show_error(str(e))
            return
        if patb & ~C.PTCR_PATB:
            low = patb & 0xFFF
            self.show_error(
                f"PATB {patb:#x} does not fit bits 4:51 of the PTCR"
                + (
                    f": its low 12 bits ({low:#x}) must be zero, because PATB names a 4 KiB-"
                    "aligned address"
                    if low
                    else ": it is wider than 60 bits"
                )
                + f" (the mask is {C.PTCR_PATB:#018x})"
            )
            return
        value = (self.ptcr_value & ~(C.PTCR_PATB | C.PTCR_PATS)) | patb | self.pats.value
        self.ptcr_value = value
        self._set_fields(value)
        self.refresh()

    def flip(self, bit: int) -> bool:
        """Invert ISA bit ``bit`` (0 = most significant) of the PTCR and redraw."""
        if isinstance(bit, bool) or not isinstance(bit, int) or not 0 <= bit <= 63:
            self.show_error(f"ISA bit numbers run from 0 (most significant) to 63; got {bit!r}")
            return False
        self.ptcr_value ^= 1 << (63 - bit)
        self._set_fields(self.ptcr_value)
        return self.refresh()

    # ------------------------------------------------------------------ model
    def update(self) -> list[Figure]:
        value = self.number(self.ptcr_text.value, "PTCR", kind="register")
        self.number(self.patb_text.value, "PATB", kind="address")  # a complaint stays
        lpid = self.number(self.lpid_text.value, "LPID", bits=32, kind="id")
        self.ptcr_value = value
        view = read_partition_table(self.world.mem, value, lpid)
        self.view = view
        p = view.decoded
        who, ea, cpu = _probe(self.world, value, lpid)
        t = translate(self.world.mem, cpu, ea, "load", update_rc=False)
        self.translation = t
        pate = [s for s in t.steps if s.tree == "partition-table"]
        lines = [str(p)]
        if t.fault is not None and not pate:
            status = (
                f"{who}: a load of {ea:#x} takes an {t.fault.interrupt} "
                f"({' | '.join(t.fault.flags)}) before any table is read: "
                f"{t.fault.reason}"
            )
            ok = False
        else:
            where = f"the MMU reads PATE[{lpid}] at {pate[0].hra:#x}"
            if t.fault is None:
                status = f"{who}: {where}; a load of {ea:#x} reaches real address {t.ra:#x}"
                ok = True
            else:
                status = (
                    f"{who}: {where}; a load of {ea:#x} then takes an "
                    f"{t.fault.interrupt}: {t.fault.reason}"
                )
                ok = False
        lines.append(status)
        lines += [f"LPID {r.lpid} @ {r.addr:#x}: {r.meaning}" for r in view.rows]
        lines += [f"problem: {text}" for text in view.problems]
        self.text = "\n".join(lines)
        self.set_status(status, ok)
        old = self.figures if len(self.figures) == 2 else (None, None)
        return [draw_ptcr(value, fig=old[0]), draw_partition_table(view, fig=old[1])]

    def render_text(self) -> str:
        """What the explorer shows, as text."""
        return self.text
