"""Figures: a model record in, a :class:`matplotlib.figure.Figure` out.

Importing this package imports matplotlib; ``import pynest`` and ``import pynest.mmu``
never do. Every function here is pure: it reads the record it is given and returns a
new Figure (or redraws the one passed as ``fig``), registered with no pyplot manager.

* :mod:`.walk` -- one translation: the EA split into fields, the walk level by level;
* :mod:`.tables` -- registers and entries bit by bit (PTCR, PDE/PTE, PATE) and the
  partition table as rows indexed by LPID;
* :mod:`.quadrants` -- which table and tree an EA's quadrant selects;
* :mod:`.walk2d` -- the guest's 2-D walk as a grid of reads;
* :mod:`.set_ptbl`, :mod:`.review` -- H_SET_PARTITION_TABLE and L0's state; the cost of
  the nested-guest table, fixed array vs IDR;
* :mod:`.lpids`, :mod:`.races` -- L1 LPIDs, nested guests and shadow LPIDs; the
  create/remove races interleaving by interleaving;
* :mod:`.timeline` -- L0/L1/L2 swim lanes of an H_ENTER_NESTED run, LPCR sanitisation;
* :mod:`.shadow_trees` -- the L1's tree, L0's tree and the shadow tree side by side;
* :mod:`.address_map` -- an address space page by page (``translate_many``): which
  pages translate, which fault and how;
* :mod:`.tlb_view` -- what a tlbie / H_TLB_INVALIDATE removes;
* :mod:`.copy_view` -- the stages of an H_COPY_TOFROM_GUEST;
* :mod:`.classroom`, :mod:`.suite_map` -- the classroom demo's steps; the suite's map;
* :mod:`.cheatsheet` -- one page of every field the lessons decode (PTCR, PATE, PRTE,
  PDE, PTE, DSISR, tlbie RB/RS), built from the model's own formats;
* :mod:`.style` -- the Okabe-Ito palette and projector-sized fonts they share;
* :mod:`.pictures` -- a figure as SVG (text kept as text, fallback fonts) or PNG, and
  :func:`show_figures_as_svg`, which a notebook's setup cell calls for its figures.
"""

from .address_map import AddressMapView, address_map_view, draw_address_map
from .cheatsheet import cheatsheet_rows, cheatsheet_text, draw_cheatsheet
from .classroom import draw_classroom_step, hcall_lines
from .copy_view import CopyStages, copy_stages, copy_text, draw_copy
from .lpids import LpidMap, draw_lpid_map, lpid_map
from .pictures import render_png, render_svg, show_figures_as_svg
from .quadrants import (
    QuadrantPicture,
    draw_quadrant_rules,
    draw_quadrants,
    quadrant_picture,
    quadrant_rows,
)
from .races import draw_race
from .review import cost_record, draw_table_costs
from .set_ptbl import draw_set_ptbl
from .shadow_trees import ShadowTreesView, draw_page_sizes, draw_shadow_trees, read_shadow_trees
from .suite_map import draw_nesting_layers, draw_suite_map
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
from .timeline import draw_lpcr_sanitise, draw_timeline, timeline_points, timeline_text
from .tlb_view import draw_tlbie, tlbie_text
from .walk import draw_ea_split, draw_walk, ea_fields, walk_rows, walk_text
from .walk2d import describe_access, draw_walk2d, walk2d_grid, walk2d_text

__all__ = [
    "AddressMapView",
    "CopyStages",
    "LpidMap",
    "PartitionTableView",
    "PateRow",
    "QuadrantPicture",
    "ShadowTreesView",
    "address_map_view",
    "cheatsheet_rows",
    "cheatsheet_text",
    "copy_stages",
    "copy_text",
    "cost_record",
    "describe_access",
    "draw_address_map",
    "draw_cheatsheet",
    "draw_classroom_step",
    "draw_copy",
    "draw_ea_split",
    "draw_entry",
    "draw_lpcr_sanitise",
    "draw_lpid_map",
    "draw_nesting_layers",
    "draw_page_sizes",
    "draw_partition_table",
    "draw_pate",
    "draw_ptcr",
    "draw_quadrant_rules",
    "draw_quadrants",
    "draw_race",
    "draw_register",
    "draw_set_ptbl",
    "draw_shadow_trees",
    "draw_suite_map",
    "draw_table_costs",
    "draw_timeline",
    "draw_tlbie",
    "draw_walk",
    "draw_walk2d",
    "ea_fields",
    "hcall_lines",
    "lpid_map",
    "quadrant_picture",
    "quadrant_rows",
    "read_partition_table",
    "read_shadow_trees",
    "render_png",
    "render_svg",
    "show_figures_as_svg",
    "timeline_points",
    "timeline_text",
    "tlbie_text",
    "walk2d_grid",
    "walk2d_text",
    "walk_rows",
    "walk_text",
]
