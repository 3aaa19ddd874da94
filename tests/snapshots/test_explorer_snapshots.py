"""Issue 14 step 0: every explorer of ``pynest/widgets`` is pinned in its initial state
and in moved states (``snapshot_cases.EXPLORERS``): every widget's value, options,
bounds, disabled state and description, every HTML text, the status/message lines, the
text and the structural record of every figure it shows. Baselines:
``baselines/explorer.<Class>.json``; ``make snapshots`` regenerates them.

Also proves the snapshots stable: two regenerations in fresh processes, with different
hash seeds, give byte-identical files equal to the committed baselines.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import snapshot_cases as cases
from record import BASELINES, build, check

from pynest.widgets import walk_explorer
from pynest.widgets.base import explorer_classes

EXPLORER_BASELINES = cases.explorer_baselines()
RECORD = Path(__file__).with_name("record.py")


def test_every_explorer_is_pinned_with_two_moves_or_more():
    names = {c.__name__ for c in explorer_classes()}
    assert names == set(cases.EXPLORERS), "add (or drop) explorers in snapshot_cases.EXPLORERS"
    for name, (_build, moves) in cases.EXPLORERS.items():
        assert len(moves) >= 2, name


@pytest.mark.parametrize("name", sorted(EXPLORER_BASELINES))
def test_explorer_matches_its_baseline(name):
    check(name, build(EXPLORER_BASELINES[name]))


def test_a_changed_initial_value_is_caught(monkeypatch):
    """Prove the snapshot bites: the walk explorer starting with 6 rows instead of 7."""
    name = "explorer.WalkExplorer"
    monkeypatch.setattr(walk_explorer, "_ROWS", 6)
    with pytest.raises(AssertionError) as caught:
        check(name, build(EXPLORER_BASELINES[name]))
    message = str(caught.value)
    assert "explorer.WalkExplorer." in message and "expected 7, got 6" in message


@pytest.mark.parametrize("name", sorted(EXPLORER_BASELINES))
def test_every_move_changes_what_is_shown(name):
    """Every moved state shows something the initial state does not (a move that does
    nothing pins nothing)."""
    states = json.loads((BASELINES / f"{name}.json").read_text(encoding="utf-8"))
    initial = {k: v for k, v in states.pop("initial").items() if k != "actions"}
    for move, rec in states.items():
        assert rec["actions"], f"{name} {move} has no actions"
        assert {k: v for k, v in rec.items() if k != "actions"} != initial, f"{name} {move}"


def _regenerate(out: Path, seed: str) -> subprocess.Popen:
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONHASHSEED": seed}
    return subprocess.Popen(
        [sys.executable, str(RECORD), "--out", str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_regenerated_twice_in_fresh_processes_the_baselines_are_identical(tmp_path):
    runs = {seed: _regenerate(tmp_path / seed, seed) for seed in ("1", "2")}
    for proc in runs.values():
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out
    one, two = tmp_path / "1", tmp_path / "2"
    files = sorted(p.name for p in BASELINES.glob("*.json"))
    assert sorted(p.name for p in one.glob("*.json")) == files
    assert sorted(p.name for p in two.glob("*.json")) == files
    address = re.compile(r" at 0x[0-9a-f]+>|<[A-Za-z_.]+ object")
    for file in files:
        text = (one / file).read_text(encoding="utf-8")
        assert text == (two / file).read_text(encoding="utf-8"), f"{file} differs between runs"
        assert text == (BASELINES / file).read_text(encoding="utf-8"), f"{file} is stale"
        assert not address.search(text), f"{file} holds an object address"
