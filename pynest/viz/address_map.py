"""An address-space map: one cell per page, coloured by what the MMU does with it.

The record in is a :class:`~pynest.mmu.batch.BatchTranslation` (``translate_many`` over
consecutive pages), so a map of thousands of pages costs one batch translation. Each
cell is a page, rows of ``columns`` pages, first page at the top left; the colour says
whether the access translates or which interrupt it takes. For an L2 run through its
shadow LPID (L0's hardware view) that reads: blue, the hardware translates it now
(shadow PTEs present); vermillion, HDSI (L0 must take a nested page fault); orange, DSI
(the L2's own tree maps nothing there: its own page fault).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..errors import ConfigError
from ..mmu.batch import INTERRUPT_CODES, BatchTranslation
from . import style as S

__all__ = ["MAP_COLOURS", "AddressMapView", "address_map_view", "draw_address_map"]

MAP_COLOURS = {
    "ok": S.BLUE,
    "DSI": S.ORANGE,
    "DSEG": S.GREY,
    "ISI": S.YELLOW,
    "ISEG": S.LIGHT_GREY,
    "HDSI": S.VERMILLION,
    "HISI": S.PURPLE,
}
"""Colour of a cell by outcome (Okabe-Ito: distinguishable with colour-blindness)."""


@dataclass(frozen=True)
class AddressMapView:
    """What the map shows: the first EA, the page size, the outcome code of every page
    (0 = translated, else :data:`~pynest.mmu.batch.INTERRUPT_CODES`) and the counts."""

    start: int
    page: int
    codes: np.ndarray
    counts: dict[str, int]

    def text(self) -> str:
        """The counts in words, for a screen reader or a doctest."""
        parts = [f"{n} {name}" for name, n in self.counts.items()]
        end = self.start + self.page * len(self.codes)
        return f"{len(self.codes)} pages {self.start:#x}..{end:#x}: " + ", ".join(parts)


def address_map_view(batch: BatchTranslation, page: int) -> AddressMapView:
    """The view of a batch translation of consecutive pages of ``page`` bytes."""
    if len(batch) == 0:
        raise ConfigError("an address map needs at least one EA")
    eas = batch.eas.astype(np.uint64)
    if len(eas) > 1 and not np.all(np.diff(eas) == np.uint64(page)):
        raise ConfigError(f"the EAs of an address map must be consecutive {page:#x}-byte pages")
    return AddressMapView(int(eas[0]), page, batch.interrupt.copy(), batch.summary())


def draw_address_map(
    view: AddressMapView, title: str, columns: int = 32, fig: Figure | None = None
) -> Figure:
    """One cell per page, ``columns`` to a row, coloured by :data:`MAP_COLOURS`."""
    if columns < 1:
        raise ConfigError(f"columns must be at least 1, got {columns}")
    n = len(view.codes)
    rows = -(-n // columns)
    grid = np.full(rows * columns, -1, dtype=np.int64)
    grid[:n] = view.codes
    names = [name or "ok" for name, _ in sorted(INTERRUPT_CODES.items(), key=lambda kv: kv[1])]
    cmap = ListedColormap([S.WHITE] + [MAP_COLOURS[name] for name in names])
    height = min(9.0, 1.6 + rows * 0.32)
    fig = fig or S.new_figure(S.FIGURE_WIDTH, height)
    fig.clear()
    bottom = 0.75 / height  # room for the x label, in inches
    ax = fig.add_axes((0.17, bottom, 0.62, 0.86 - bottom))
    ax.imshow(
        grid.reshape(rows, columns) + 1,
        cmap=cmap,
        vmin=0,
        vmax=len(names),
        interpolation="none",  # SVG: the cells as they are, drawn pixelated
        aspect="auto",
    )
    ax.set_xticks(range(0, columns, max(1, columns // 8)))
    ax.set_yticks(range(rows))
    ax.set_yticklabels(
        [f"{view.start + r * columns * view.page:#x}" for r in range(rows)],
        fontsize=S.SMALL_SIZE,
        family=S.MONO,
    )
    ax.tick_params(axis="x", labelsize=S.SMALL_SIZE)
    ax.set_xlabel(f"page within the row ({view.page >> 10} KiB pages)", fontsize=S.TEXT_SIZE)
    ax.set_xticks(np.arange(-0.5, columns, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, rows, 1), minor=True)
    ax.grid(which="minor", color=S.WHITE, linewidth=0.6)
    ax.tick_params(which="minor", length=0)
    fig.suptitle(title, fontsize=S.TITLE_SIZE, x=0.02, ha="left")
    handles = [
        Patch(facecolor=MAP_COLOURS[name], label=f"{name}: {view.counts[name]}")
        for name in names
        if name in view.counts
    ]
    fig.legend(handles=handles, loc="center right", fontsize=S.LABEL_SIZE, frameon=False)
    return fig
