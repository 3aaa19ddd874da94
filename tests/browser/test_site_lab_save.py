"""The failure ``make html`` must catch, made the way a teacher makes it (issue 15 item 8):
a notebook run in JupyterLab and saved there. Its outputs then name widgets of that
session whose state the file does not hold, so a page built from it would show empty
explorers. The builder must find them and stop, naming the notebook and ``make execute``.

The notebook is a copy made by the Lab server (the server's other copies stay as they
were for the other browser tests); the saved file is read back through its contents API.
"""

from __future__ import annotations

import importlib.util
import json
import urllib.error
import urllib.request

from .conftest import ROOT, TOKEN
from .test_notebooks_in_lab import _run_all

NAME = "10_copy_tofrom_guest.ipynb"


def _build_site():
    spec = importlib.util.spec_from_file_location("build_site", ROOT / "tools" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _api(lab: str, path: str, body: dict | None = None) -> dict:
    req = urllib.request.Request(
        f"{lab}/api/contents/{path}?token={TOKEN}",
        data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def test_a_notebook_saved_in_lab_stops_the_site_build(page, lab, tmp_path, capsys):
    build = _build_site()
    copy = _api(lab, "", {"copy_from": NAME})["path"]
    before = _api(lab, copy)["content"]
    assert build.missing_models(before) == []  # as committed: every widget has its state

    _run_all(page, lab, copy)
    saved_at = _api(lab, copy)["last_modified"]
    page.locator(".jp-NotebookPanel .jp-Cell").first.click()
    page.keyboard.press("Control+s")
    page.wait_for_function(
        "() => !document.querySelector('.jp-NotebookPanel .jp-mod-dirty')", timeout=30_000
    )
    saved = None
    for _ in range(40):  # the save reaches the disk a moment after the tab is clean
        try:
            saved = _api(lab, copy)
        except urllib.error.HTTPError as e:  # read while the server was writing it (seen: 500)
            assert e.code >= 500, e
            saved = None
        if saved is not None and saved["last_modified"] != saved_at:
            break
        page.wait_for_timeout(250)
    assert saved is not None, f"the contents API never answered for {copy} after the save"
    nb = saved["content"]
    views = list(build.widget_outputs(nb))
    assert views, "the saved notebook keeps its widget outputs"
    assert build.missing_models(nb), "JupyterLab saved the widgets' state after all"

    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / NAME).write_text(json.dumps(nb), encoding="utf-8")
    code = build.main(["--notebooks", str(folder), "--working-tree",
                       "--out", str(tmp_path / "site"), "--js", str(tmp_path / "js")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and NAME in err and f"make execute NB=notebooks/{NAME}" in err, err
