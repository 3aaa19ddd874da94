"""Build the static classroom site: every notebook as HTML, widgets drawn from saved state.

    python tools/build_site.py [--out site] [--js DIR] [--notebooks DIR] [--working-tree]
                               [--no-steps]

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
Except one: an explorer whose cell builds it on its own and which has a short step
slider (at most MAX_FRAMES values) is recorded at every value by pynest at build time --
only if pynest still shows exactly the picture the notebook saved -- and the page gets
the recordings in a Stack that the slider, jslinked, steps through without a kernel
(``--no-steps`` leaves them switched off). An ``index.html`` lists the notebooks in
teaching order with each one's first paragraph.

The widget renderer (``embed-amd.js`` of @jupyter-widgets/html-manager 1.x, the one
ipywidgets 8 uses), the Font Awesome fonts it loads from its own folder (the play and
button icons) and ``require.js`` are copied next to the pages, so the site works from
``file://`` and offline; nbconvert's default would fetch them from unpkg and cdnjs. They
come from the npm registry (``npm pack``) into ``--js`` once and are reused afterwards.
"""

from __future__ import annotations

import argparse
import ast
import base64
import builtins
import contextlib
import copy
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

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


def _banner(kind: str, steps: StepThrough | None = None) -> dict:
    text = BANNERS[kind]
    if steps is not None:
        text = (
            f"<b>A recorded explorer:</b> its <i>{html.escape(steps.control)}</i> slider "
            f"steps through {steps.frames} pictures recorded when the site was built; open "
            "this notebook in JupyterLab to drive the rest (<code>make lab</code>). Its "
            "other controls are switched off."
        )
    text = f'<div class="pynest-recorded" role="note" style="{BANNER_STYLE}">{text}</div>'
    return {"output_type": "display_data", "metadata": {}, "data": {"text/html": text}}


def recorded(nb: dict, steps: bool = True) -> dict:
    """A copy of ``nb`` as the site shows it: a banner before every widget output, and
    every control of the saved widget state switched off -- except that, with
    ``steps``, an explorer that :func:`step_through` can record is replaced by its
    recording, whose step slider works without a kernel."""
    nb = copy.deepcopy(nb)
    models = _state(nb)
    for cell in nb.get("cells", []):
        shown = []
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW)
            if not isinstance(view, dict):
                shown.append(out)
                continue
            kind = _kind(cell)
            rec = None
            if steps and kind == "explorer":
                rec = step_through(cell, models, str(view.get("model_id", "")))
            if rec is not None:
                models.update(rec.state)
                view["model_id"] = rec.model_id
            shown += [_banner(kind, rec), out]
        if "outputs" in cell:
            cell["outputs"] = shown
    for model in models.values():
        state = model.get("state", {})
        if "disabled" in state and STEPS_CLASS not in state.get("_dom_classes", []):
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


# ---------------------------------------------------------------- recorded steps
MAX_FRAMES = 16
"""An explorer whose step slider has at most this many values is recorded at each."""
STEPS_CLASS = "pynest-steps"
"""The CSS class of a recorded step slider (left switched on)."""


class StepThrough(NamedTuple):
    """An explorer recorded at every value of one slider: a Stack of whole explorers
    (one per value, each drawn by pynest at the build) whose sliders are jslinked to
    the Stack's selected index, so moving the visible one shows the next recording."""

    model_id: str  # the Stack, which replaces the explorer's widget output
    state: dict[str, Any]  # its models, for the notebook's widget state
    control: str  # the slider's description
    frames: int


def _factory(source: str) -> Callable[[], Any] | None:
    """Builds the explorer a cell shows, if the cell is self-contained (it imports
    what it uses) and ends with the explorer's name; None otherwise."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    last = tree.body[-1] if tree.body else None
    if not (isinstance(last, ast.Expr) and isinstance(last.value, ast.Name)):
        return None
    name, code = last.value.id, compile(tree, "<explorer cell>", "exec")

    def make() -> Any:
        namespace: dict[str, Any] = {}
        with contextlib.redirect_stdout(io.StringIO()):
            exec(code, namespace)  # the repository's own notebook cell
        return namespace[name]

    return make


def _controls(explorer: Any) -> list[Any]:
    from pynest.widgets.base import descendants

    seen: dict[int, Any] = {}
    for top in explorer.controls():
        for widget in descendants(top):
            seen.setdefault(id(widget), widget)
    return list(seen.values())


def _data(data: dict[str, Any]) -> dict[str, str]:
    """An output's data as JSON keeps it: bytes in base64, text joined."""
    out = {}
    for mime, value in data.items():
        if isinstance(value, bytes):
            value = base64.b64encode(value).decode("ascii")
        elif isinstance(value, list):
            value = "".join(value)
        out[mime] = value if isinstance(value, str) else json.dumps(value)
    return out


def _pictures(outputs: list[dict]) -> list[dict[str, str]]:
    """What outputs show, without the text/plain fallbacks (``<...Image object>``)."""
    return [
        {k: v for k, v in _data(o.get("data", {})).items() if k != "text/plain"}
        for o in outputs
        if o.get("data")
    ]


def _saved_pictures(saved: dict[str, Any], model_id: str) -> list[dict[str, str]] | None:
    """What the Output widgets inside the saved widget ``model_id`` show, in tree
    order; None if a model is missing."""
    pictures: list[dict[str, str]] = []
    todo, seen = [model_id], set()
    while todo:
        current = todo.pop(0)
        if current in seen:
            continue
        seen.add(current)
        model = saved.get(current)
        if model is None:
            return None
        state = model.get("state", {})
        if model.get("model_name") == "OutputModel":
            pictures += _pictures(state.get("outputs") or [])
        todo += list(_references(state))
    return pictures


