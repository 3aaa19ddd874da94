"""tools/build_site.py without a browser (issue 15 item 8): which notebook a page is
built from, the stop on missing widget state, and what a recorded page changes in the
saved state. No npm and no network: every test stops before the JavaScript is needed or
gives the builder a prepared JavaScript folder."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
WITH_PLAY = NOTEBOOKS / "04_two_dimensional_walk.ipynb"  # an explorer, a jslink, exercises


def _load():
    spec = importlib.util.spec_from_file_location("build_site", ROOT / "tools" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bs = _load()


def _nb(path: Path = WITH_PLAY) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _state(nb: dict) -> dict:
    return nb["metadata"]["widgets"][bs.WIDGET_STATE]["state"]


def _folder(tmp_path: Path, nb: dict, name: str = WITH_PLAY.name) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / name).write_text(json.dumps(nb, indent=1) + "\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem)
def test_every_stored_widget_output_has_its_state(path: Path):
    nb = _nb(path)
    assert bs.missing_models(nb) == [], f"make execute NB=notebooks/{path.name}"


def test_a_notebook_saved_without_widget_state_stops_the_build(tmp_path, capsys):
    nb = _nb()
    del nb["metadata"]["widgets"]  # what a JupyterLab save after a kernel restart leaves
    folder = _folder(tmp_path, nb)
    out = tmp_path / "site"
    code = bs.main(["--notebooks", str(folder), "--working-tree", "--out", str(out),
                    "--js", str(tmp_path / "js")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert WITH_PLAY.name in err
    assert f"make execute NB=notebooks/{WITH_PLAY.name}" in err
    assert "Traceback" not in err
    assert not out.exists() or not list(out.glob("*.html"))  # nothing half-built


def test_a_model_missing_deep_inside_an_explorer_is_found():
    nb = _nb()
    state = _state(nb)
    cell, model_id = next((i, m) for i, _c, _j, m in bs.widget_outputs(nb))
    # a child of the explorer's box (not the box itself) has lost its state
    child = next(bs._references(state[model_id]["state"]))
    del state[child]
    assert (cell, child) in bs.missing_models(nb)
    with pytest.raises(bs.SiteError, match=f"cell\\(s\\) {cell}\\b"):
        bs.check_widget_state(nb, WITH_PLAY.name, "committed")


def test_recorded_page_banners_every_widget_and_switches_controls_off():
    nb = _nb()
    before = json.dumps(nb, sort_keys=True)
    shown = bs.recorded(nb)
    assert json.dumps(nb, sort_keys=True) == before, "the notebook itself is not changed"
    views = list(bs.widget_outputs(nb))
    banners = []
    for cell in shown["cells"]:
        outs = cell.get("outputs", [])
        for k, out in enumerate(outs):
            if bs.WIDGET_VIEW in out.get("data", {}):
                banner = outs[k - 1]["data"]["text/html"]
                assert k > 0 and "pynest-recorded" in banner
                kind = "exercise" if ".widget()" in "".join(cell["source"]) else "explorer"
                assert f"A recorded {kind}" in banner
                banners.append(kind)
    assert len(banners) == len(views)
    assert {"explorer", "exercise"} <= set(banners)
    controls = [m["state"] for m in _state(shown).values() if "disabled" in m["state"]]
    assert len(controls) > 5 and all(s["disabled"] is True for s in controls)


def test_recorded_page_gives_a_play_its_sliders_value():
    nb = _nb()
    state = _state(nb)
    links = [m["state"] for m in state.values() if m["model_name"] == "LinkModel"]
    assert links

    def ends(st: dict, link: dict) -> tuple:
        (s, sa), (t, ta) = link["source"], link["target"]
        return st[s[10:]]["state"][sa], st[t[10:]]["state"][ta]

    # as saved by the kernel, the Play lags the slider it is linked to
    assert any(a != b for a, b in (ends(state, link) for link in links))
    shown = _state(bs.recorded(nb))
    assert all(a == b for a, b in (ends(shown, link) for link in links))


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_pages_come_from_the_committed_notebook(tmp_path, capsys):
    nb = _nb()
    folder = _folder(tmp_path, nb)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "nb")
    autosaved = json.loads(json.dumps(nb))
    del autosaved["metadata"]["widgets"]
    path = folder / WITH_PLAY.name
    path.write_text(json.dumps(autosaved), encoding="utf-8")

    got, source = bs.read_notebook(path)
    assert source == "committed" and got == nb
    assert "differs from its committed version" in capsys.readouterr().out
    bs.check_widget_state(got, path.name, source)  # the committed one is whole

    got, source = bs.read_notebook(path, working_tree=True)
    assert source == "working tree" and got == autosaved
    with pytest.raises(bs.SiteError, match="make execute"):
        bs.check_widget_state(got, path.name, source)


def test_outside_git_the_file_on_disk_is_read(tmp_path):
    folder = _folder(tmp_path, _nb())
    got, source = bs.read_notebook(folder / WITH_PLAY.name)
    assert source == "working tree" and got == _nb()


def test_javascript_is_reused_without_npm(tmp_path, monkeypatch):
    js = tmp_path / "js"
    js.mkdir()
    for (package, _members), name in zip(
        bs.JS_PACKAGES, ("embed-amd.js", "require.js"), strict=True
    ):
        (js / name).write_text("// test")
        manifest = js / (re.sub(r"[^\w.-]", "_", package) + ".files")
        manifest.write_text(name + "\n")
    monkeypatch.setattr(bs.shutil, "which", lambda _name: None)  # npm is never asked
    assert sorted(p.name for p in bs.fetch_js(js)) == sorted(p.name for p in js.glob("*.js"))
    (js / "require.js").unlink()
    with pytest.raises(bs.SiteError, match="npm is not installed"):
        bs.fetch_js(js)


def _fresh(cls) -> tuple[dict, dict, str]:
    """A cell that shows a ``cls()`` and a saved state holding what it displays, as a
    notebook executed with today's pynest would (independent of the stored notebooks)."""
    source = f"from {cls.__module__} import {cls.__name__}\n\nexplorer = {cls.__name__}()\nexplorer"
    with bs._displays() as outputs:
        bs._factory(source)()
    saved = {
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_out"]}},
        "out": {"model_name": "OutputModel", "state": {"outputs": outputs}},
    }
    return {"source": source}, saved, "box"


