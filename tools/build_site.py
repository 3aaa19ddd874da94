"""Build the static classroom site: every notebook as HTML, widgets drawn from saved state.

    python tools/build_site.py [--out site] [--js DIR] [--notebooks DIR] [--working-tree]

Each notebook is converted from its *committed* version (``git show HEAD:...``): the
outputs nbval checks and the widget state ``make execute`` saved. A working copy that
JupyterLab has autosaved after use is not read (its outputs can point at widgets whose
state is gone); ``--working-tree`` builds the files as they are on disk instead, e.g.
right after ``make execute``. Outside a git checkout the files on disk are used.

Before converting, every widget output is checked against the notebook's saved widget
state; an output whose model (or a model it contains) is missing stops the build with
the notebook's name and the ``make execute`` line that repairs it. On the pages, every
explorer and exercise form gets a banner saying it is a recording, and its controls
are switched off (``disabled`` in the saved state): there is no kernel to answer them.
An ``index.html`` lists the notebooks in teaching order with each one's first paragraph.

The widget renderer (``embed-amd.js`` of @jupyter-widgets/html-manager 1.x, the one
ipywidgets 8 uses), the Font Awesome fonts it loads from its own folder (the play and
button icons) and ``require.js`` are copied next to the pages, so the site works from
``file://`` and offline; nbconvert's default would fetch them from unpkg and cdnjs. They
come from the npm registry (``npm pack``) into ``--js`` once and are reused afterwards.
"""

from __future__ import annotations

import argparse
import copy
import html
import json
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# (npm package, members of its tarball to keep: a regex on the path); the fonts are
# webpack assets embed-amd.js asks for next to itself (hashed names)
JS_PACKAGES = (
    (
        "@jupyter-widgets/html-manager@1.0.15",
        r"package/dist/(embed-amd\.js|[0-9a-f]{20}\.woff2?)",
    ),
    ("requirejs@2.3.8", r"package/require\.js"),
)
# where the pages ask for those fonts: the widget CSS is in embed-amd.js twice, once per
# AMD module that carries it, and each copy's font URLs are relative to its module id
FONT_DIRS = ("@jupyter-widgets", "@jupyter-widgets/html-manager/dist")
BANNER_STYLE = (
    "margin:0.3em 0 0.5em 0;padding:0.55em 0.9em;border-left:6px solid #E69F00;"
    "background:#FFF4DB;color:#222;font-size:16px;line-height:1.4;"
    "font-family:'Liberation Sans',Arial,sans-serif"
)
BANNERS = {
    "explorer": (
        "<b>A recorded explorer:</b> open this notebook in JupyterLab to drive it "
        "(<code>make lab</code>). Here its controls are switched off and the picture "
        "is the one saved when the notebook was last run."
    ),
    "exercise": (
        "<b>A recorded exercise:</b> open this notebook in JupyterLab to answer it "
        "(<code>make lab</code>). Here the answer box and buttons are switched off."
    ),
}


class SiteError(Exception):
    """A notebook the site cannot be built from; the message says what to do."""


# ---------------------------------------------------------------- the JavaScript
def fetch_js(js_dir: Path) -> list[Path]:
    """The widget renderer, its fonts and require.js in ``js_dir``, packed from npm
    unless a previous run left them there (listed in a ``.files`` manifest)."""
    js_dir.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    for package, members in JS_PACKAGES:
        manifest = js_dir / (re.sub(r"[^\w.-]", "_", package) + ".files")
        names = manifest.read_text().split() if manifest.exists() else []
        if not names or not all((js_dir / n).exists() for n in names):
            names = _npm_unpack(package, members, js_dir)
            manifest.write_text("\n".join(names) + "\n")
        out += [js_dir / n for n in names]
    return out


