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

The go-to box empties once its step is shown (and whenever the step moves), so typing
the same step again always goes there again.

The picture is :func:`pynest.viz.classroom.draw_classroom_step` of the current step; the
status line repeats the step's sentence in words.

**Presenter view** (``view="presenter"``, the default when Voila runs the notebook, as
``make present`` does): the controls, the step's sentence and the keys in a column
beside the presenter slide (``draw_classroom_step(..., presenter=True)``), which together
fit a 1280x720 screen. Keys (:data:`SHORTCUTS`: → / PageDown next, ← / PageUp back,
Home / End first / last, as a clicker sends them) reach the explorer through a hidden
text box (:attr:`ClassroomDemoExplorer.keys`) that the page's script of the
``pynest-present`` Voila template (``voila/templates/pynest-present``) writes the key
into; :meth:`ClassroomDemoExplorer.press` does the step.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence

import ipywidgets as w
from matplotlib.figure import Figure

from ..errors import ConfigError, FieldError
from ..scenarios.classroom import PTCR_STEP, STEP_KEYS, Story, classroom_story
from ..viz import style as S
from ..viz.classroom import SLIDE_HEIGHT, SLIDE_WIDTH, draw_classroom_step
from ..viz.pictures import render_svg
from .base import Explorer, in_kernel, show_pictures, text_box

_BIG = w.Layout(width="150px", height="48px")
PICTURE_PX = round(SLIDE_WIDTH * S.DPI)
PICTURE_HEIGHT_PX = round(SLIDE_HEIGHT * S.DPI)
"""CSS px of the presenter slide (920 x 685), shown at its own size; the column of
controls beside it is no taller."""
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


SHORTCUTS = {
    "ArrowRight": "next",
    "PageDown": "next",
    "ArrowLeft": "back",
    "PageUp": "back",
    "Home": "first",
    "End": "last",
}
"""The presenter's keys (``KeyboardEvent.key`` names) and what each does."""
_KEY_SHOWN = {"ArrowRight": "→", "ArrowLeft": "←"}
_HELP_GROUPS = (("next", "next step"), ("back", "back"), ("first last", "first / last"))
"""How the keys are told on screen: the actions of a group share a line."""
VIEWS = ("lab", "presenter")


def keys_help() -> list[str]:
    """The on-screen lines naming every key of :data:`SHORTCUTS`, one per group of
    actions (``→ / PageDown: next step``)."""
    lines = []
    for actions, words in _HELP_GROUPS:
        keys = [
            _KEY_SHOWN.get(k, k) for a in actions.split() for k, b in SHORTCUTS.items() if b == a
        ]
        lines.append(f"{' / '.join(keys)}: {words}")
    return lines


def in_voila() -> bool:
    """True in a kernel that Voila started (it names itself in ``SERVER_SOFTWARE``)."""
    return os.environ.get("SERVER_SOFTWARE", "").startswith("voila/")