def _steps(cls) -> int:
    """How many values the slider the site would record has (0: none)."""
    import ipywidgets as w

    try:
        explorer = cls()
    except Exception:  # an explorer that cannot be built is another test's failure
        return 0
    sizes = [c.max - c.min + 1 for c in bs._controls(explorer) if isinstance(c, w.IntSlider)]
    return min((n for n in sizes if 2 <= n <= bs.MAX_FRAMES), default=0)


@pytest.fixture(scope="module")
def recorded_explorers() -> list[tuple[type, dict, object]]:
    """The two explorers with the shortest step sliders, recorded as the site would."""
    from pynest.widgets.base import explorer_classes

    found = []
    for _n, _name, cls in sorted(
        (n, c.__name__, c) for c in explorer_classes() if (n := _steps(c))
    ):
        cell, saved, box = _fresh(cls)
        rec = bs.step_through(cell, saved, box)
        if rec is not None:
            found.append((cls, saved, rec))
        if len(found) == 2:
            break
    return found


def _models_of(state: dict, name: str) -> list[dict]:
    return [m["state"] for m in state.values() if m["model_name"] == name]


def test_an_explorer_is_recorded_at_every_step(recorded_explorers):
    found = recorded_explorers
    assert found, "no explorer has a step slider the site can record"
    for cls, saved, rec in found:
        where = cls.__name__
        stack = rec.state[rec.model_id]["state"]
        assert rec.state[rec.model_id]["model_name"] == "StackModel", where
        sliders = [
            s
            for s in _models_of(rec.state, "IntSliderModel")
            if bs.STEPS_CLASS in s["_dom_classes"]
        ]
        assert len(sliders) == rec.frames == len(_models_of(rec.state, "LinkModel")), where
        assert {s["description"] for s in sliders} == {rec.control}, where
        start = stack["selected_index"]
        assert all(s["value"] == start for s in sliders), where  # the links agree when loaded
        low = min(s["min"] for s in sliders)
        frames = [c.removeprefix("IPY_MODEL_") for c in stack["children"]][low:]
        assert len(frames) == rec.frames, where
        pictures = [bs._saved_pictures(rec.state, f) for f in frames]
        assert pictures[start - low] == bs._saved_pictures(saved, "box"), where
        shown = [json.dumps(p, sort_keys=True) for p in pictures]
        assert all(pictures) and len(set(shown)) == rec.frames, f"{where}: a picture per step"


def test_no_recording_where_it_would_not_be_faithful(recorded_explorers):
    (cls, _saved, _rec), *_ = recorded_explorers
    cell, saved, box = _fresh(cls)
    assert bs.step_through(cell, saved, box) is not None
    # the saved picture is not what pynest draws for this cell: keep the switched-off one
    data = saved["out"]["state"]["outputs"][0]["data"]
    data.update({mime: "iVBORw0KGgo=" for mime in data if mime != "text/plain"})
    assert bs.step_through(cell, saved, box) is None
    # a cell that needs an earlier cell's names is not run on its own
    needy = {"source": ["explorer = PtcrExplorer(radix_reference())\n", "explorer"]}
    assert bs.step_through(needy, saved, box) is None
    assert bs._factory("explorer = 1\nprint(explorer)") is None  # does not end with a name


def test_a_recorded_page_leaves_only_the_step_slider_on(recorded_explorers, monkeypatch):
    nb = _nb()
    cell, model_id = next(
        (c, m) for _i, c, _j, m in bs.widget_outputs(nb) if bs._kind(c) == "explorer"
    )
    (_cls, _saved, rec), *_ = recorded_explorers
    monkeypatch.setattr(bs, "step_through", lambda c, s, m: rec if m == model_id else None)
    shown = bs.recorded(nb)
    state = _state(shown)
    views = [m for _i, _c, _j, m in bs.widget_outputs(shown)]
    assert rec.model_id in views and model_id not in views  # the recording replaced it
    assert bs.missing_models(shown) == []
    for model in state.values():
        st = model["state"]
        if "disabled" in st:
            assert st["disabled"] is (bs.STEPS_CLASS not in st.get("_dom_classes", [])), st
    banners = [o["data"]["text/html"] for c in shown["cells"] for o in c.get("outputs", [])
               if "pynest-recorded" in o.get("data", {}).get("text/html", "")]  # fmt: skip
    assert sum(f"slider steps through {rec.frames} pictures" in b for b in banners) == 1


def test_recording_leaves_no_ipython_shell_behind():
    import builtins

    from IPython import get_ipython

    names = set(vars(builtins))
    with bs._displays() as outputs:
        from IPython.display import display

        display("shown")
    assert [o["data"]["text/plain"] for o in outputs] == ["'shown'"]
    assert get_ipython() is None and set(vars(builtins)) == names