def _npm_unpack(package: str, members: str, js_dir: Path) -> list[str]:
    if shutil.which("npm") is None:
        raise SiteError(
            f"need npm package {package} (the widget renderer), but npm is not installed: "
            f"apt-get install npm, or unpack its files into {js_dir}"
        )
    print(f"build_site: npm pack {package}", flush=True)
    tgz = subprocess.run(
        ["npm", "pack", "--silent", package],
        cwd=js_dir,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[-1]
    names = []
    with tarfile.open(js_dir / tgz) as tar:
        for member in tar.getmembers():
            data = tar.extractfile(member) if re.fullmatch(members, member.name) else None
            if data is not None:
                name = Path(member.name).name
                (js_dir / name).write_bytes(data.read())
                names.append(name)
    (js_dir / tgz).unlink()
    if not names:
        raise SiteError(f"nothing matching {members} in {tgz}")
    return sorted(names)


# ---------------------------------------------------------------- reading notebooks
def read_notebook(path: Path, working_tree: bool = False) -> tuple[dict, str]:
    """The notebook to build ``path`` from, and where it came from: the committed
    version unless ``working_tree`` (or git does not know the file)."""
    on_disk = path.read_text(encoding="utf-8")
    if working_tree:
        return json.loads(on_disk), "working tree"
    try:
        committed = subprocess.run(
            ["git", "show", f"HEAD:./{path.name}"],
            cwd=path.parent,
            check=True,
            capture_output=True,
            text=True,
            encoding="utf-8",
        ).stdout
    except (OSError, subprocess.CalledProcessError):  # no git, not a checkout, untracked
        return json.loads(on_disk), "working tree"
    if committed != on_disk:
        print(
            f"build_site: {path.parent.name}/{path.name} differs from its committed version "
            "(saved in JupyterLab?); the page shows the committed one "
            "(--working-tree builds the file on disk)",
            flush=True,
        )
    return json.loads(committed), "committed"


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return src if isinstance(src, str) else "".join(src)


def widget_outputs(nb: dict) -> Iterator[tuple[int, dict, int, str]]:
    """(cell number, cell, output number, model id) of every widget view in ``nb``."""
    for i, cell in enumerate(nb.get("cells", [])):
        for j, out in enumerate(cell.get("outputs", [])):
            view = out.get("data", {}).get(WIDGET_VIEW)
            if isinstance(view, dict):
                yield i, cell, j, str(view.get("model_id", ""))


def _state(nb: dict) -> dict[str, Any]:
    widgets = nb.get("metadata", {}).get("widgets", {})
    return widgets.get(WIDGET_STATE, {}).get("state", {}) or {}


def _references(value: Any) -> Iterator[str]:
    """Model ids named inside a widget's state (``"IPY_MODEL_<id>"`` strings)."""
    if isinstance(value, str) and value.startswith("IPY_MODEL_"):
        yield value.removeprefix("IPY_MODEL_")
    elif isinstance(value, dict):
        for v in value.values():
            yield from _references(v)
    elif isinstance(value, list):
        for v in value:
            yield from _references(v)


def missing_models(nb: dict) -> list[tuple[int, str]]:
    """(cell number, model id) for each widget output that cannot be drawn: its model,
    or one of the models it contains, is not in the saved widget state."""
    state = _state(nb)
    broken = []
    for i, _cell, _j, model_id in widget_outputs(nb):
        todo, seen = [model_id], set()
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            if current not in state:
                broken.append((i, current))
                break
            todo += _references(state[current].get("state", {}))
    return broken


def check_widget_state(nb: dict, name: str, source: str) -> None:
    """Raise SiteError, naming the notebook and the repair, if a widget output of
    ``nb`` has no saved state."""
    broken = missing_models(nb)
    if not broken:
        return
    cells = ", ".join(str(i) for i in sorted({i for i, _ in broken}))
    repair = f"make execute NB=notebooks/{name}"
    then = (
        "then commit it (the site is built from the committed notebooks) or build with "
        "`make html SITE_ARGS=--working-tree`"
        if source == "committed"
        else "then build again"
    )
    raise SiteError(
        f"notebooks/{name} ({source}): {len(broken)} widget output(s) in cell(s) {cells} "
        "have no saved widget state, so their pages would show empty explorers (a "
        "notebook saved from JupyterLab keeps the outputs but not the widgets). "
        f"Re-run it with `{repair}`, {then}."
    )


# ---------------------------------------------------------------- making it static
def _kind(cell: dict) -> str:
    lines = [x.split("#")[0].strip() for x in _source(cell).splitlines()]
    lines = [x for x in lines if x]
    return "exercise" if lines and lines[-1].endswith(".widget()") else "explorer"


def _banner(kind: str) -> dict:
    text = f'<div class="pynest-recorded" role="note" style="{BANNER_STYLE}">{BANNERS[kind]}</div>'
    return {"output_type": "display_data", "metadata": {}, "data": {"text/html": text}}


def recorded(nb: dict) -> dict:
    """A copy of ``nb`` as the site shows it: a banner before every widget output and
    every control of the saved widget state switched off."""
    nb = copy.deepcopy(nb)
    for cell in nb.get("cells", []):
        outputs = cell.get("outputs", [])
        if any(WIDGET_VIEW in o.get("data", {}) for o in outputs):
            kind = _kind(cell)
            cell["outputs"] = [
                part
                for o in outputs
                for part in ([_banner(kind), o] if WIDGET_VIEW in o.get("data", {}) else [o])
            ]
    models = _state(nb)
    for model in models.values():
        state = model.get("state", {})
        if "disabled" in state:
            state["disabled"] = True
        if model.get("model_name") == "LinkModel":
            _agree(models, state)
    return nb


def _agree(models: dict[str, Any], link: dict) -> None:
    """Make a saved jslink's two ends agree, as the target holds them: the kernel set
    the target (a slider) with no browser to pass it on, so the source (a Play) still
    has its first value, and the page would copy that back over the slider."""
    try:
        (source, source_attr), (target, target_attr) = link["source"], link["target"]
        src = models[source.removeprefix("IPY_MODEL_")]["state"]
        value = models[target.removeprefix("IPY_MODEL_")]["state"][target_attr]
    except (KeyError, TypeError, ValueError):
        return
    src[source_attr] = value


# ---------------------------------------------------------------- the pages
def _title_and_blurb(nb: dict) -> tuple[str, str]:
    """The first heading of the notebook and the first prose paragraph after it."""
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        lines = _source(cell).strip().splitlines()
        if not lines or not lines[0].startswith("# "):
            continue
        title = lines[0][2:].strip()
        paragraphs = [p.strip() for p in "\n".join(lines[1:]).split("\n\n") if p.strip()]
        prose = [p for p in paragraphs if not p.startswith(("#", "|", "-", "*", ">"))]
        blurb = re.sub(r"[*`]", "", " ".join((prose[0] if prose else "").split()))
        return title, blurb
    return "(untitled)", ""


INDEX = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>pynest: POWER9 nested virtualization, the notebooks</title>
<style>
body {{ font-family: "Liberation Sans", Arial, sans-serif; max-width: 60em; margin: 2em auto;
       font-size: 18px; line-height: 1.45; color: #111; }}
li {{ margin: 0.8em 0; }} a {{ color: #0072B2; font-weight: bold; }}
.blurb {{ color: #333; }}
</style></head>
<body>
<h1>pynest: POWER9 nested virtualization</h1>
<p>The notebooks of the suite as static pages: every figure, and every explorer as it
was recorded when the notebook was last run. The explorers' controls are switched off
here; run the notebooks with <code>make lab</code>, where the explorers answer.</p>
<ol class="notebooks">
{items}
</ol>
</body></html>
"""


def build(
    out: Path, js_dir: Path, notebooks: Path = NOTEBOOKS, working_tree: bool = False
) -> list[Path]:
    """Write ``out/index.html`` and one page per notebook; returns the pages written.
    Raises SiteError (before writing any page) if a notebook's widget state is missing."""
    import nbformat
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    paths = sorted(notebooks.glob("[0-9][0-9]_*.ipynb"))
    sources = {p: read_notebook(p, working_tree) for p in paths}
    for path, (nb, source) in sources.items():
        check_widget_state(nb, path.name, source)
    out.mkdir(parents=True, exist_ok=True)
    for js in fetch_js(js_dir):
        if js.suffix == ".js":
            shutil.copy2(js, out / js.name)
            continue
        for folder in FONT_DIRS:
            (out / folder).mkdir(parents=True, exist_ok=True)
            shutil.copy2(js, out / folder / js.name)
    config = Config()
    config.HTMLExporter.require_js_url = "require.js"
    config.HTMLExporter.widget_renderer_url = "embed-amd.js"
    config.HTMLExporter.mathjax_url = ""  # no LaTeX in the suite; no CDN request
    exporter = HTMLExporter(config=config)
    pages, items = [], []
    for path, (nb, _source_name) in sources.items():
        body, _ = exporter.from_notebook_node(
            nbformat.reads(json.dumps(recorded(nb)), as_version=4),
            resources={"metadata": {"name": path.stem}},
        )
        page = out / (path.stem + ".html")
        page.write_text(body, encoding="utf-8")
        pages.append(page)
        title, blurb = _title_and_blurb(nb)
        items.append(
            f'<li><a href="{page.name}">{html.escape(title)}</a>'
            f'<div class="blurb">{html.escape(blurb)}</div></li>'
        )
        print(f"build_site: {page.name}", flush=True)
    (out / "index.html").write_text(INDEX.format(items="\n".join(items)), encoding="utf-8")
    return pages


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="build the static classroom site")
    ap.add_argument("--out", type=Path, default=ROOT / "site", help="output folder (site/)")
    ap.add_argument(
        "--js", type=Path, default=ROOT / ".cache" / "site-js", help="where the JS is kept"
    )
    ap.add_argument("--notebooks", type=Path, default=NOTEBOOKS, help="where the notebooks are")
    ap.add_argument(
        "--working-tree",
        action="store_true",
        help="build the notebooks as they are on disk, not their committed versions",
    )
    args = ap.parse_args(argv)
    try:
        pages = build(args.out, args.js, args.notebooks, args.working_tree)
    except SiteError as e:
        print(f"build_site: {e}", file=sys.stderr)
        return 1
    print(f"build_site: {len(pages)} notebooks and index.html in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
