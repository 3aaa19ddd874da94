"""The invalidation explorer of notebook 09: set the operands, see what goes.

Controls, top to bottom:

* **issued by** -- the L1 (H_TLB_INVALIDATE, LPID = the L1's lpid of an L2) or L0 (a
  hardware tlbie on its own TLB, LPID = a real/shadow LPID);
* **RIC**, **PRS**, **R** -- the instruction fields; **IS**, **AP** -- RB's scope and
  page size; **LPID** (slider) and **PID** -- RS; **EPN** -- RB's page address, typed;
* the figure: L0's TLB entries and shadow PTEs as they were after both L2 ran, the ones
  this invalidation removes marked; the status line gives the H_* return code.

Every change issues the invalidation again on a fresh copy of the same world
(:class:`pynest.scenarios.tlbie.TlbieLab`), so nothing accumulates.
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as w
from matplotlib.figure import Figure

from ..scenarios.tlbie import AP_NAMES, IS_NAMES, RIC_NAMES, TlbieLab, TlbieOp, TlbieOutcome, lab
from ..viz.tlb_view import draw_tlbie, tlbie_text
from .base import Explorer, slider, text_box


class TlbieExplorer(Explorer):
    """Explore tlbie / H_TLB_INVALIDATE on a two-L2 world (see the module docstring)."""

    def __init__(self, seed: int = 0, world: TlbieLab | None = None) -> None:
        super().__init__()
        self.lab = world if world is not None else lab(seed)
        self.outcome: TlbieOutcome | None = None
        self.figure: Figure | None = None
        style = {"description_width": "80px"}
        toggles = {**style, "button_width": "auto"}  # whole labels at 1280 px
        first_l1, _shadow, first_pid = self.lab.l2s[0]
        self.who = w.ToggleButtons(
            options=[("L1: H_TLB_INVALIDATE", "L1"), ("L0: tlbie", "L0")],
            value="L1",
            description="issued by",
            style=toggles,
        )
        self.ric = w.Dropdown(
            options=[(f"{k}: {v}", k) for k, v in RIC_NAMES.items()],
            value=0,
            description="RIC",
            style=style,
            layout=w.Layout(width="330px"),
        )
        narrow = {"description_width": "40px", "button_width": "48px"}
        self.prs = w.ToggleButtons(options=[0, 1], value=0, description="PRS", style=narrow)
        self.r = w.ToggleButtons(options=[0, 1], value=1, description="R", style=narrow)
        self.is_ = w.Dropdown(
            options=[(f"{k}: {v}", k) for k, v in IS_NAMES.items()],
            value=2,
            description="IS",
            style=style,
        )
        self.ap = w.Dropdown(
            options=[(f"{k}: {v}", k) for k, v in AP_NAMES.items()] + [("3: none", 3)],
            value=5,
            description="AP",
            style=style,
        )
        self.lpid = slider(first_l1, 0, 7, "LPID", style)
        pids = sorted({0} | {pid for _l, _s, pid in self.lab.l2s})
        self.pid = w.Dropdown(options=pids, value=0, description="PID", style=style)
        gpa = self.lab.shadow[0].gpa if self.lab.shadow else 0
        self.epn = text_box(f"{gpa:#x}", "EPN", "300px", style)
        del first_pid
        self.watch(self.who, self.ric, self.prs, self.r, self.is_, self.ap, self.lpid, self.pid)
        self.watch(self.epn)
        self.refresh()

    def controls(self) -> Sequence[w.Widget]:
        return [
            self.who,
            w.HBox([self.ric, self.prs, self.r]),
            w.HBox([self.is_, self.ap]),
            w.HBox([self.lpid, self.pid]),
            self.epn,
        ]

    def op(self) -> TlbieOp:
        """The invalidation the controls describe (FieldError for a bad EPN)."""
        epn = self.number(self.epn.value, "EPN", kind="address")
        return TlbieOp(
            self.who.value,
            self.ric.value,
            self.prs.value,
            self.r.value,
            self.is_.value,
            self.ap.value,
            self.lpid.value,
            self.pid.value,
            epn,
        )

    def update(self) -> list[Figure]:
        out = self.lab.issue(self.op())
        self.outcome = out
        self.figure = draw_tlbie(out, fig=self.figure)
        self.text = tlbie_text(out)
        if out.rc is not None:
            head = f"L0 returns {out.rc_name} ({out.rc})"
        elif out.invalid:
            head = f"invalid form: {out.invalid}"
        else:
            head = "tlbie done"
        refused = out.rc is not None and out.rc != 0 or out.invalid is not None
        self.set_status(
            f"{head}: removed {len(out.removed_tlb)} TLB entries and "
            f"{len(out.removed_shadow)} shadow PTEs",
            ok=not refused,
        )
        return [self.figure]

    def render_text(self) -> str:
        """What the explorer shows, as text."""
        return self.text
