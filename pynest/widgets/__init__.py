"""Explorers: ipywidgets front ends that drive the model and redraw a figure.

Importing this package imports ipywidgets and matplotlib (``import pynest`` does not).
In a notebook, an explorer is one line -- ``WalkExplorer()`` as the last expression of a
cell. Every explorer can also be driven from Python (set a control's ``.value``), which
is how the tests run them without a browser. One per notebook (01-12), in order:
WalkExplorer, PtcrExplorer, QuadrantExplorer, Walk2DExplorer, SetPartitionTableExplorer,
LpidMapExplorer and RaceExplorer, EnterNestedTimelineExplorer, ShadowTreesExplorer,
TlbieExplorer, CopyToFromGuestExplorer, ClassroomDemoExplorer, ReviewThreadExplorer and
NestedTableCostExplorer.
"""

from .base import Explorer, parse_number
from .classroom_explorer import ClassroomDemoExplorer
from .copy_explorer import CopyToFromGuestExplorer
from .lpid_explorer import LpidMapExplorer
from .ptcr_explorer import PtcrExplorer
from .quadrant_explorer import QuadrantExplorer
from .race_explorer import RaceExplorer
from .review_explorer import NestedTableCostExplorer, ReviewThreadExplorer
from .set_ptbl_explorer import SetPartitionTableExplorer
from .shadow_explorer import ShadowTreesExplorer
from .timeline_explorer import EnterNestedTimelineExplorer
from .tlbie_explorer import TlbieExplorer
from .walk2d_explorer import Walk2DExplorer
from .walk_explorer import WalkExplorer

__all__ = [
    "ClassroomDemoExplorer",
    "CopyToFromGuestExplorer",
    "EnterNestedTimelineExplorer",
    "Explorer",
    "LpidMapExplorer",
    "NestedTableCostExplorer",
    "PtcrExplorer",
    "QuadrantExplorer",
    "RaceExplorer",
    "ReviewThreadExplorer",
    "SetPartitionTableExplorer",
    "ShadowTreesExplorer",
    "TlbieExplorer",
    "Walk2DExplorer",
    "WalkExplorer",
    "parse_number",
]
