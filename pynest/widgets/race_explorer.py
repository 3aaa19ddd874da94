"""The race explorer of notebook 06: every interleaving of two vcpus, one at a time.

Controls:

* **race** -- "create" (two vcpus of a freshly migrated L1 enter the same L2:
  concurrent ``kvmhv_get_nested(create=true)``) or "remove" (two H_TLB_INVALIDATE
  RIC=2 for an L2 whose entry the L1 zeroed: ``kvmhv_get_nested`` +
  ``kvmhv_remove_nested`` + ``kvmhv_put_nested`` on both vcpus);
* **mmu_lock**, **re-check**, **== gp check** -- the kernel's protections; untick one
  to watch the bug it prevents;
* **interleaving** -- a slider over every schedule the explorer found (depth first);
* **next broken** -- jump to the next schedule that breaks an invariant.

The picture (:func:`pynest.viz.races.draw_race`) shows the schedule as two lanes, the
shared state after each step, and the verdict; the status line says the same in words.
Exploring is done once per setting (:func:`pynest.kvm.races.explore` caches it); the
slider only replays one schedule.
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as w
from matplotlib.figure import Figure

from ..errors import ConfigError
from ..kvm.races import Exploration, Interleaving, explore
from ..viz.races import draw_race
from .base import Explorer, slider


class RaceExplorer(Explorer):
    """Choose a race and the protections, slide through its interleavings."""

    def __init__(
        self,
        race: str = "create",
        *,
        lock: bool = True,
        recheck: bool = True,
        check_gp: bool = True,
        start: int = 0,
    ) -> None:
        super().__init__()
        if race not in ("create", "remove"):
            raise ConfigError(f"unknown race {race!r}: choose 'create' or 'remove'")
        self.exploration: Exploration | None = None
        self.interleaving: Interleaving | None = None
        self.figure: Figure | None = None
        self._figure_of: Exploration | None = None
        style = {"description_width": "90px"}
        self.race = w.ToggleButtons(
            options=[("create (get_nested)", "create"), ("remove (remove + put)", "remove")],
            value=race,
            description="race",
            style=style,
        )
        self.lock = w.Checkbox(value=lock, description="mmu_lock", indent=False)
        self.recheck = w.Checkbox(value=recheck, description="re-check after alloc", indent=False)
        self.check_gp = w.Checkbox(value=check_gp, description="== gp check", indent=False)
        self.slider = slider(0, 0, 0, "interleaving", style, width="620px")
        self.next_bad = w.Button(description="next broken ▶")
        self.next_bad.on_click(lambda _b: self.jump_to_broken())
        self.watch(self.race, self.lock, self.recheck, self.check_gp, handler=self._on_setting)
        self.watch(self.slider)
        self._explore()
        self._set_slider(start)
        self.refresh()

    def controls(self) -> Sequence[w.Widget]:
        return [
            self.race,
            w.HBox([self.lock, self.recheck, self.check_gp]),
            w.HBox([self.slider, self.next_bad]),
        ]

    # ------------------------------------------------------------------ handlers
    def _explore(self) -> Exploration:
        e = explore(
            self.race.value,
            lock=self.lock.value,
            recheck=self.recheck.value,
            check_gp=self.check_gp.value,
        )
        self.exploration = e
        self._busy = True
        try:
            self.slider.max = e.count - 1
        finally:
            self._busy = False
        return e

    def _set_slider(self, value: int) -> None:
        self._busy = True
        try:
            self.slider.value = max(0, min(value, self.slider.max))
        finally:
            self._busy = False

    def _on_setting(self, _change: dict) -> None:
        if self._busy:
            return
        self._explore()
        self._set_slider(0)
        self.refresh()

    def jump_to_broken(self) -> bool:
        """Move to the next interleaving (after the current one, wrapping) that breaks
        an invariant; says so when there is none."""
        e = self.exploration
        assert e is not None
        bad = [i.number for i in e.bad]
        if not bad:
            self.set_status(f"{e.summary()}: nothing to jump to")
            return False
        here = self.slider.value
        target = next((n for n in bad if n > here), bad[0])
        self.slider.value = target  # refreshes
        return True

    # ------------------------------------------------------------------ model
    def update(self) -> list[Figure]:
        e = self.exploration
        assert e is not None
        value = self.slider.value
        if not 0 <= value < e.count:
            raise ConfigError(f"interleaving {value} does not exist: there are {e.count}")
        inter = e.interleavings[value]
        self.interleaving = inter
        status = f"#{inter.number} of {e.count}: {inter.verdict()}. {e.summary()}"
        self.set_status(status, inter.ok)
        self.text = f"{e.summary()}\n#{inter.number}: schedule {inter.schedule_text}\n"
        self.text += inter.trace()
        if self._figure_of is not e:  # a new setting: a fresh figure for its strip
            self.figure, self._figure_of = None, e
        self.figure = draw_race(inter, e, fig=self.figure)
        return [self.figure]