class ClassroomDemoExplorer(Explorer):
    """Step through :func:`~pynest.scenarios.classroom.classroom_story` (seeded world).

    ``view`` is ``"lab"`` (controls above a full-width picture) or ``"presenter"``
    (controls beside the presenter slide); ``None`` picks the presenter view under Voila.
    """

    def __init__(
        self, seed: int = 0, step: int = 1, ptcr: int | None = None, view: str | None = None
    ) -> None:
        super().__init__()
        if view is None:
            view = "presenter" if in_voila() else "lab"
        if view not in VIEWS:
            raise ConfigError(f"view is one of {', '.join(VIEWS)}, got {view!r}")
        self.view = view
        self.presenter = view == "presenter"
        self.seed = seed
        self.story: Story = classroom_story(seed, ptcr)
        self.total = len(self.story)
        self.snapshot = self.story[0]
        self._svg: dict[tuple[int | None, int], str] = {}  # (PTCR, step) -> picture
        # (PTCR, step) -> the step's figure: a story is immutable, so is its drawing
        self._drawn: dict[tuple[int | None, int], Figure] = {}
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
        # the keys channel: the presenter page's script writes "<key> <count>" into it
        self.keys = w.Text(value="", continuous_update=True, layout=w.Layout(display="none"))
        self.keys.add_class("pynest-keys")
        for key in SHORTCUTS:
            self.keys.add_class(f"pynest-key-{key}")
        self.keys_line = w.HTML(
            f"<div style='font-size:15px;line-height:1.3;color:{S.BLACK}'><b>Keys</b><br>"
            + "<br>".join(html.escape(line) for line in keys_help())
            + "</div>"
        )
        self._emptying = False
        self.back.on_click(lambda _b: self.go(self.slider.value - 1))
        self.next.on_click(lambda _b: self.go(self.slider.value + 1))
        self.watch(self.slider)
        self.slider.observe(lambda _c: self._empty_goto(), names="value")
        self.watch(self.goto_text, handler=self._on_goto)
        self.watch(self.ptcr_text, handler=self._on_ptcr)
        self.watch(self.keys, handler=self._on_key)
        if self.presenter:
            self._lay_out_for_presenter()
        self.refresh()

    def controls(self) -> Sequence[w.Widget]:
        if self.presenter:
            return [
                self.of,
                w.HBox([self.back, self.next]),
                self.slider,
                self.goto_text,
                self.ptcr_text,
                self.keys_line,
            ]
        return [
            w.HBox([self.back, self.next, self.slider, self.of]),
            w.HBox([self.goto_text, self.ptcr_text]),
        ]

    def _lay_out_for_presenter(self) -> None:
        """Sizes for the column beside the slide: 290 px of controls, 920 px of picture."""
        for button in (self.back, self.next):
            button.layout = w.Layout(width="138px", height="48px")
        self.slider.layout = w.Layout(width="286px")
        self.slider.style.description_width = "44px"
        self.goto_text.layout = w.Layout(width="286px")
        self.ptcr_text.layout = w.Layout(width="286px")
        self.goto_text.style.description_width = "70px"
        self.ptcr_text.style.description_width = "124px"
        self.output.layout = w.Layout(width=f"{PICTURE_PX + 4}px", flex="0 0 auto")

    @property
    def widget(self) -> w.Box:
        """The explorer: controls above the picture, or (presenter) beside it."""
        if self._box is None:
            if self.presenter:
                column = w.VBox(
                    [*self.controls(), self.message, self.status],
                    layout=w.Layout(
                        width="290px",
                        flex="0 0 290px",
                        max_height=f"{PICTURE_HEIGHT_PX}px",
                        overflow="hidden auto",
                    ),
                )
                self._box = w.HBox(
                    [column, self.output, self.keys], layout=w.Layout(grid_gap="12px")
                )
                self._box.add_class("pynest-presenter")
            else:
                self._box = w.VBox(
                    [*self.controls(), self.message, self.status, self.output, self.keys]
                )
        return self._box

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

    def press(self, key: str) -> bool:
        """Do what the presenter's ``key`` (a :data:`SHORTCUTS` name) does; False when the
        key means nothing here or there is no step to go to (the first, the last)."""
        k = self.slider.value
        target = {"next": k + 1, "back": k - 1, "first": 1, "last": self.total}.get(
            SHORTCUTS.get(key, "")
        )
        if target is None or target == k or not 1 <= target <= self.total:
            return False
        return self.go(target)

    def _on_key(self, change: dict) -> None:
        key = str(change["new"]).partition(" ")[0]
        if key:
            self.press(key)

    def _empty_goto(self) -> None:
        """Empty the go-to box (its text was used, or the step moved on)."""
        if self.goto_text.value:
            self._emptying = True
            try:
                self.goto_text.value = ""
            finally:
                self._emptying = False

    def _on_goto(self, change: dict) -> None:
        if self._emptying:
            return
        text = str(change["new"]).strip()
        if not text:  # an emptied box takes back its complaint
            if self.error:
                self.refresh()
            return
        key = text.lower().replace(" ", "-")
        key = _ALIASES.get(key, key)
        if key in STEP_KEYS:
            step = STEP_KEYS.index(key) + 1
        else:
            try:
                step = self.number(text, "step number", bits=16, kind="count")
            except FieldError as e:
                self.show_error(
                    f"{e}; or type a step name: {', '.join(sorted(set(_ALIASES) | {'fault'}))}"
                )
                return
        if self.go(step):
            self._empty_goto()  # typing the same step again goes there again

    def _on_ptcr(self, change: dict) -> None:
        try:
            value = self.number(change["new"], "PTCR", kind="register")
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
        title = html.escape(snap.title)
        if self.presenter:
            self.of.value = (
                f"<div style='font-size:20px;line-height:1.25'><b>step {k} of {self.total}</b>"
                f"<br>{title}</div>"
            )
        else:
            self.of.value = (
                f"<span style='font-size:20px'><b>step {k} of {self.total}</b> · {title}</span>"
            )
        self.text = snap.text()
        # the presenter's column names the step just above its sentence
        self.set_status(
            snap.sentence if self.presenter else f"Step {k} of {self.total}: {snap.sentence}"
        )
        key = (self.story.new_ptcr, k)
        fig = self._drawn.get(key)
        if fig is None:
            if len(self._drawn) >= 2 * self.total:  # keeps two stories' steps
                self._drawn.pop(next(iter(self._drawn)))
            fig = self._drawn[key] = draw_classroom_step(
                snap, prev, total=self.total, keys=STEP_KEYS, presenter=self.presenter
            )
        return [fig]

    # the presenter's column: its texts at projector size (17 px, above the slide's 16)
    def set_status(self, text: str, ok: bool = True) -> None:
        if not self.presenter:
            return super().set_status(text, ok)
        colour = S.BLACK if ok else S.VERMILLION
        self.status.value = (
            f"<div style='font-size:17px;line-height:1.35;color:{colour}'>{html.escape(text)}</div>"
        )

    def show_error(self, text: str) -> None:
        super().show_error(text)
        if self.presenter:
            self.message.value = (
                f"<div style='font-size:17px;line-height:1.35;color:{S.VERMILLION}'>"
                f"<b>✘</b> {html.escape(text)}</div>"
            )

    def _show(self, figures: list[Figure]) -> None:
        """As the base class, but each step's SVG is kept by its step: a presenter going
        back and forth gets the picture at once, without even a fingerprint."""
        if not in_kernel():
            return
        key = (self.story.new_ptcr, self.slider.value)
        if key not in self._svg:
            if len(self._svg) >= 48:  # many typed PTCRs: start again
                self._svg.clear()
            self._svg[key] = render_svg(figures[0])
        show_pictures(self.output, [self._svg[key]])

    def render_text(self) -> str:
        """What the explorer shows, as text."""
        return self.text
