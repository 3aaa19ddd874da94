"""Every notebook ends with a "Next" link to the next one in teaching order (issue 15
item 10): the last paragraph of its last cell, a markdown cell, is exactly
``**Next:** [`NN_name`](NN_name.ipynb) — what it is``, and the glossary (13) leads back
to the first lesson."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
NEXT_RE = re.compile(
    r"\*\*Next:\*\* \[`(?P<name>[0-9]{2}_\w+)`\]\((?P<file>[^()\s]+)\) — (?P<what>\S.*)"
)


def _last_paragraph(path: Path) -> tuple[str, str]:
    cell = json.loads(path.read_text(encoding="utf-8"))["cells"][-1]
    paragraphs = re.split(r"\n\s*\n", "".join(cell["source"]).strip())
    return cell["cell_type"], paragraphs[-1]


def _expected_next(i: int) -> str:
    """The teaching order: 00, 01, ..., 12, the glossary 13, then back to lesson 01."""
    return PATHS[i + 1].stem if i + 1 < len(PATHS) else PATHS[1].stem


def test_the_suite_is_numbered_00_to_13_without_gaps():
    assert [p.name[:2] for p in PATHS] == [f"{i:02d}" for i in range(14)]


@pytest.mark.parametrize("i", range(len(PATHS)), ids=[p.stem for p in PATHS])
def test_the_last_paragraph_links_the_next_notebook(i):
    kind, paragraph = _last_paragraph(PATHS[i])
    assert kind == "markdown"
    m = NEXT_RE.fullmatch(paragraph)
    assert m, (
        f"{PATHS[i].name} does not end with '**Next:** [`NN_name`](NN_name.ipynb) — ...': "
        f"{paragraph!r}"
    )
    assert m["file"] == f"{m['name']}.ipynb"  # the shown name is the file linked
    assert (NOTEBOOKS / m["file"]).is_file()
    assert m["name"] == _expected_next(i)
    assert paragraph.count("**Next:**") == 1 and paragraph.count("](") == 1


def test_the_pattern_rejects_a_plain_name_or_a_mismatched_link():
    assert NEXT_RE.fullmatch("**Next:** [`02_a`](02_a.ipynb) — the partition table")
    assert not NEXT_RE.fullmatch("**Next:** `02_a` — the partition table")  # not a link
    assert not NEXT_RE.fullmatch("**Next:** [`02_a`](02_a.ipynb)")  # nothing on what it is
    assert not NEXT_RE.fullmatch("**Next:** [`02_a`](02_a.ipynb) — the\npartition table")
