"""Every "Try:" prompt has a discussion to check against (issue 15 item 10).

A prompt is a markdown paragraph that starts with ``Try:``. Right after it (in the same
cell, or first thing in the next markdown cell) there must be a collapsed
``<details><summary>Discussion</summary> ... </details>`` block with real content: a
blank line after the summary (so JupyterLab renders the markdown inside) and at least one
bullet. Notebook 11 (the classroom demo) and 13 (the glossary) are not covered here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
COVERED = sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb") if p.name[:2] not in ("11", "13"))
_OPEN = "<details><summary>Discussion</summary>"


def _markdown(path: Path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in nb["cells"]
        if c["cell_type"] == "markdown"
    ]


def problems(cells: list[str]) -> tuple[int, list[str]]:
    """(number of prompts, what is wrong) for the markdown cells of one notebook."""
    found, wrong = 0, []
    for i, text in enumerate(cells):
        for m in re.finditer(r"(?m)^Try:", text):
            found += 1
            end = text.find("\n\n", m.start())
            after = text[end:].lstrip() if end != -1 else ""
            if not after and i + 1 < len(cells):
                after = cells[i + 1].lstrip()
            prompt = text[m.start() : m.start() + 50].replace("\n", " ")
            if not after.startswith(_OPEN):
                wrong.append(f"{prompt!r}... is not followed by a Discussion block")
                continue
            close = after.find("</details>")
            body = after[len(_OPEN) : close] if close != -1 else ""
            if close == -1:
                wrong.append(f"{prompt!r}...: the Discussion block is never closed")
            elif not body.startswith("\n\n"):
                wrong.append(f"{prompt!r}...: no blank line after the summary")
            elif not re.search(r"(?m)^\* \S", body) or len(body.strip()) < 80:
                wrong.append(f"{prompt!r}...: the Discussion says next to nothing")
    return found, wrong


@pytest.mark.parametrize("path", COVERED, ids=lambda p: p.stem)
def test_every_try_prompt_has_a_discussion(path):
    _found, wrong = problems(_markdown(path))
    assert not wrong, f"{path.name}: " + "; ".join(wrong)


def test_the_prompts_are_found():
    counts = {p.name: problems(_markdown(p))[0] for p in COVERED}
    assert sum(counts.values()) >= len(COVERED) - 1, counts  # every explorer has its list
    assert all(n for name, n in counts.items() if not name.startswith("00")), counts


def test_a_missing_or_empty_discussion_is_caught():
    prompt = "## Explore\n\nTry: slide it."
    assert problems([prompt])[1]
    assert problems([prompt + "\n\n<details><summary>Discussion</summary>\n\n* x\n"])[1]
    assert problems([prompt + "\n\n<details><summary>Discussion</summary>\n* a b\n</details>"])[1]
    good = "* **slide**: the walk stops one level earlier, because the leaf is a 2 MiB page here."
    ok = f"{prompt}\n\n<details><summary>Discussion</summary>\n\n{good}\n\n</details>"
    assert problems([ok]) == (1, [])
    assert problems([prompt, f"<details><summary>Discussion</summary>\n\n{good}\n</details>"]) == (
        1,
        [],
    )
