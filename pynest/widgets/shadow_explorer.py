"""The shadow-tree explorer of notebook 08: watch three trees fill in as an L2 runs.

The world is :func:`pynest.scenarios.shadow.shadow_world`: one L1, one 16 MiB L2 whose
kernel reaches all its memory through a linear map. A seeded plan of *actions* runs on
it -- L2 loads and stores, the L1 unmapping a page of its tree for the L2 (then
H_TLB_INVALIDATE), L0 taking a page of L1 memory away (then the nested rmap) -- and after
each action the explorer keeps a picture of the three trees.

Controls:

* **L1 page** / **L0 page** -- the page size the L1 maps its L2 with, and the one L0
  backs the L1 with; changing either rebuilds the world and replays the plan;
* **step** -- which action's result to show (0: before the L2 ran at all). Moving it
  changes the picture: rows the action used are framed, new rows say "new";
* **L2 real** + **access** -- type an L2 real address and press Enter: the L2 touches
  it (after every action so far), and the slider moves to that new step. The box then
  empties (its placeholder says what was done), so typing the same address again touches
  it again; switching load/store tries the address still in the box with the new access.

Every number shown comes from the model: the rows are read from memory, the status
line from L0's event log.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import ipywidgets as w
from matplotlib.figure import Figure

from ..errors import ConfigError, PynestError
from ..kvm.events import Event
from ..mmu import constants as C
from ..mmu.formats import page_size_text
from ..scenarios.l1 import World
from ..scenarios.shadow import (
    L2_MEM,
    PAGE_TABLES,
    check_l2_address,
    shadow_world,
    touch,
)
from ..viz.shadow_trees import ShadowTreesView, draw_shadow_trees, read_shadow_trees
from .base import Explorer, slider, text_box

_SIZES = {"64K": C.PAGE_64K, "2M": C.PAGE_2M, "1G": C.PAGE_1G}
_PLACEHOLDER = {
    "load": "e.g. 0x9a0000, Enter: the L2 loads from it",
    "store": "e.g. 0x9a0000, Enter: the L2 stores to it",
}


@dataclass(frozen=True, slots=True)
class Action:
    """One thing to do: an L2 ``load``/``store`` at L2 real ``gpa``, the L1 unmapping
    that page (``l1-unmap``), or L0 taking away the L1 page behind it (``l0-unmap``)."""

    kind: str
    gpa: int

    def __str__(self) -> str:
        return {
            "load": f"L2 loads from L2 real {self.gpa:#x}",
            "store": f"L2 stores to L2 real {self.gpa:#x}",
            "l1-unmap": f"L1 unmaps L2 real {self.gpa:#x} from its tree",
            "l0-unmap": f"L0 takes away the L1 page behind L2 real {self.gpa:#x}",
        }[self.kind]


@dataclass(frozen=True)
class Step:
    """An action, the picture after it, and what happened, in words."""

    action: Action | None
    view: ShadowTreesView
    summary: str
    events: tuple[Event, ...] = ()


def default_plan(seed: int = 0) -> list[Action]:
    """A seeded plan that visits every branch worth seeing (see the module docstring):
    a store to an unmapped page, a load from the same page, loads elsewhere, the L1
    unmapping the first page, the L2 coming back to it, L0 taking an L1 page away, and
    the L2 touching that page again."""
    rng = random.Random(f"pynest-shadow-explorer-{seed}")
    lo = PAGE_TABLES[1]
    region = rng.randrange(lo >> 21, L2_MEM >> 21)  # a 2M region outside the tables
    others = [r for r in range(lo >> 21, L2_MEM >> 21) if r != region]
    far = rng.choice(others)
    a = (region << 21) + rng.randrange(0, 16) * C.PAGE_64K + rng.randrange(0, 0x1000, 8)
    b = (region << 21) + rng.randrange(16, 32) * C.PAGE_64K + rng.randrange(0, 0x1000, 8)
    c = (far << 21) + rng.randrange(0, 32) * C.PAGE_64K + rng.randrange(0, 0x1000, 8)
    return [
        Action("store", a),
        Action("load", a + 8),
        Action("load", b),
        Action("store", c),
        Action("l1-unmap", a),
        Action("load", a),
        Action("l0-unmap", c),
        Action("load", c),
    ]


def _describe(events: Sequence[Event]) -> list[str]:
    """The invalidation side of an action's events, one line each."""
    out = []
    for e in events:
        if e.kind == "l1-unmap":
            out.append(
                f"  L1: clears its PTE for L2 real {e.gpa:#x} ({page_size_text(e.size or 0)})"
            )
        elif e.kind == "hcall" and e.hcall == "H_TLB_INVALIDATE":
            out.append("  L1 -> L0: H_TLB_INVALIDATE (RIC 0, PRS 0, R 1; IS 0: one page)")
        elif e.kind == "l0-unmap":
            out.append(
                f"  L0: unmaps L1 real {e.l1_gpa:#x} (host {e.hpa:#x}, "
                f"{page_size_text(e.size or 0)}); the rmap names the shadow PTEs to drop"
            )
        elif e.kind == "shadow-remove":
            out.append(
                f"  L0: removes shadow PTE for L2 real {e.gpa:#x} ({page_size_text(e.size or 0)})"
            )
    return out


