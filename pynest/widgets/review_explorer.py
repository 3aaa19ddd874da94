"""The nested-table cost explorer of notebook 12: fixed array against the later IDR.

Controls:

* **guests** -- how many nested guests the L1 runs (a slider);
* **highest lpid** -- the largest L1 lpid in use, for the spread and random layouts;
* **layout** -- how the lpids lie: dense from 1 (what the L1's ``kvmppc_alloc_lpid``
  gives: the lowest free numbers), spread evenly up to the highest, or a seeded sample;
* **table** -- which of L0's two tables to look at: the 4.20 ``nested_guests[1024]``
  array (:class:`pynest.kvm.nested.NestedArray`) or the later IDR
  (:class:`pynest.kvm.nested.NestedIdr`, costed by ``idr_memory_cost``).

The picture: bytes per VM against the number of guests (both tables, a marker at the
chosen count) and the 4096 possible lpids as a grid of 64-slot nodes. The status line
says which table is smaller and which lpids the 4.20 array could not hold at all
(``kvmhv_get_nested`` returns NULL for them, so H_ENTER_NESTED fails with H_PARAMETER).
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as w
from matplotlib.figure import Figure

from ..viz.review import MAX_DENSE, MAX_LPID, PATTERNS, CostRecord, cost_record, draw_table_costs
from .base import Explorer, slider

LAYOUTS = (
    ("dense from 1 (kvmppc_alloc_lpid)", "dense"),
    ("spread evenly up to the highest", "spread"),
    ("random (seeded)", "random"),
)
TABLES = (("fixed array (4.20)", "array"), ("dynamic IDR (later)", "dynamic"))


class NestedTableCostExplorer(Explorer):
    """Slide the number of nested guests and their lpids; compare the two tables."""

    def __init__(
        self,
        n: int = 4,
        highest: int = MAX_LPID,
        pattern: str = "dense",
        table: str = "dynamic",
        seed: int = 0,
    ) -> None:
        super().__init__()
        if pattern not in PATTERNS:
            pattern = "dense"
        if table not in ("array", "dynamic"):
            table = "dynamic"
        self.seed = seed
        self.record: CostRecord | None = None
        self.figure: Figure | None = None
        style = {"description_width": "100px"}
        self.guests = slider(
            max(0, min(n, MAX_DENSE)), 0, MAX_DENSE, "guests", style, width="480px"
        )
        self.highest = slider(
            max(1, min(highest, MAX_LPID)), 1, MAX_LPID, "highest lpid", style, width="480px"
        )
        self.layout = w.Dropdown(
            options=list(LAYOUTS), value=pattern, description="layout", style=style
        )
        self.table = w.Dropdown(options=list(TABLES), value=table, description="table", style=style)
        self.watch(self.guests, self.highest, self.layout, self.table)
        self.refresh()

    def controls(self) -> Sequence[w.Widget]:
        return [w.HBox([self.guests, self.layout]), w.HBox([self.highest, self.table])]

    def update(self) -> list[Figure]:
        n, highest, pattern = self.guests.value, self.highest.value, self.layout.value
        self.highest.disabled = pattern == "dense"  # dense lpids end at the guest count
        note = ""
        if pattern != "dense" and n > highest:
            note = f" ({n} guests need lpids up to at least {n}: highest raised to {n})"
            highest = n
        rec = cost_record(pattern, n, highest, self.seed)
        self.record = rec
        table = self.table.value
        smaller = "the IDR" if rec.idr_bytes < rec.array_bytes else "the array"
        if rec.idr_bytes == rec.array_bytes:
            smaller = "neither"
        status = f"{rec.summary()}; smaller: {smaller}{note}."
        if table == "array" and rec.beyond_array:
            status += (
                f" With the 4.20 array, H_ENTER_NESTED for lpid {rec.beyond_array[0]} fails "
                "with H_PARAMETER (kvmhv_get_nested: lpid >= KVM_MAX_NESTED_GUESTS)."
            )
        self.text = status
        self.set_status(status, ok=not (table == "array" and rec.beyond_array))
        self.figure = draw_table_costs(rec, table, fig=self.figure)
        return [self.figure]

    def render_text(self) -> str:
        """What the explorer shows, as text."""
        return self.text
