"""Build the static classroom site: every notebook as HTML, widgets drawn from saved state.

    python tools/build_site.py [--out site] [--js DIR]

Each notebook in ``notebooks/`` is converted from its *stored* outputs (the ones nbval
checks), with the widget state nbclient saved in its metadata, so an explorer shows its
last picture and controls without a kernel (moving a control changes nothing: there is
nobody to answer). An ``index.html`` lists the notebooks in teaching order with the title
and the first paragraph of each.

The widget renderer (``embed-amd.js`` of @jupyter-widgets/html-manager 1.x, the one
ipywidgets 8 uses) and ``require.js`` are copied next to the pages, so the site works from
``file://`` and offline; nbconvert's default would fetch them from unpkg and cdnjs. They
come from the npm registry (``npm pack``) into ``--js`` once and are reused afterwards.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
# (npm package, file inside its tarball, name next to the pages)
JS_FILES = (
    ("@jupyter-widgets/html-manager@1.0.15", "package/dist/embed-amd.js", "embed-amd.js"),
    ("requirejs@2.3.8", "package/require.js", "require.js"),
)


def fetch_js(js_dir: Path) -> list[Path]:
    """The widget renderer and require.js in ``js_dir``, packed from npm if missing."""
    js_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for package, member, name in JS_FILES:
        target = js_dir / name
        if not target.exists():
            if shutil.which("npm") is None:
                raise SystemExit(
                    f"build_site: need {name} from npm package {package}, but npm is not "
                    "installed (apt-get install npm, or put the file in " + str(js_dir) + ")"
                )
            print(f"build_site: npm pack {package}", flush=True)
            tgz = subprocess.run(
                ["npm", "pack", "--silent", package],
                cwd=js_dir,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()[-1]
            with tarfile.open(js_dir / tgz) as tar:
                data = tar.extractfile(member)
                if data is None:
                    raise SystemExit(f"build_site: {member} missing from {tgz}")
                target.write_bytes(data.read())
            (js_dir / tgz).unlink()
        out.append(target)
    return out


def _title_and_blurb(nb: dict) -> tuple[str, str]:
    """The first heading of the notebook and the first prose paragraph after it."""
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        lines = text.strip().splitlines()
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
<p>The notebooks of the suite as static pages: every figure and explorer as it was when
the notebook was last run. Run them live with <code>make lab</code>, where the explorers
answer.</p>
<ol class="notebooks">
{items}
</ol>
</body></html>
"""


def build(out: Path, js_dir: Path) -> list[Path]:
    """Write ``out/index.html`` and one page per notebook; returns the pages written."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    out.mkdir(parents=True, exist_ok=True)
    for js in fetch_js(js_dir):
        shutil.copy2(js, out / js.name)
    config = Config()
    config.HTMLExporter.require_js_url = "require.js"
    config.HTMLExporter.widget_renderer_url = "embed-amd.js"
    config.HTMLExporter.mathjax_url = ""  # no LaTeX in the suite; no CDN request
    exporter = HTMLExporter(config=config)
    pages, items = [], []
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        body, _ = exporter.from_filename(str(path))
        page = out / (path.stem + ".html")
        page.write_text(body, encoding="utf-8")
        pages.append(page)
        title, blurb = _title_and_blurb(nb)
        items.append(
            f'<li><a href="{page.name}">{html.escape(title)}</a>'
            f'<div class="blurb">{html.escape(blurb)}</div></li>'
        )
        print(f"build_site: {page.relative_to(out.parent)}", flush=True)
    (out / "index.html").write_text(INDEX.format(items="\n".join(items)), encoding="utf-8")
    return pages


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="build the static classroom site")
    ap.add_argument("--out", type=Path, default=ROOT / "site", help="output folder (site/)")
    ap.add_argument(
        "--js", type=Path, default=ROOT / ".cache" / "site-js", help="where the JS is kept"
    )
    args = ap.parse_args(argv)
    pages = build(args.out, args.js)
    print(f"build_site: {len(pages)} notebooks and index.html in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
