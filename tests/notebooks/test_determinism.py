"""Determinism (issue 7): every notebook, executed twice, gives the same outputs, and
they equal the stored outputs wherever nbval compares them.

Each notebook is executed from an in-memory copy (nothing in ``notebooks/`` is written,
so this can run next to nbval or another copy of itself) with nbclient, kernel
``python3``, working directory ``notebooks/`` and MPLBACKEND removed (the inline backend
the notebooks were saved with), as ``make test`` runs nbval. Outputs are compared after
the sanitizers of ``tests/sanitize.cfg``, with consecutive stream outputs joined (as
nbval does), on what nbval compares: stream text, error name/value and every output
MIME type except images, JavaScript and the widget-view JSON.

Cells tagged ``nbval-ignore-output`` (explorers and exercise widgets) are compared
between the two runs on ``text/plain`` only, with widget model ids replaced; nbval
ignores them, so they are not compared with the stored outputs.
"""

from __future__ import annotations

import configparser
import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NB_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))
IGNORE = "nbval-ignore-output"  # the cell tag nbval honours
# what nbval leaves out of the comparison (its default skip list)
SKIP_MIME = {
    "image/png",
    "image/jpeg",
    "image/svg+xml",
    "application/javascript",
    "application/vnd.jupyter.widget-view+json",
    "application/vnd.jupyter.widget-state+json",
}
MODEL_ID = (re.compile(r"[0-9a-f]{32}"), "MODEL_ID")


def _sanitizers() -> list[tuple[re.Pattern[str], str]]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "tests" / "sanitize.cfg")
    subs = [(re.compile(cfg[s]["regex"]), cfg[s]["replace"]) for s in cfg.sections()]
    return [*subs, MODEL_ID]


SANITIZERS = _sanitizers()


def _clean(text: object) -> str:
    text = "".join(text) if isinstance(text, list) else str(text)
    for regex, repl in SANITIZERS:
        text = regex.sub(repl, text)
    return text


def _compared(outputs: list, plain_only: bool = False) -> list[tuple]:
    """The parts of a cell's outputs nbval compares, sanitized, streams joined."""
    out: list[tuple] = []
    for o in outputs:
        kind = o["output_type"]
        if kind == "stream":
            if out and out[-1][0] == "stream" and out[-1][1] == o["name"]:
                out[-1] = ("stream", o["name"], out[-1][2] + _clean(o["text"]))
            else:
                out.append(("stream", o["name"], _clean(o["text"])))
        elif kind == "error":
            out.append(("error", o["ename"], _clean(o["evalue"])))
        else:
            data = o.get("data", {})
            keys = ["text/plain"] if plain_only else sorted(set(data) - SKIP_MIME)
            out.append((kind, tuple((k, _clean(data[k])) for k in keys if k in data)))
    return out


def _execute(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    client = NotebookClient(
        nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(NB_DIR)}}
    )
    client.execute(env=env)
    return nb


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks yet")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_the_same_twice_and_as_stored(path: Path):
    stored = nbformat.read(path, as_version=4)
    first, second = _execute(path), _execute(path)
    cells = zip(stored.cells, first.cells, second.cells, strict=True)
    for i, (s, a, b) in enumerate(cells):
        if s.cell_type != "code":
            continue
        ignored = IGNORE in s.metadata.get("tags", [])
        where = f"{path.name} cell {i}: {s.source.splitlines()[0] if s.source else ''}"
        assert _compared(a.outputs, ignored) == _compared(b.outputs, ignored), (
            f"{where}: two runs differ"
        )
        if not ignored:
            assert _compared(a.outputs) == _compared(s.outputs), f"{where}: differs from stored"