class _NoKernel:
    """Stands for ``get_ipython().kernel``: explorers display as in a notebook, and
    an Output widget, finding no parent message, leaves the displays to IPython."""


@contextlib.contextmanager
def _displays() -> Iterator[list[dict] | None]:
    """Everything displayed inside the block, as notebook outputs (the list is filled
    when the block ends), by an in-process IPython shell posing as a kernel; None
    inside a real IPython session, where that would display for real."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output
    from traitlets.config import Config

    if InteractiveShell.initialized():
        yield None
        return
    config = Config()
    config.HistoryManager.enabled = False
    builtins_before = set(vars(builtins))
    shell = InteractiveShell.instance(config=config)
    shell.kernel = _NoKernel()
    outputs: list[dict] = []
    try:
        with capture_output() as captured:
            yield outputs
        for o in captured.outputs:  # IPython's RichOutput
            data, metadata = _data(o.data), o.metadata or {}
            outputs.append({"output_type": "display_data", "metadata": metadata, "data": data})
    finally:
        del shell.kernel
        InteractiveShell.clear_instance()
        for name in set(vars(builtins)) - builtins_before:  # __IPYTHON__, display
            delattr(builtins, name)


def step_through(cell: dict, saved: dict[str, Any], model_id: str) -> StepThrough | None:
    """The explorer of ``cell`` recorded at every value of its step slider (the first
    enabled IntSlider with 2..MAX_FRAMES values starting at 0, 1 or 2), or None when
    that cannot be faithful: the cell does not build an explorer on its own, it has no
    such slider, a step shows nothing, or pynest today does not show what the notebook
    saved."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    import ipywidgets as w
    from ipywidgets.embed import dependency_state

    from pynest.widgets.base import Explorer

    make = _factory(_source(cell))
    if make is None:
        return None

    def record(value: int | None) -> tuple[Any, int | None, list[dict]]:
        """A fresh explorer moved to ``value`` (None: as built), what it shows."""
        with _displays() as outputs:
            explorer = make()
            if not isinstance(explorer, Explorer) or outputs is None:
                return None, None, []
            controls = _controls(explorer)
            found = [
                i
                for i, c in enumerate(controls)
                if isinstance(c, w.IntSlider)
                and not c.disabled
                and 2 <= c.max - c.min + 1 <= MAX_FRAMES
                and 0 <= c.min <= 2
            ]
            if found and value is not None:
                with contextlib.redirect_stdout(io.StringIO()):
                    controls[found[0]].value = value
        # (``outputs`` is filled when the block ends)
        return explorer, (found[0] if found else None), outputs

    try:
        first, index, shown = record(None)
    except Exception:  # a cell that needs earlier cells: keep the switched-off recording
        return None
    if first is None or index is None or not shown:
        return None
    if _pictures(shown) != _saved_pictures(saved, model_id):
        return None
    slider = _controls(first)[index]
    start, frames, sliders = slider.value, [], []
    for value in range(slider.min, slider.max + 1):
        try:
            explorer, _index, outputs = (first, index, shown) if value == start else record(value)
        except Exception:
            return None
        if explorer is None or not _pictures(outputs):
            return None
        explorer.output.outputs = tuple(outputs)
        control = _controls(explorer)[index]
        control.add_class(STEPS_CLASS)
        frames.append(explorer.widget)
        sliders.append(control)
    # Stack index = slider value: values below the slider's minimum get empty frames
    stack = w.Stack(children=[w.HTML("") for _ in range(slider.min)] + frames)
    stack.selected_index = start
    links = [w.jslink((s, "value"), (stack, "selected_index")) for s in sliders]
    state = dependency_state([stack, *links], drop_defaults=False)
    for s in sliders:  # every copy starts at the shown value, so the links agree
        state[s.model_id]["state"]["value"] = start
    return StepThrough(stack.model_id, state, str(slider.description), len(frames))


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
here, except some step sliders, which go through pictures recorded when these pages were
built; run the notebooks with <code>make lab</code>, where the explorers answer.</p>
<ol class="notebooks">
{items}
</ol>
</body></html>
"""


def build(
    out: Path,
    js_dir: Path,
    notebooks: Path = NOTEBOOKS,
    working_tree: bool = False,
    steps: bool = True,
) -> list[Path]:
    """Write ``out/index.html`` and one page per notebook; returns the pages written.
    Raises SiteError (before writing any page) if a notebook's widget state is missing.
    ``steps``: record explorers step by step where :func:`step_through` can."""
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
        shown = recorded(nb, steps)
        body, _ = exporter.from_notebook_node(
            nbformat.reads(json.dumps(shown), as_version=4),
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
        stepped = [m for _i, _c, _j, m in widget_outputs(shown) if m not in _state(nb)]
        note = f" ({len(stepped)} explorer(s) recorded step by step)" if stepped else ""
        print(f"build_site: {page.name}{note}", flush=True)
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
        "--no-steps",
        action="store_true",
        help="do not record step sliders (faster; every explorer only switched off)",
    )
    ap.add_argument(
        "--working-tree",
        action="store_true",
        help="build the notebooks as they are on disk, not their committed versions",
    )
    args = ap.parse_args(argv)
    try:
        pages = build(args.out, args.js, args.notebooks, args.working_tree, not args.no_steps)
    except SiteError as e:
        print(f"build_site: {e}", file=sys.stderr)
        return 1
    print(f"build_site: {len(pages)} notebooks and index.html in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
