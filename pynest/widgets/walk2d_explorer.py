"""The 2-D walk explorer of notebook 04: pick the page sizes of both trees, type an EA,
step through the walk one memory read at a time.

Controls, top to bottom:

* **process page** / **partition page** -- the leaf size of the guest's process-scoped
  tree and of the hypervisor's partition-scoped tree (4K, 64K, 2M, 1G); each pair is a
  :func:`pynest.scenarios.guest.guest_world` built once and kept;
* **example** -- the world's two mapped pages and an unmapped neighbour (it names the
  typed EA's case, or says the EA is your own);
* **EA** -- typed in hex or decimal;
* **access k of N** -- lights the grid up to the k-th read (▶ plays the walk).

The translation is the debugger's view (``update_rc=False``): exploring changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as w
from matplotlib.figure import Figure

from ..mmu import constants as C
from ..mmu.formats import page_size_text
from ..mmu.xlate import Translation
from ..scenarios.guest import guest_world
from ..scenarios.radix import MmuWorld
from ..viz.walk2d import describe_access, draw_walk2d, walk2d_grid, walk2d_text
from .base import Explorer
from .menus import CUSTOM, follow, with_custom

_SIZES = [(page_size_text(s), s) for s in C.PAGE_SIZES]


class Walk2DExplorer(Explorer):
    """Explore the guest's 2-D walk as a grid of reads (see the module docstring).

    ``seed`` picks the worlds' LPID, PID and addresses; ``proc_page`` and ``part_page``
    the starting page sizes.
    """

    def __init__(
        self, seed: int = 0, proc_page: int = C.PAGE_4K, part_page: int = C.PAGE_4K
    ) -> None:
        super().__init__()
        self.seed = seed
        self._worlds: dict[tuple[int, int], MmuWorld] = {}
        self.translation: Translation | None = None
        self.figure: Figure | None = None
        style = {"description_width": "110px"}
        self.proc_page = w.Dropdown(
            options=_SIZES, value=proc_page, description="process page", style=style
        )
        self.part_page = w.Dropdown(
            options=_SIZES, value=part_page, description="partition page", style=style
        )
        self.example = w.Dropdown(
            options=[], description="example", style=style, layout=w.Layout(width="520px")
        )
        self.ea_text = w.Text(
            description="EA",
            style=style,
            continuous_update=False,
            layout=w.Layout(width="380px"),
        )
        self.access = w.IntSlider(
            value=1,
            min=0,
            max=1,
            description="access k of N",
            style=style,
            layout=w.Layout(width="560px"),
        )
        self.play = w.Play(value=0, min=0, max=1, interval=500, description="play")
        w.jslink((self.play, "value"), (self.access, "value"))
        w.jslink((self.play, "max"), (self.access, "max"))
        self._load_examples()
        self.watch(self.proc_page, self.part_page, handler=self._on_world)
        self.watch(self.example, handler=self._on_example)
        self.watch(self.ea_text, handler=self._on_ea)
        self.watch(self.access)
        self._new_walk()

    def controls(self) -> Sequence[w.Widget]:
        return [
            w.HBox([self.proc_page, self.part_page]),
            self.example,
            self.ea_text,
            w.HBox([self.access, self.play]),
        ]

    # ------------------------------------------------------------------ worlds
    @property
    def world(self) -> MmuWorld:
        key = (self.proc_page.value, self.part_page.value)
        if key not in self._worlds:
            self._worlds[key] = guest_world(self.seed, *key)
        return self._worlds[key]

    def _examples(self) -> list[tuple[str, int]]:
        world = self.world
        size = page_size_text(world.pages[0].size)
        out = [(f"page {i + 1}: EA {ea:#x} ({size})", ea) for i, ea in enumerate(world.eas)]
        first = world.pages[0][0]
        hole = first + max(world.pages[0].size, C.PAGE_2M) * 2
        out.append((f"unmapped neighbour: EA {hole:#x} (DSI)", hole))
        return out

    def _load_examples(self) -> None:
        self._busy = True
        try:
            examples = self._examples()
            self.example.options = with_custom(examples)
            self.example.value = examples[0][1]
            self.ea_text.value = f"{examples[0][1]:#x}"
        finally:
            self._busy = False

    # ------------------------------------------------------------------ handlers
    def _on_world(self, _change: dict) -> None:
        if self._busy:
            return
        self._load_examples()
        self._new_walk()

    def _on_example(self, change: dict) -> None:
        if self._busy or change["new"] in (None, CUSTOM):
            return
        self._busy = True
        try:
            self.ea_text.value = f"{change['new']:#x}"
        finally:
            self._busy = False
        self._new_walk()

    def _on_ea(self, _change: dict) -> None:
        if not self._busy:
            self._new_walk()

    def _new_walk(self) -> None:
        """Translate the typed EA and show every read (slider at N)."""
        try:
            ea = self.number(self.ea_text.value, "EA", kind="address")
        except ValueError as e:
            self._busy = True
            try:
                follow(self.example, CUSTOM)
            finally:
                self._busy = False
            self.show_error(str(e))
            return
        t = self.world.translate(ea)
        self.translation = t
        n = t.memory_reads
        self._busy = True
        try:
            if self.access.max < n:
                self.access.max = n
                self.access.value = n
            else:
                self.access.value = n
                self.access.max = n
            self.play.max = n
            follow(self.example, ea)
        finally:
            self._busy = False
        self.refresh()

    # ------------------------------------------------------------------ model
    def update(self) -> list[Figure]:
        self.number(self.ea_text.value, "EA", kind="address")  # the box still holds garbage
        t = self.translation
        if t is None:
            raise ValueError("no translation yet: type an EA")
        n = t.memory_reads
        k = min(self.access.value, n)
        self.figure = draw_walk2d(t, k, fig=self.figure)
        self.text = walk2d_text(t, k)
        grid = walk2d_grid(t)
        done = f"{n} reads" + (f", RA {t.ra:#x}" if t.ok else f", then {t.fault.interrupt}")
        if k:
            self.set_status(f"{describe_access(grid, k)} ({done})", ok=t.ok or k < n)
        else:
            self.set_status(f"nothing read yet ({done})", ok=t.ok)
        return [self.figure]

    def render_text(self) -> str:
        """What the explorer shows, as text."""
        return self.text
