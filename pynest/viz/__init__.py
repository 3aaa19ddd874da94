"""Figures: a model record in, a :class:`matplotlib.figure.Figure` out.

Importing this package imports matplotlib; ``import pynest`` and ``import pynest.mmu``
never do. Every function here is pure: it reads the record it is given and returns a
new Figure (or redraws the one passed as ``fig``), registered with no pyplot manager.

* :mod:`.walk` -- one translation: the EA split into fields, the walk level by level;
* :mod:`.tables` -- registers and entries bit by bit (PTCR, PDE/PTE, PATE) and the
  partition table as rows indexed by LPID;
* :mod:`.style` -- the Okabe-Ito palette and projector-sized fonts they share.
"""

from .tables import (
    PartitionTableView,
    PateRow,
    draw_entry,
    draw_partition_table,
    draw_pate,
    draw_ptcr,
    draw_register,
    read_partition_table,
)
from .walk import draw_ea_split, draw_walk, ea_fields, walk_rows, walk_text

__all__ = [
    "PartitionTableView",
    "PateRow",
    "draw_ea_split",
    "draw_entry",
    "draw_partition_table",
    "draw_pate",
    "draw_ptcr",
    "draw_register",
    "draw_walk",
    "ea_fields",
    "read_partition_table",
    "walk_rows",
    "walk_text",
]
