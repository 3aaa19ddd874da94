"""The H_ENTER_NESTED timeline explorer of notebook 07: run an L2 program, step through
what L0, the L1 and the L2 did.

Controls:

* **event** -- a slider over the events of the run (with a play button): the selected
  event is framed in the three swim lanes and explained under them, later events are
  faint;
* **program** -- one of the named L2 programs (:data:`pynest.scenarios.nested.
  PROGRAMS`), and **warm** -- record a second run, when L0's shadow tables already hold
  the pages;
* **LPCR** -- the value the L1 writes into ``hv_guest_state.lpcr`` (hex or decimal);
  the status line shows the LPCR the L2 really gets after L0's masking;
* **HDEC slice** -- timebase ticks the L1 grants each entry (``hdec_expiry`` = now +
  slice).

Every run starts from a fresh, seeded world, so the same controls always give the same
timeline; runs are cached, so stepping through events only redraws.
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as w
from matplotlib.figure import Figure

from ..kvm import guest_state as G
from ..kvm.host import L1_LPCR
from ..scenarios.nested import PROGRAMS, SLICE, EnterRun, run_program
from ..viz.timeline import describe_event, draw_timeline, lpcr_names, timeline_text
from .base import Explorer, slider, text_box


class EnterNestedTimelineExplorer(Explorer):
    """Run one of :data:`PROGRAMS` under H_ENTER_NESTED and step through its events."""

    def __init__(
        self,
        program: str = "store, load, cede",
        lpcr: int = L1_LPCR,
        slice_ticks: int = SLICE,
        *,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.seed = seed
        self.run: EnterRun | None = None
        self.figure: Figure | None = None
        self._cache: dict[tuple[str, int, int, bool], EnterRun] = {}
        style = {"description_width": "90px"}
        self.event = slider(0, 0, 1, "event", style, width="640px")
        self.play = w.Play(value=0, min=0, max=1, interval=700, description="play")
        w.jslink((self.play, "value"), (self.event, "value"))
        self.program = w.Dropdown(
            options=list(PROGRAMS),
            value=program,
            description="L2 program",
            style=style,
            layout=w.Layout(width="480px"),
        )
        self.warm = w.Checkbox(value=False, description="second run (shadow tables warm)")
        self.lpcr_text = text_box(f"{lpcr:#x}", "LPCR (L1)", "320px", style)
        self.slice_text = text_box(str(slice_ticks), "HDEC slice", "220px", style)
        self.watch(self.event)
        self.watch(self.program, self.warm, self.lpcr_text, self.slice_text, handler=self._rerun)
        self._new_run = True
        self.refresh()

    def controls(self) -> Sequence[w.Widget]:
        return [
            w.HBox([self.event, self.play]),
            w.HBox([self.program, self.warm]),
            w.HBox([self.lpcr_text, self.slice_text]),
        ]

    # ------------------------------------------------------------------ handlers
    def _rerun(self, _change: dict) -> None:
        self._new_run = True
        self.refresh()

    def _get_run(self) -> EnterRun:
        lpcr = self.number(self.lpcr_text.value, "LPCR", kind="register")
        ticks = self.number(self.slice_text.value, "HDEC slice", kind="count")
        if not 1 <= ticks <= 1_000_000:
            raise ValueError(f"HDEC slice {ticks} must be 1 .. 1000000 timebase ticks")
        key = (self.program.value, lpcr, ticks, bool(self.warm.value))
        if key not in self._cache:
            if len(self._cache) > 32:
                self._cache.clear()
            self._cache[key] = run_program(key[0], lpcr, ticks, seed=self.seed, warm=key[3])
        return self._cache[key]

    def _first_exit(self, run: EnterRun) -> int:
        return next((i for i, e in enumerate(run.events) if e.kind == "exit"), 0)

    # ------------------------------------------------------------------ model
    def update(self) -> list[Figure]:
        run = self._get_run()
        n = len(run.events)
        if run is not self.run:
            start = self._first_exit(run) if self._new_run else min(self.event.value, n - 1)
            self.event.max = self.play.max = max(n - 1, 1)
            self.event.value = start
        self._new_run = False
        self.run = run
        current = min(self.event.value, n - 1)
        refused = (run.lpcr_asked ^ run.l2_lpcr) & ~G.LPCR_L1_MASK
        title = (
            f"{run.program}{' (second run)' if run.warm else ''}: L2 LPCR {run.l2_lpcr:#x}, "
            f"HDEC slice {run.slice_ticks}"
        )
        self.figure = draw_timeline(run.events, current, title=title, fig=self.figure)
        lpcr_line = f"the L2 runs with LPCR {run.l2_lpcr:#x} ({lpcr_names(run.l2_lpcr)})"
        if refused:
            lpcr_line += (
                f"; L0 overrode the L1's {run.lpcr_asked:#x} in bits outside the mask: "
                f"{lpcr_names(refused)}"
            )
        status = (
            f"H_ENTER_NESTED returned {run.returns_text} → {run.stopped}; {lpcr_line}. "
            f"Event {current} of {n}: {describe_event(run.events[current]).splitlines()[0]}"
        )
        self.set_status(status)
        self.text = f"{status}\n{timeline_text(run.events, current)}"
        return [self.figure]

    def render_text(self) -> str:
        """What the explorer shows, as text."""
        return self.text
