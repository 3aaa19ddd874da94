"""The radix-walk explorer of notebook 01: type or slide an EA, watch the walk.

Controls, top to bottom:

* **examples** -- named cases (a 4K page, a read-only 2M page, an unmapped neighbour,
  a guest's 2-D walk...) that set the other controls; it names the case the controls
  hold, or says they hold your own values (:mod:`pynest.widgets.menus`);
* **context** -- which CPU translates (a hypervisor process, a guest...), from the
  world's contexts; **access** -- load, store or instruction fetch;
* **EA** -- typed in hex or decimal; **slide** -- moves the EA page by page (4 KiB
  steps) inside the 4 MiB block that holds it, across two 2M regions;
* **steps** -- how many rows of the walk to light up, with a play button, so a class
  can follow the walk one table at a time.

The translation is the debugger's view (``update_rc=False``): exploring never sets R/C
bits, so the world stays as it was built and every run shows the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as w
from matplotlib.figure import Figure

from ..mmu import constants as C
from ..mmu.xlate import Translation, translate
from ..scenarios import radix_reference
from ..viz.walk import draw_walk, walk_rows, walk_text
from .base import Explorer, slider, text_box
from .menus import CUSTOM, follow, with_custom

_BLOCK = 1 << 22  # the slider moves inside one 4 MiB block: 1024 pages of 4 KiB
_ROWS = 7  # PATE, PRTE, L0..L3, result

REFERENCE_EXAMPLES: tuple[tuple[str, str, int, str], ...] = (
    ("4K page (worked example 1)", "hv", 0x10000ABC, "load"),
    ("2M read-only page, load (example 2)", "hv", 0x10212345, "load"),
    ("2M read-only page, store: DSI", "hv", 0x10212345, "store"),
    ("unmapped 4K neighbour: DSI at level 3", "hv", 0x10001ABC, "load"),
    ("quadrant 3, PID 0 has no tree: BADCONFIG", "hv", 0xC000000010000ABC, "load"),
    ("EA bit 11 set: segment interrupt", "hv", 0x0010000000000000, "load"),
    ("fetch from a page without x: ISI", "hv", 0x10000AB0, "fetch"),
    ("guest: the 2-D walk (example 4)", "guest", 0x12345678, "load"),
    ("guest: unmapped page, DSI after 22 reads", "guest", 0x12346678, "load"),
)
"""Cases of the hand-checked reference world (``pynest.scenarios.radix_reference``)."""


def _examples_for(world) -> list[tuple[str, str, int, str]]:
    if getattr(world, "name", "") == "radix-reference":
        return list(REFERENCE_EXAMPLES)
    out = []
    for ctx, pages in sorted(world.mappings.items()):
        for ea, _ra, size, perms in pages:
            out.append((f"{ctx}: {size >> 10} KiB page at {ea:#x} ({perms})", ctx, ea, "load"))
    return out


class WalkExplorer(Explorer):
    """Explore radix walks in an MMU world (default: the hand-checked reference world).

    ``world`` is a :class:`pynest.scenarios.MmuWorld`; ``example`` the index of the
    example to start with.
    """

    def __init__(self, world=None, example: int = 0) -> None:
        super().__init__()
        if world is None:
            world = radix_reference()
        self.world = world
        self.examples = _examples_for(world)
        self.translation: Translation | None = None
        self.figure: Figure | None = None
        first = (
            self.examples[example] if self.examples else ("", next(iter(world.contexts)), 0, "load")
        )
        style = {"description_width": "90px"}
        wide = w.Layout(width="560px")
        self.example = w.Dropdown(
            options=with_custom([(label, i) for i, (label, *_rest) in enumerate(self.examples)]),
            value=example if self.examples else CUSTOM,
            description="examples",
            style=style,
            layout=wide,
        )
        self.context = w.Dropdown(
            options=list(world.contexts), value=first[1], description="context", style=style
        )
        self.access = w.ToggleButtons(
            options=["load", "store", "fetch"], value=first[3], description="access", style=style
        )
        self.ea_text = text_box(f"{first[2]:#x}", "EA", "360px", style)
        self.slide = slider(
            0,
            0,
            _BLOCK // C.PAGE_4K - 1,
            "slide (4K pages)",
            {"description_width": "120px"},
            width="560px",
        )
        self.steps = w.IntSlider(
            value=_ROWS,
            min=0,
            max=_ROWS,
            description="steps shown",
            style=style,
            layout=w.Layout(width="400px"),
        )
        self.play = w.Play(value=_ROWS, min=0, max=_ROWS, interval=900, description="play")
        w.link((self.play, "value"), (self.steps, "value"))
        self._sync_slider(first[2])
        self.watch(self.example, handler=self._on_example)
        self.watch(self.context, self.access, self.steps)
        self.watch(self.ea_text, handler=self._on_ea_text)
        self.watch(self.slide, handler=self._on_slide)
        self.refresh()

    def controls(self) -> Sequence[w.Widget]:
        return [
            self.example,
            w.HBox([self.context, self.access]),
            self.ea_text,
            self.slide,
            w.HBox([self.steps, self.play]),
        ]

    # ------------------------------------------------------------------ handlers
    def _sync_slider(self, ea: int) -> None:
        self._busy = True
        try:
            self.slide.value = (ea % _BLOCK) // C.PAGE_4K
        finally:
            self._busy = False

    def _on_example(self, change: dict) -> None:
        if self._busy or change["new"] in (None, CUSTOM):
            return
        _label, ctx, ea, access = self.examples[change["new"]]
        self._busy = True
        try:
            self.context.value = ctx
            self.access.value = access
            self.ea_text.value = f"{ea:#x}"
            self.slide.value = (ea % _BLOCK) // C.PAGE_4K
        finally:
            self._busy = False
        self.refresh()

    def _on_ea_text(self, change: dict) -> None:
        if self._busy:
            return
        try:
            ea = self.number(change["new"], "EA", kind="address")
        except ValueError:
            self.refresh()  # says why, and the menu stops naming an example
            return
        self._sync_slider(ea)
        self.refresh()

    def _on_slide(self, change: dict) -> None:
        if self._busy:
            return
        try:
            ea = self.number(self.ea_text.value, "EA", kind="address")
        except ValueError:
            ea = 0
        new = ea - ea % _BLOCK + change["new"] * C.PAGE_4K + ea % C.PAGE_4K
        self._busy = True
        try:
            self.ea_text.value = f"{new:#x}"
        finally:
            self._busy = False
        self.refresh()

    # ------------------------------------------------------------------ model
    def _follow_example(self) -> None:
        try:
            ea: int | None = self.number(self.ea_text.value, "EA", kind="address")
        except ValueError:
            ea = None
        held = (self.context.value, ea, self.access.value)
        match = next(
            (i for i, (_label, *case) in enumerate(self.examples) if tuple(case) == held), CUSTOM
        )
        follow(self.example, match)

    def update(self) -> list[Figure]:
        self._follow_example()
        ea = self.number(self.ea_text.value, "EA", kind="address")
        cpu = self.world.contexts[self.context.value]
        t = translate(self.world.mem, cpu, ea, self.access.value, update_rc=False)
        self.translation = t
        upto = None if self.steps.value >= _ROWS else self.steps.value
        self.figure = draw_walk(t, upto, fig=self.figure)
        self.text = walk_text(t, upto)
        if t.fault is None:
            self.set_status(
                f"{t.access} of {ea:#x} → real address {t.ra:#x} ({t.memory_reads} memory reads)"
            )
        else:
            stopped = next((r.title for r in walk_rows(t) if r.state == "fault"), "the walk")
            self.set_status(
                f"{t.access} of {ea:#x} → {t.fault.interrupt} at {stopped}: {t.fault.reason}",
                ok=False,
            )
        return [self.figure]

    def render_text(self) -> str:
        """What the explorer shows, as text."""
        return self.text
