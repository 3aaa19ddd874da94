"""nbval's markers are cell tags, not comments (issue 15 item 7): no code cell starts
with a visible ``# NBVAL_...`` line, every cell that shows a widget carries the
``nbval-ignore-output`` tag (nbval cannot compare widget views), no other cell does, and
a stored widget output says in words what to do where no kernel drew it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NB_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))
TAG = "nbval-ignore-output"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PLACEHOLDER = re.compile(
    r"^(.+ explorer: run this cell to drive it"
    r"|Exercise \([\w-]+, seed \d+\): run this cell to answer it)$"
)


def _cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"]]


def _source(cell: dict) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def _shows_widget(cell: dict) -> bool:
    """A widget view among the stored outputs, or a last line that displays one."""
    if any(WIDGET_VIEW in o.get("data", {}) for o in cell.get("outputs", [])):
        return True
    lines = [x for x in _source(cell).splitlines() if x.strip()]
    last = lines[-1].split("#")[0].strip() if lines else ""
    return last.endswith(".widget()") or bool(re.search(r"Explorer\(.*\)$", last))


def _where(path: Path, cell: dict) -> str:
    return f"{path.name} cell {cell.get('id')}: {_source(cell)[:60]!r}"


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 13


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_nbval_comment_in_any_cell(path: Path):
    for cell in _cells(path):
        assert "NBVAL" not in _source(cell), _where(path, cell)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_widget_cells_and_only_they_are_tagged(path: Path):
    for cell in _cells(path):
        if cell["cell_type"] != "code":
            continue
        tagged = TAG in cell.get("metadata", {}).get("tags", [])
        assert tagged == _shows_widget(cell), _where(path, cell)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_widget_outputs_show_the_placeholder(path: Path):
    for cell in _cells(path):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW not in data:
                continue
            plain = data.get("text/plain", "")
            plain = plain if isinstance(plain, str) else "".join(plain)
            assert PLACEHOLDER.match(plain), (
                f"{_where(path, cell)} stores {plain[:60]!r}; re-execute it with "
                f"`make execute NB=notebooks/{path.name}`"
            )
