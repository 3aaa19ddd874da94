"""The LPID-mapping explorer of notebook 06: create, enter and remove L2s, watch the LPIDs.

The world is :func:`pynest.scenarios.one_l1` (an L0 with one L1 that has registered its
partition table). The buttons drive the real model:

* **create** -- the L1 creates an L2 (``L1.create_l2``: the L1 picks the lowest free
  L1 LPID and writes its own partition-table entry). L0 learns nothing yet.
* **enter** -- the L1 runs the L2 with the L1 LPID in the box (``L1.run_l2`` ->
  H_ENTER_NESTED): the first entry makes L0 create the nested guest
  (``kvmhv_get_nested(create=true)`` -> ``kvmhv_alloc_nested``: a shadow LPID) and write
  the real PATE for the shadow LPID (``kvmhv_update_ptbl_cache``); the L2 runs a
  one-instruction program (H_CEDE) and the reference is put back.
* **remove** -- the L1 destroys that L2 (``L1.destroy_l2``: zero its entry, then
  H_TLB_INVALIDATE RIC=2 -> ``kvmhv_flush_nested`` -> ``kvmhv_remove_nested`` ->
  ``kvmhv_release_nested``: the shadow LPID is freed).

The **L1 LPID** box picks the L2 the buttons act on (and frames its lane). The
**history** slider goes back through the states the actions produced; the buttons
always act on the newest one. Typed garbage, an L1 LPID past the table, or an action
that makes no sense (enter an L2 that does not exist) is explained in the message line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import ipywidgets as w
from matplotlib.figure import Figure

from ..errors import ConfigError
from ..kvm.constants import KVM_MAX_NESTED_GUESTS
from ..kvm.hcalls import H_CEDE
from ..kvm.nested import PRTS_MASK
from ..kvm.program import Hcall, Program
from ..mmu import constants as C
from ..scenarios import one_l1
from ..viz.lpids import LpidMap, draw_lpid_map, lpid_map
from .base import Explorer, text_box

CODE_EA = 0x1_0000
MAX_L2S = 8


class LpidMapExplorer(Explorer):
    """Create / enter / remove L2s of one L1 and see L1 LPIDs -> shadow LPIDs -> PATEs."""

    def __init__(
        self, seed: int = 0, start: Sequence[str] = ("create", "create", "enter 1")
    ) -> None:
        super().__init__()
        self.world = one_l1(seed)
        self.l1 = self.world.l1
        self.vm = self.world.vm
        self.history: list[LpidMap] = []
        self.figure: Figure | None = None
        self.current: LpidMap | None = None
        self.last_action = ""
        style = {"description_width": "70px"}
        self.lpid_text = text_box("1", "L1 LPID", "190px", style)
        wide = w.Layout(width="auto")
        self.create_button = w.Button(description="create an L2", button_style="info", layout=wide)
        self.enter_button = w.Button(description="enter (H_ENTER_NESTED)", layout=wide)
        self.remove_button = w.Button(
            description="remove (destroy the L2)", button_style="warning", layout=wide
        )
        self.history_slider = w.IntSlider(
            value=0, min=0, max=0, description="history", style=style, continuous_update=True
        )
        self._record("the L1 has registered its partition table; no L2 yet")
        for action in start:
            name, _, arg = action.partition(" ")
            if arg:
                self.lpid_text.value = arg
            self.act(name, refresh=False)
        self.create_button.on_click(lambda _b: self.act("create"))
        self.enter_button.on_click(lambda _b: self.act("enter"))
        self.remove_button.on_click(lambda _b: self.act("remove"))
        self.watch(self.lpid_text, self.history_slider)
        self.refresh()

    def controls(self) -> Sequence[w.Widget]:
        return [
            w.HBox([self.lpid_text, self.create_button, self.enter_button, self.remove_button]),
            self.history_slider,
        ]

    # ------------------------------------------------------------------ actions
    def _record(self, note: str) -> None:
        self.history.append(lpid_map(self.vm, note=note))
        self._busy = True  # moving the slider here must not redraw twice
        try:
            self.history_slider.max = len(self.history) - 1
            self.history_slider.value = len(self.history) - 1
        finally:
            self._busy = False

    def _typed_lpid(self) -> int:
        lpid = self.number(self.lpid_text.value, "L1 LPID", bits=32, kind="id")
        entries = 1 << ((self.vm.l1_ptcr & PRTS_MASK) + 8)
        if lpid >= min(entries, KVM_MAX_NESTED_GUESTS):
            raise ConfigError(
                f"L1 LPID {lpid} is past the L1's partition table ({entries} entries) and "
                f"nested_guests[{KVM_MAX_NESTED_GUESTS}]: kvmhv_get_nested returns NULL for it, "
                "so H_ENTER_NESTED would fail with H_PARAMETER"
            )
        return lpid

    def _events_text(self, mark: int) -> str:
        shown = []
        for ev in self.world.l0.events.since(mark):
            if ev.kind == "nested-create":
                shown.append(f"L0 created gp for L2 {ev.l1_lpid}")
            elif ev.kind == "lpid-alloc":
                shown.append(f"shadow LPID {ev.shadow_lpid} allocated")
            elif ev.kind == "ptbl-set" and ev.shadow_lpid not in (0, self.vm.lpid):
                zeroed = "released" in ev.detail
                shown.append(f"PATE[{ev.shadow_lpid}] {'zeroed' if zeroed else 'written'}")
            elif ev.kind == "nested-free":
                shown.append(f"gp of L2 {ev.l1_lpid} released")
            elif ev.kind == "lpid-free":
                shown.append(f"shadow LPID {ev.shadow_lpid} freed")
        return ", ".join(dict.fromkeys(shown))

    def act(self, action: str, refresh: bool = True) -> bool:
        """Do ``action`` ("create", "enter" or "remove") on the newest state; False
        (with the reason in the message line) when it cannot be done."""
        try:
            note = self._do(action)
        except (ConfigError, ValueError) as e:
            self.show_error(str(e))
            return False
        self.last_action = note
        self._record(note)
        return self.refresh() if refresh else True

    def _do(self, action: str) -> str:
        l1 = self.l1
        mark = self.world.l0.events.mark()
        if action == "create":
            if len(l1.l2s) >= MAX_L2S:
                raise ConfigError(f"this explorer keeps at most {MAX_L2S} L2s: remove one first")
            l2 = l1.create_l2(16 << 20)
            l1.l2_map(l2, CODE_EA, 0x40_0000, C.PAGE_4K, "x")
            self._busy = True
            try:
                self.lpid_text.value = str(l2.l1_lpid)
            finally:
                self._busy = False
            return (
                f"create: the L1 took L1 LPID {l2.l1_lpid} and wrote its own entry; "
                "L0 has no nested guest for it yet"
            )
        if action not in ("enter", "remove"):
            raise ConfigError(f"unknown action {action!r}: use create, enter or remove")
        lpid = self._typed_lpid()
        l2 = l1.l2s.get(lpid)
        if l2 is None:
            have = ", ".join(map(str, sorted(l1.l2s))) or "none"
            raise ConfigError(
                f"the L1 has no L2 with L1 LPID {lpid} (its L2s: {have}); press create first"
            )
        if action == "enter":
            l1.load_program(l2, Program((Hcall(H_CEDE),), entry=CODE_EA))
            fresh = self.vm.nested.find(lpid) is None
            result = l1.run_l2(l2)
            gp = self.vm.nested.find(lpid)
            assert gp is not None
            what = self._events_text(mark) if fresh else "gp found, refcnt +1 during the run"
            return (
                f"enter L2 {lpid}: {what}; the L2 {result.stopped}; on return "
                f"kvmhv_put_nested leaves refcnt {gp.refcnt}"
            )
        rc = l1.destroy_l2(l2)
        what = self._events_text(mark) or "L0 had no nested guest for it: nothing to free"
        return f"remove L2 {lpid} (H_TLB_INVALIDATE RIC=2 -> rc {rc}): {what}"

    # ------------------------------------------------------------------ model
    def update(self) -> list[Figure]:
        lpid = self._typed_lpid()
        index = min(self.history_slider.value, len(self.history) - 1)
        state = self.history[index]
        shown = replace(state, highlight=lpid)
        self.current = shown
        latest = index == len(self.history) - 1
        where = "newest state" if latest else f"state {index} of {len(self.history) - 1}"
        status = f"{where}: {shown.describe(lpid)}"
        if not latest:
            status += " (the buttons act on the newest state)"
        self.text = f"{state.note}\n{shown.text()}"
        self.set_status(status)
        self.figure = draw_lpid_map(shown, fig=self.figure)
        return [self.figure]
