"""``pynest progress`` prints the progress table of the file PYNEST_PROGRESS names, and a
file problem as a line of the output (status 0, no traceback)."""

from __future__ import annotations

import pytest

from pynest import cli
from pynest.exercises import progress as progress_mod
from pynest.exercises.progress import Progress, user_progress


@pytest.fixture
def user_file(monkeypatch, tmp_path):
    path = tmp_path / "progress.json"
    monkeypatch.setenv("PYNEST_PROGRESS", str(path))
    monkeypatch.setattr(progress_mod, "PROGRESS", user_progress())  # a fresh kernel's
    return path


def test_pynest_progress_prints_the_file_s_table(user_file, capsys):
    p = Progress(user_file)
    p.answered("walk2d", 4, ok=True)
    p.answered("walk2d", 5, ok=False)
    assert cli.main(["progress"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Progress is kept in {user_file}."
    assert next(line for line in out if line.startswith("walk2d")).split() == [
        "walk2d",
        "04",
        "1",
        "2",
        "0",
    ]
    assert out[-1] == "in all: 1 right of 2 tried, 0 revealed"


def test_pynest_progress_on_a_corrupt_file_says_so_and_keeps_it(user_file, capsys):
    user_file.write_text("not progress")
    assert cli.main(["progress"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"{user_file} was not a progress file")
    assert captured.err == ""
    assert (user_file.parent / "progress.json.bad").read_text() == "not progress"
