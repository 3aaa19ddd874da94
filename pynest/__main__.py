"""``python -m pynest``: the command-line interface (see :mod:`pynest.cli`)."""

import sys

from .cli import main

sys.exit(main())
