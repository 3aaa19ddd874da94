"""The race explorer of notebook 06: every interleaving of two vcpus, one at a time.

Controls:

* **race** -- "create" (two vcpus of a freshly migrated L1 enter the same L2:
  concurrent ``kvmhv_get_nested(create=true)``), "remove" (two H_TLB_INVALIDATE
  RIC=2 for an L2 whose entry the L1 zeroed: ``kvmhv_get_nested`` +
  ``kvmhv_remove_nested`` + ``kvmhv_put_nested`` on both vcpus) or "tlbie-all" (an
  IS=3 RIC=2 H_TLB_INVALIDATE, ``kvmhv_emulate_tlbie_all_lpid``, which takes the guest
  without a reference: what the model says about the 4.20.1 code, derived from the
  source and not observed on hardware);
* **mmu_lock**, **re-check**, **== gp check** -- the kernel's protections; untick one
  to watch the bug it prevents (the tlbie-all race is the kernel's code only: they are
  ticked and greyed out);
* **vcpu 1** (tlbie-all only) -- what the other vcpu does: flush the same L2 with IS=2
  RIC=2, run the L2 (holding a reference), or nothing;
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
from ..kvm.races import (
    PARTNERS,
    RACES,
    TLBIE_ALL_CAVEAT,
    TLBIE_ALL_NOTE,
    Exploration,
    Interleaving,
    RaceConfig,
    explore,
)
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
        partner: str = "flush",
        start: int = 0,
    ) -> None:
        super().__init__()
        if race not in RACES:
            raise ConfigError(f"unknown race {race!r}: choose 'create', 'remove' or 'tlbie-all'")
        if partner not in PARTNERS:
            raise ConfigError(f"unknown partner {partner!r}: choose 'flush', 'run' or 'none'")
        self.exploration: Exploration | None = None
        self.interleaving: Interleaving | None = None
        self.figure: Figure | None = None
        # one figure per setting (its strip of interleavings), the last few kept
        self._figures: dict[RaceConfig, Figure] = {}
        style = {"description_width": "90px"}
        self.race = w.ToggleButtons(
            options=[
                ("create (get_nested)", "create"),
                ("remove (remove + put)", "remove"),
                ("tlbie-all (IS=3 RIC=2)", "tlbie-all"),
            ],
            value=race,
            description="race",
            style={**style, "button_width": "auto"},
        )
        self.lock = w.Checkbox(value=lock, description="mmu_lock", indent=False)
        self.recheck = w.Checkbox(value=recheck, description="re-check after alloc", indent=False)
        self.check_gp = w.Checkbox(value=check_gp, description="== gp check", indent=False)
        self.partner = w.Dropdown(
            options=[(f"vcpu 1 {text}", key) for key, text in PARTNERS.items()],
            value=partner,
            description="vcpu 1",
            style=style,
            layout=w.Layout(width="560px"),
        )
        self.slider = slider(0, 0, 0, "interleaving", style, width="620px")
        self.next_bad = w.Button(description="next broken ▶")
        self.next_bad.on_click(lambda _b: self.jump_to_broken())
        self.watch(
            self.race,
            self.lock,
            self.recheck,
            self.check_gp,
            self.partner,
            handler=self._on_setting,
        )
        self._sync_switches()
        self.watch(self.slider)
        self._explore()
        self._set_slider(start)
        self.refresh()

    def controls(self) -> Sequence[w.Widget]:
        return [
            self.race,
            w.HBox([self.lock, self.recheck, self.check_gp]),
            self.partner,
            w.HBox([self.slider, self.next_bad]),
        ]

    # ------------------------------------------------------------------ handlers
    def _sync_switches(self) -> None:
        """tlbie-all is the kernel's code only: its switches are on and greyed out, and
        the vcpu 1 choice is shown; the other races hide it."""
        tlbie_all = self.race.value == "tlbie-all"
        self._busy = True
        try:
            for box in (self.lock, self.recheck, self.check_gp):
                if tlbie_all:
                    box.value = True
                box.disabled = tlbie_all
        finally:
            self._busy = False
        self.partner.layout.display = "" if tlbie_all else "none"

    def _explore(self) -> Exploration:
        tlbie_all = self.race.value == "tlbie-all"
        e = explore(
            self.race.value,
            lock=self.lock.value,
            recheck=self.recheck.value,
            check_gp=self.check_gp.value,
            partner=self.partner.value if tlbie_all else None,
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
        self._sync_switches()
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
        summary = e.summary()
        status = f"#{inter.number} of {e.count}: {inter.verdict()}. {summary}"
        self.text = f"{summary}\n#{inter.number}: schedule {inter.schedule_text}\n"
        if e.config.race == "tlbie-all":
            status += f" ({TLBIE_ALL_CAVEAT}.)"
            self.text = f"{TLBIE_ALL_NOTE}\n{self.text}"
        self.set_status(status, inter.ok)
        self.text += inter.trace()
        kept = self._figures.pop(e.config, None)  # a new setting: a fresh figure
        self.figure = self._figures[e.config] = draw_race(inter, e, fig=kept)
        while len(self._figures) > 8:
            self._figures.pop(next(iter(self._figures)))
        return [self.figure]
