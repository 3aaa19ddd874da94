"""`make lab` is the students' JupyterLab: nbgrader, installed for the teachers' tools
(the ``teach`` extra), shows no menu, toolbar button or sidebar there (the Makefile
switches its Lab and server extensions off in the venv)."""

from __future__ import annotations

from .conftest import TOKEN
from .test_notebooks_in_lab import IDLE


def test_no_nbgrader_menu_in_the_students_lab(page, lab):
    page.goto(f"{lab}/lab/tree/00_start_here.ipynb?token={TOKEN}&reset")
    page.wait_for_selector(IDLE, timeout=60_000)
    menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
    assert "Run" in menus and "Kernel" in menus, menus  # the menu bar is there
    assert not any("nbgrader" in m.lower() for m in menus), menus
    toolbar = page.locator(".jp-NotebookPanel-toolbar").inner_text()
    assert "Validate" not in toolbar, toolbar
    assert page.locator("text=Create Assignment").count() == 0
