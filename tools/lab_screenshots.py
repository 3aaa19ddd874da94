"""Screenshots of the notebooks' first explorers in JupyterLab at 1280x720, file browser open.

    .venv/bin/python tools/lab_screenshots.py [--tree DIR] [--out DIR] [--label after] [04 07 ...]

For each notebook (two-digit prefixes; default 04 07 09 11) a copy of ``--tree``'s notebook
is opened in a JupyterLab of its own (``tests/browser/conftest.jupyterlab``), Run All, and
the viewport is shot with the first explorer's picture at the top, as ``NN-LABEL.png``.
``--tree`` may be another checkout (``git worktree add /tmp/old REV``): its ``pynest`` is put
first on the kernels' ``PYTHONPATH``, so the pictures are that version's. Used for the
before/after pictures in docs/screenshots; needs Chromium and the test extras.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, jupyterlab  # noqa: E402
from tests.browser.test_notebooks_in_lab import _run_all  # noqa: E402

PICTURE = ".jp-OutputArea-output .widget-output img"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("notebooks", nargs="*", default=["04", "07", "09", "11"])
    ap.add_argument("--tree", type=Path, default=ROOT)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    ap.add_argument("--label", default="now")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    os.environ["PYTHONPATH"] = str(args.tree.resolve())
    os.environ["PYNEST_PROGRESS"] = "off"  # the author's progress stays out of the pictures
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        for nb in sorted((args.tree / "notebooks").glob("*.ipynb")):
            if nb.name[:2] in args.notebooks:
                shutil.copy(nb, root / nb.name)
        with jupyterlab(root, Path(tmp) / "home") as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            for nb in sorted(root.glob("*.ipynb")):
                context = browser.new_context(viewport={"width": 1280, "height": 720})
                page = context.new_page()
                _run_all(page, url, nb.name)
                page.wait_for_timeout(1500)
                picture = page.locator(PICTURE).first
                picture.evaluate("el => el.scrollIntoView({block: 'start'})")
                page.mouse.wheel(0, -140)  # the explorer's last controls above the picture
                page.wait_for_timeout(800)
                name = args.out / f"{nb.name[:2]}-{args.label}.png"
                page.screenshot(path=str(name))
                print(name)
                context.close()
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
