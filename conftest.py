"""Shared by every pytest run here (the unit suite under tests/ and nbval over notebooks/).

Exercise progress is kept in a file in the user's home (:mod:`pynest.exercises.progress`);
the suite, the notebook kernels nbval starts and the Lab/Voila servers of the browser tests
inherit this process's environment, so switching it off here keeps every run from writing
there. Tests of the file itself give :class:`~pynest.exercises.progress.Progress` a path.
"""

from __future__ import annotations

import os


def pytest_configure(config: object) -> None:
    os.environ["PYNEST_PROGRESS"] = "off"