class ShadowTreesExplorer(Explorer):
    """Three trees side by side as an L2 touches memory (see the module docstring)."""

    def __init__(
        self, seed: int = 0, l1_page: str = "64K", backing: str = "2M", max_rows: int = 9
    ) -> None:
        super().__init__()
        if l1_page not in ("64K", "2M") or backing not in _SIZES:
            raise ConfigError(
                f"l1_page must be '64K' or '2M' and backing '64K', '2M' or '1G'; got "
                f"{l1_page!r}, {backing!r}"
            )
        self.seed = seed
        self.max_rows = max_rows
        self.plan = default_plan(seed)
        self.world: World | None = None
        self.steps: list[Step] = []
        self.view: ShadowTreesView | None = None
        self.figure: Figure | None = None
        style = {"description_width": "80px"}
        self.l1_page = w.ToggleButtons(
            options=["64K", "2M"], value=l1_page, description="L1 page", style=style
        )
        self.backing = w.ToggleButtons(
            options=["64K", "2M", "1G"], value=backing, description="L0 page", style=style
        )
        self.step = slider(0, 0, len(self.plan), "step", style, width="560px")
        self.address = text_box("", "L2 real", "320px", style, placeholder=_PLACEHOLDER["load"])
        self.access = w.ToggleButtons(options=["load", "store"], value="load", style=style)
        self._build()
        self.step.value = 1  # the first access
        self.watch(self.l1_page, self.backing, handler=self._on_config)
        self.watch(self.step)
        self.watch(self.address, handler=self._on_address)
        self.watch(self.access, handler=self._on_access)
        self.refresh()

    def controls(self) -> Sequence[w.Widget]:
        return [
            w.HBox([self.l1_page, self.backing]),
            self.step,
            w.HBox([self.address, self.access]),
        ]

    # ------------------------------------------------------------------ the model
    def _build(self) -> None:
        """A fresh world and the plan replayed on it, one snapshot per action."""
        world = shadow_world(_SIZES[self.l1_page.value], _SIZES[self.backing.value])
        self.world = world
        first = read_shadow_trees(
            world.vm,
            world.l2,
            world.gp,
            previous=None,
            caption="step 0: the L1 has built its L2; L0 has not run it yet",
            table_range=PAGE_TABLES,
        )
        self.steps = [Step(None, first, first.caption)]
        for action in self.plan:
            self._apply(action)
        self._busy = True
        try:
            self.step.max = len(self.steps) - 1
        finally:
            self._busy = False

    def _apply(self, action: Action) -> Step:
        """Do ``action`` on the live world (which is after the last step) and keep it."""
        world = self.world
        assert world is not None
        l2 = world.l2
        mark = world.l0.events.mark()
        lines: list[str]
        if action.kind in ("load", "store"):
            t = touch(world, action.gpa, action.kind)
            lines = t.summary().splitlines()
            events = t.events
        else:
            if action.kind == "l1-unmap":
                if l2.tree.find_leaf(action.gpa) is None:
                    raise ConfigError(f"the L1 does not map L2 real {action.gpa:#x}")
                world.l1.unmap_l2_page(l2, action.gpa)
            elif action.kind == "l0-unmap":
                m = l2.tree.lookup(action.gpa)
                if m is None or world.vm.unmap_page(m.ra) is None:
                    raise ConfigError(f"no L1 page backs L2 real {action.gpa:#x}")
            else:
                raise ConfigError(f"unknown action {action.kind!r}")
            events = world.l0.events.since(mark)
            lines = [str(action)] + _describe(events)
        n = len(self.steps)
        view = read_shadow_trees(
            world.vm,
            l2,
            world.gp,
            action.gpa,
            previous=self.steps[-1].view,
            caption=f"step {n}: {action}",
            table_range=PAGE_TABLES,
        )
        step = Step(action, view, "\n".join(lines), tuple(events))
        self.steps.append(step)
        return step

    # ------------------------------------------------------------------ handlers
    def _on_config(self, _change: dict) -> None:
        if self._busy:
            return
        keep = self.step.value
        try:
            self._build()
        except PynestError as e:
            self.show_error(str(e))
            return
        self._busy = True
        try:
            self.step.value = min(keep, self.step.max)
        finally:
            self._busy = False
        self.refresh()

    def _on_address(self, change: dict) -> None:
        if self._busy:
            return
        if not str(change["new"]).strip():  # an emptied box takes back its complaint
            if self.error:
                self.refresh()
            return
        self.touch(change["new"], self.access.value)

    def _on_access(self, change: dict) -> None:
        if self._busy:
            return
        self.address.placeholder = _PLACEHOLDER[change["new"]]
        if str(self.address.value).strip():  # the box still holds an address: try it
            self.touch(self.address.value, change["new"])
        elif self.error:  # nothing to try: the complaint was about the other access
            self.refresh()

    def touch(self, text: object, access: str = "load") -> bool:
        """The L2 touches L2 real ``text`` (typed hex/decimal) after every step so far;
        the slider moves to the new step. False (and a message) for unusable input."""
        assert self.world is not None
        try:
            gpa = check_l2_address(self.world, text, access)
            action = Action(access, gpa)
            self._apply(action)
        except (PynestError, ValueError) as e:
            self.show_error(str(e))
            return False
        self.plan.append(action)
        self._busy = True
        try:
            self.step.max = len(self.steps) - 1
            self.step.value = self.step.max
            self.address.value = ""  # so that the same address, typed again, is a change
            done = "loaded from" if access == "load" else "stored to"
            self.address.placeholder = f"step {self.step.max}: {done} {gpa:#x}; type another"
        finally:
            self._busy = False
        return self.refresh()

    def update(self) -> list[Figure]:
        k = self.step.value
        if not 0 <= k < len(self.steps):
            raise ConfigError(f"step {k} does not exist (0 .. {len(self.steps) - 1})")
        step = self.steps[k]
        self.view = step.view
        sizes = f"L1 maps with {self.l1_page.value}, L0 backs with {self.backing.value}"
        self.figure = draw_shadow_trees(
            step.view,
            max_rows=self.max_rows,
            fig=self.figure,
            title=f"Step {k} of {len(self.steps) - 1} ({sizes})",
        )
        self.text = step.summary + "\n\n" + step.view.text()
        first = step.summary.splitlines()
        reflected = [e for e in step.events if e.kind == "reflect" and e.trap in (0xE00, 0xE20)]
        status = f"step {k}: " + (str(step.action) if step.action else first[0])
        if step.action is not None and step.action.kind in ("load", "store"):
            status += (
                f" — reflected to the L1 {len(reflected)} time(s)"
                if reflected
                else " — L0 alone (the L1 never saw it)"
            )
            done = next((e for e in reversed(step.events) if e.kind == "l2-access"), None)
            if done is not None:
                status += f"; host real {done.hpa:#x}"
        self.set_status(status)
        return [self.figure]

    def render_text(self) -> str:
        """What the explorer shows, as text."""
        return self.text
