"""Explorers: ipywidgets front ends that drive the model and redraw a figure.

Importing this package imports ipywidgets and matplotlib (``import pynest`` does not).
In a notebook, an explorer is one line -- ``WalkExplorer()`` as the last expression of a
cell. Every explorer can also be driven from Python (set a control's ``.value``), which
is how the tests run them without a browser.
"""

from .base import Explorer, parse_number
from .ptcr_explorer import PtcrExplorer
from .walk_explorer import WalkExplorer

__all__ = ["Explorer", "PtcrExplorer", "WalkExplorer", "parse_number"]
