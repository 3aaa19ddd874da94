"""The explorers of notebook 12: the review thread, point by point, and the cost of
L0's nested-guest table.

:class:`ReviewThreadExplorer` walks the nine points of David Gibson's review of v2
patch 18 and Paul Mackerras's reply (2 Oct 2018), in the thread's order:

* **review point** -- which point (a dropdown of the nine, :data:`pynest.viz.review.REVIEW_POINTS`);
* **the model runs** -- "4.20 as merged", or "instead, ..." where the model can take the
  change out or run the later code (the IDR of 5.19, v2's bool, v2's store of any r4,
  the pointer test alone, no ``== gp`` test, no second look); greyed out for points
  where it cannot.

Above the picture, a card says in words what the review asked, what the reply said
(both paraphrased, cited) and what the merged 4.20 code does; the picture
(:func:`pynest.viz.review.draw_review_thread`) shows the nine points with their outcome
and the model's run for the chosen one, the status line its verdict.

:class:`NestedTableCostExplorer` is point 2 in depth. Controls:

* **guests** -- how many nested guests the L1 runs (a slider);
* **highest lpid** -- the largest L1 lpid in use, for the spread and random layouts;
* **layout** -- how the lpids lie: dense from 1 (what the L1's ``kvmppc_alloc_lpid``
  gives: the lowest free numbers), spread evenly up to the highest, or a seeded sample;
* **table** -- which of L0's two tables to look at: the 4.20 ``nested_guests[1024]``
  array (:class:`pynest.kvm.nested.NestedArray`) or the IDR of 5.19
  (:class:`pynest.kvm.nested.NestedIdr`, costed by ``idr_memory_cost``).

The picture: bytes per VM against the number of guests (both tables, a marker at the
chosen count) and the 4096 possible lpids as a grid of 64-slot nodes. The status line
says which table is smaller and which lpids the 4.20 array could not hold at all
(``kvmhv_get_nested`` returns NULL for them, so H_ENTER_NESTED fails with H_PARAMETER).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import ipywidgets as w
from matplotlib.figure import Figure

from ..errors import ConfigError
from ..viz.review import (
    MAX_DENSE,
    MAX_LPID,
    PATTERNS,
    REVIEW_POINTS,
    THREAD,
    CostRecord,
    PointResult,
    ReviewPoint,
    cost_record,
    draw_review_thread,
    draw_table_costs,
    point,
    run_point,
)
from .base import Explorer, slider

RUNS = (("4.20 as merged", "merged"), ("instead (where the model can)", "alternative"))


def card_text(p: ReviewPoint) -> str:
    """The point in words: where, what the review asked, the reply, the merged code."""
    return (
        f"{p}\n"
        f"In v2: {p.where}.\n"
        f"David Gibson's review: {p.review}\n"
        f"Paul Mackerras (2 Oct 2018): {p.reply}\n"
        f"Merged (Linux 4.20): {p.merged}"
    )


def _card_html(p: ReviewPoint) -> str:
    rows = [
        ("In v2", p.where),
        ("David Gibson's review", p.review),
        ("Paul Mackerras, 2 Oct 2018", p.reply),
        ("Merged, Linux 4.20", p.merged),
    ]
    body = "".join(
        f"<div style='margin:2px 0'><b>{html.escape(k)}:</b> {html.escape(v)}</div>"
        for k, v in rows
    )
    return f"<div style='font-size:15px;max-width:1100px'>{body}</div>"


class ReviewThreadExplorer(Explorer):
    """Choose a review point of the thread; see it in words and run on the model."""

    def __init__(self, which: object = 1, run: str = "merged") -> None:
        super().__init__()
        first = point(which)
        if run not in ("merged", "alternative"):
            raise ConfigError(f"run must be 'merged' or 'alternative', got {run!r}")
        self.result: PointResult | None = None
        self.figure: Figure | None = None
        style = {"description_width": "110px"}
        self.point = w.Dropdown(
            options=[(str(p), p.key) for p in REVIEW_POINTS],
            value=first.key,
            description="review point",
            style=style,
            layout=w.Layout(width="520px"),
        )
        self.run = w.ToggleButtons(
            options=list(RUNS),
            value=run if first.alternative else "merged",
            description="the model runs",
            style={**style, "button_width": "auto"},
        )
        self.card = w.HTML("")
        self.source = w.HTML(
            f"<div style='font-size:13px;color:#555'>Thread: {html.escape(THREAD)}; "
            "paraphrased, not quoted.</div>"
        )
        self.watch(self.point, self.run)
        self.refresh()

    def controls(self) -> Sequence[w.Widget]:
        return [self.point, self.run, self.card, self.source]  # one row each at 1280 px

    def update(self) -> list[Figure]:
        p = point(self.point.value)
        self.run.disabled = not p.alternative
        if not p.alternative and self.run.value != "merged":
            self.run.value = "merged"  # no alternative here; the observer is ignored (busy)
        result = run_point(p.key, self.run.value)
        self.result = result
        self.card.value = _card_html(p)
        if result.variant == "alternative":
            other = f" (4.20 as merged: {run_point(p.key).verdict}.)"
        elif p.alternative:
            other = f" The other run: {p.alternative}."
        else:
            other = " The model has no other run for this point."
        status = f"{p}: {result.label}: {result.verdict}.{other}"
        self.set_status(status, ok=result.ok)
        self.text = f"{card_text(p)}\n\nThe model, {result.label}: {result.verdict}\n" + (
            "\n".join(result.lines)
        )
        self.figure = draw_review_thread(result, fig=self.figure)
        return [self.figure]

    def render_text(self) -> str:
        """What the explorer shows, as text: the card, the verdict, the model's lines."""
        return self.text


LAYOUTS = (
    ("dense from 1 (kvmppc_alloc_lpid)", "dense"),
    ("spread evenly up to the highest", "spread"),
    ("random (seeded)", "random"),
)
TABLES = (("fixed array (4.20)", "array"), ("IDR (5.19)", "dynamic"))


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
