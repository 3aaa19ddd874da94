"""Every concept notebook follows the shape DESIGN.md gives the suite.

Title naming the patch(es) -> "What you will learn" -> the concept with a figure ->
code that drives the model -> an explorer -> "In the kernel" -> "Check yourself" ->
summary and next step; executed, with outputs stored, kernelspec ``python3``.

The checks read the notebook JSON only (headings, sources, stored outputs); nbval runs
the notebooks themselves (``make test``).
"""

import json
import re
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
EXEMPT = {
    # The map of the suite: how to use it, not one concept, so it has no explorer,
    # kernel section or exercises of its own.
    "00_start_here.ipynb",
    # The dictionary of the suite (every acronym, the field cheat sheet): a reference page,
    # checked by test_glossary.py instead.
    "13_glossary.ipynb",
}
NOTEBOOKS = sorted(p for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb") if p.name not in EXEMPT)

# (name, heading pattern) in the order they must appear
SECTIONS = [
    ("what you will learn", r"what you will learn"),
    ("concept", r"\bconcept\b"),
    ("model", r"\bmodel\b"),
    ("explorer", r"\bexplor"),
    ("in the kernel", r"^in the kernel"),
    ("check yourself", r"^check yourself"),
    ("summary", r"^summary"),
]

MARKER = "nbval-ignore-output"  # the cell tag nbval honours


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell: dict) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _headings(nb: dict) -> list[tuple[int, int, str]]:
    """(cell index, level, text) of every markdown heading."""
    out = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        for line in _source(cell).splitlines():
            m = re.match(r"^(#+)\s+(.*)$", line)
            if m:
                out.append((i, len(m.group(1)), m.group(2).strip()))
    return out


def _section_spans(nb: dict) -> dict[str, tuple[int, int]]:
    """Cell index range [start, end) of each required section, found in order."""
    heads = [h for h in _headings(nb) if h[1] == 2]
    found: dict[str, int] = {}
    pos = 0
    for name, pattern in SECTIONS:
        for j in range(pos, len(heads)):
            if re.search(pattern, heads[j][2].lower()):
                found[name] = j
                pos = j + 1
                break
    spans = {}
    for name, j in found.items():
        start = heads[j][0]
        end = heads[j + 1][0] if j + 1 < len(heads) else len(nb["cells"])
        spans[name] = (start, end)
    return spans


def _code_cells(nb: dict, span: tuple[int, int]) -> list[dict]:
    return [c for c in nb["cells"][span[0] : span[1]] if c["cell_type"] == "code"]


def test_there_are_notebooks():
    if not NOTEBOOKS:
        pytest.skip("no concept notebooks yet")
    assert all(p.suffix == ".ipynb" for p in NOTEBOOKS)


@pytest.fixture(params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def nb(request):
    return _load(request.param)


def test_title_names_the_patch(nb):
    first = nb["cells"][0]
    assert first["cell_type"] == "markdown"
    text = _source(first)
    assert text.startswith("# "), "the first cell starts with the notebook's title"
    assert "KVM: PPC" in text or "patch" in text.lower(), "the title cell names the patch(es)"


def test_sections_in_order(nb):
    spans = _section_spans(nb)
    missing = [name for name, _ in SECTIONS if name not in spans]
    assert not missing, f"missing or out-of-order sections: {missing}"


def test_concept_has_a_figure(nb):
    cells = _code_cells(nb, _section_spans(nb)["concept"])
    images = [o for c in cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images, "the concept section shows at least one stored figure"


def test_model_section_drives_the_model(nb):
    cells = _code_cells(nb, _section_spans(nb)["model"])
    sources = "\n".join(_source(c) for c in cells)
    assert re.search(r"translate\(|\.map\(|set_entry\(|Ptcr\.", sources)
    assert any(c.get("outputs") for c in cells), "the model section prints what it computed"


def test_explorer_cell(nb):
    cells = _code_cells(nb, _section_spans(nb)["explorer"])
    explorers = [c for c in cells if "Explorer(" in _source(c)]
    assert explorers, "the explorer section builds an explorer"
    for cell in explorers:
        # the Output widget's captured pictures live in the widget state, which nbval
        # does not model (see research/jupyter-toolchain.md section 2)
        assert MARKER in _tags(cell)


def test_check_yourself_has_exercises(nb):
    cells = _code_cells(nb, _section_spans(nb)["check yourself"])
    sources = "\n".join(_source(c) for c in cells)
    assert "seed" in sources and (".check(" in sources or ".widget()" in sources)


def test_summary_points_to_the_next_step(nb):
    start, end = _section_spans(nb)["summary"]
    text = "\n".join(_source(c) for c in nb["cells"][start:end]).lower()
    assert "next" in text


def test_executed_and_clean(nb):
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        assert cell["execution_count"] is not None, "every code cell has been run"
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", _source(cell)[:80]
            text = out.get("text", "")
            text = text if isinstance(text, str) else "".join(text)
            assert "Traceback" not in text
            assert out.get("name") != "stderr", f"stderr output in: {_source(cell)[:80]}"
            plain = out.get("data", {}).get("text/plain", "")
            plain = plain if isinstance(plain, str) else "".join(plain)
            for leak in ("/work/", "/tmp/", "/root/", " at 0x7f"):
                assert leak not in text + plain, f"machine-specific output: {leak}"


def test_ignore_markers_only_where_needed(nb):
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and MARKER in _tags(cell):
            src = _source(cell)
            assert "Explorer(" in src or ".widget()" in src, (
                "nbval-ignore-output is for widget cells only: " + src[:80]
            )
