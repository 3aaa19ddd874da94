"""The classroom demo of notebook 11: one explorer drives the whole nested-HV story.

Controls, sized for a presenter:

* **◀ Back** and **Next ▶** -- one step of the story back or forward;
* **step** -- a slider "step k of N": any step at once (moving it changes the picture);
* **go to** -- a text box: a step number (``7``) or a step name (``fault``, ``PTCR``...);
* **PTCR** -- what the L1 passes to H_SET_PARTITION_TABLE at the "change the PTCR" step
  (hex or decimal). The story is recomputed from the model with that value: an invalid
  PTCR is refused by L0 (H_PARAMETER), an empty table makes the next RIC=2 flush remove
  the nested guests, the same table keeps them. Text that is not a number gives a
  message, never a traceback.

The picture is :func:`pynest.viz.classroom.draw_classroom_step` of the current step; the
status line repeats the step's sentence in words.
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as w
from matplotlib.figure import Figure

from ..errors import FieldError
from ..scenarios.classroom import PTCR_STEP, STEP_KEYS, Story, classroom_story
from ..viz.classroom import draw_classroom_step
from .base import Explorer, in_kernel, png_bytes, text_box

_BIG = w.Layout(width="150px", height="48px")
_ALIASES = {
    "ptcr": "set-ptcr",
    "tlbie": "invalidate",
    "flush": "flush-all",
    "exit": "nested-exit",
    "release": "release-all",
    "init": "nested-init",
    "l2s": "create-l2s",
    "l1": "create-l1",
}


class ClassroomDemoExplorer(Explorer):
    """Step through :func:`~pynest.scenarios.classroom.classroom_story` (seeded world)."""

    def __init__(self, seed: int = 0, step: int = 1, ptcr: int | None = None) -> None:
        super().__init__()
        self.seed = seed
        self.story: Story = classroom_story(seed, ptcr)
        self.total = len(self.story)
        self.snapshot = self.story[0]
        self._png: dict[tuple[int | None, int], bytes] = {}  # (PTCR, step) -> picture
        style = {"description_width": "90px", "font_size": "18px"}
        self.back = w.Button(description="◀ Back", layout=_BIG, style={"font_size": "18px"})
        self.next = w.Button(
            description="Next ▶",
            button_style="primary",
            layout=_BIG,
            style={"font_size": "18px"},
        )
        self.slider = w.IntSlider(
            value=min(max(1, step), self.total),
            min=1,
            max=self.total,
            description="step",
            readout_format="d",
            continuous_update=False,
            style={"description_width": "60px", "handle_color": "#E69F00"},
            layout=w.Layout(width="520px"),
        )
        self.of = w.HTML("")
        self.goto_text = text_box("", "go to", "300px", style, placeholder="7 or fault")
        self.ptcr_text = text_box(
            f"{self.story.default_ptcr if ptcr is None else ptcr:#x}",
            "PTCR (step 9)",
            "360px",
            {"description_width": "120px", "font_size": "18px"},
        )
        self.back.on_click(lambda _b: self.go(self.slider.value - 1))
        self.next.on_click(lambda _b: self.go(self.slider.value + 1))
        self.watch(self.slider)
        self.watch(self.goto_text, handler=self._on_goto)
        self.watch(self.ptcr_text, handler=self._on_ptcr)
        self.refresh()

    def controls(self) -> Sequence[w.Widget]:
        return [
            w.HBox([self.back, self.next, self.slider, self.of]),
            w.HBox([self.goto_text, self.ptcr_text]),
        ]

    # ------------------------------------------------------------------ handlers
    def go(self, step: int) -> bool:
        """Show step ``step`` (1-based); out of range gives a message."""
        if isinstance(step, bool) or not isinstance(step, int):
            self.show_error(f"a step is a whole number from 1 to {self.total}, got {step!r}")
            return False
        if not 1 <= step <= self.total:
            self.show_error(
                f"there is no step {step}: the story has steps 1 to {self.total}"
                + (" (this is the first)" if step < 1 else " (this is the last)")
            )
            return False
        if step == self.slider.value:
            return self.refresh()
        self.slider.value = step  # the slider's observer redraws
        return self.error == ""

    def _on_goto(self, change: dict) -> None:
        text = str(change["new"]).strip()
        if not text:  # an emptied box takes back its complaint
            if self.error:
                self.refresh()
            return
        key = text.lower().replace(" ", "-")
        key = _ALIASES.get(key, key)
        if key in STEP_KEYS:
            self.go(STEP_KEYS.index(key) + 1)
            return
        try:
            step = self.number(text, "step number", bits=16)
        except FieldError as e:
            self.show_error(
                f"{e}; or type a step name: {', '.join(sorted(set(_ALIASES) | {'fault'}))}"
            )
            return
        self.go(step)

    def _on_ptcr(self, change: dict) -> None:
        try:
            value = self.number(change["new"], "PTCR")
        except FieldError as e:
            self.show_error(str(e))
            return
        self.set_ptcr(value)

    def set_ptcr(self, value: int | None) -> bool:
        """Rebuild the story with ``value`` as the step-9 PTCR and show that step."""
        try:
            self.story = classroom_story(self.seed, value)
        except FieldError as e:
            self.show_error(str(e))
            return False
        if self.slider.value != PTCR_STEP + 1:
            return self.go(PTCR_STEP + 1)
        return self.refresh()

    # ------------------------------------------------------------------ model
    def update(self) -> list[Figure]:
        k = self.slider.value
        snap = self.story[k - 1]
        prev = self.story[k - 2] if k > 1 else None
        self.snapshot = snap
        self.back.disabled = k <= 1
        self.next.disabled = k >= self.total
        self.of.value = (
            f"<span style='font-size:20px'><b>step {k} of {self.total}</b> · {snap.title}</span>"
        )
        self.text = snap.text()
        self.set_status(f"Step {k} of {self.total}: {snap.sentence}")
        return [draw_classroom_step(snap, prev, total=self.total, keys=STEP_KEYS)]

    def _show(self, figures: list[Figure]) -> None:
        """As the base class, but each step's PNG is rendered once: a presenter going
        back and forth gets the picture at once (rendering one takes ~0.5 s)."""
        if not in_kernel():
            return
        from IPython.display import Image, clear_output, display

        key = (self.story.new_ptcr, self.slider.value)
        if key not in self._png:
            if len(self._png) >= 48:  # many typed PTCRs: start again
                self._png.clear()
            self._png[key] = png_bytes(figures[0])
        with self.output:
            clear_output(wait=True)
            display(Image(data=self._png[key]))

    def render_text(self) -> str:
        """What the explorer shows, as text."""
        return self.text
