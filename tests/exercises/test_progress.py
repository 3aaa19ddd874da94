"""Exercise progress in a local JSON file (issue 15 item 10): where it lives, round trip,
two kernels writing, a corrupt file, an unwritable place, PYNEST_PROGRESS=off, and the
exercise widget recording to it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pynest.exercises import GENERATORS, generate
from pynest.exercises import progress as progress_mod
from pynest.exercises.base import ExerciseWidget
from pynest.exercises.progress import (
    NOTEBOOK_OF_KIND,
    Progress,
    progress_path,
    progress_summary,
    user_progress,
)

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _right_answer(kind: str, seed: int) -> str:
    return generate(kind, seed).reveal().split("\n", 1)[0]


def _seeds(path: Path, kind: str) -> dict[str, list[int]]:
    return json.loads(path.read_text())["kinds"][kind]


# ------------------------------------------------------------------ where
def test_the_suite_itself_runs_with_progress_off():
    assert os.environ["PYNEST_PROGRESS"] == "off"  # set by the root conftest.py
    assert progress_path() is None


@pytest.mark.parametrize("value", ["", "off", " OFF "])
def test_empty_or_off_means_no_file(monkeypatch, value):
    monkeypatch.setenv("PYNEST_PROGRESS", value)
    assert progress_path() is None


def test_the_env_var_names_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("PYNEST_PROGRESS", str(tmp_path / "mine.json"))
    assert progress_path() == tmp_path / "mine.json"
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PYNEST_PROGRESS", "~/p.json")
    assert progress_path() == tmp_path / "p.json"


def test_default_is_the_xdg_data_dir_else_local_share(monkeypatch, tmp_path):
    monkeypatch.delenv("PYNEST_PROGRESS")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert progress_path() == tmp_path / "data" / "pynest" / "progress.json"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert progress_path() == tmp_path / ".local" / "share" / "pynest" / "progress.json"


# ------------------------------------------------------------------ round trip, merge
def test_round_trip_through_the_file(tmp_path):
    path = tmp_path / "sub" / "progress.json"  # the directory is made on first write
    p = Progress(path)
    p.answered("translate", 3, ok=False)
    p.answered("translate", 3, ok=True)
    p.answered("walk2d", 1, ok=True)
    p.revealed("walk2d", 2)
    p.answered("walk2d", 2, ok=True)  # right after the reveal: tried, not right
    assert _seeds(path, "translate") == {"right": [3], "tried": [3], "revealed": []}
    again = Progress(path)  # a new kernel
    assert again.record("translate") == (1, 1, 0)
    assert again.record("walk2d") == (1, 2, 1)
    assert again.text("walk2d") == "walk2d: 1 of 2 questions right"
    assert sorted(f.name for f in path.parent.iterdir()) == ["progress.json", "progress.json.lock"]


def test_two_kernels_writing_keep_the_union_of_seeds(tmp_path):
    path = tmp_path / "progress.json"
    a, b = Progress(path), Progress(path)
    assert a.record("tlbie") == b.record("tlbie") == (0, 0, 0)  # both have read the file
    a.answered("tlbie", 1, ok=True)
    b.answered("tlbie", 2, ok=False)  # b re-reads before writing: a's seed survives
    a.revealed("copy", 5)
    assert _seeds(path, "tlbie") == {"right": [1], "tried": [1, 2], "revealed": []}
    assert _seeds(path, "copy")["revealed"] == [5]
    assert Progress(path).record("tlbie") == (1, 2, 0)


WRITER = """
import sys
from pynest.exercises.progress import Progress
p = Progress(sys.argv[1])
for seed in range(int(sys.argv[2]), int(sys.argv[2]) + 40):
    p.answered("walk2d", seed, ok=seed % 2 == 0)
"""


def test_two_processes_saving_at_the_same_time_lose_nothing(tmp_path):
    path = tmp_path / "progress.json"
    env = {**os.environ, "PYNEST_PROGRESS": "off"}
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(start)], env=env)
        for start in (0, 1000)
    ]
    assert [proc.wait(timeout=120) for proc in procs] == [0, 0]
    seeds = _seeds(path, "walk2d")
    assert seeds["tried"] == [*range(40), *range(1000, 1040)]
    assert seeds["right"] == [s for s in seeds["tried"] if s % 2 == 0]


def test_a_reveal_in_another_kernel_stops_a_later_right_answer_counting(tmp_path):
    path = tmp_path / "progress.json"
    a, b = Progress(path), Progress(path)
    b.record("copy")
    a.revealed("copy", 4)
    b.answered("copy", 4, ok=True)
    assert Progress(path).record("copy") == (0, 1, 1)


def test_a_failed_replace_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "progress.json"
    p = Progress(path)
    p.answered("demo", 1, ok=True)
    before = path.read_text()

    def refuse(src, dst):
        raise PermissionError(13, "denied")

    monkeypatch.setattr(progress_mod.os, "replace", refuse)
    p.answered("demo", 2, ok=True)
    assert path.read_text() == before
    assert not list(tmp_path.glob("*.tmp"))  # the temporary file is removed
    assert p.record("demo") == (2, 2, 0)  # still counted, in memory
    assert p.notices == [f"Progress is kept in memory only: cannot write {path} (PermissionError)."]


# ------------------------------------------------------------------ bad files and places
@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[1, 2]",
        '{"format": 99, "kinds": {}}',
        '{"format": 1, "kinds": {"translate": {"tried": ["x"]}}}',
        '{"format": 1, "kinds": {"translate": {"right": [true]}}}',
        b"\xff\xfe\x00\x9c garbage",  # not text at all
        "[" * 100_000,  # nesting json cannot follow
        '{"format": 1, "kinds": {"copy": {"tried": [' + "9" * 5000 + "]}}}",  # absurd digits
    ],
)
def test_a_corrupt_file_is_moved_aside_and_progress_starts_afresh(tmp_path, text):
    path = tmp_path / "progress.json"
    raw = text if isinstance(text, bytes) else text.encode()
    path.write_bytes(raw)
    p = Progress(path)
    assert p.record("translate") == (0, 0, 0)
    assert (tmp_path / "progress.json.bad").read_bytes() == raw  # kept, not overwritten
    assert len(p.notices) == 1 and "moved it to progress.json.bad" in p.notices[0]
    assert "\n" not in p.notices[0]
    p.answered("translate", 1, ok=True)
    assert Progress(path).record("translate") == (1, 1, 0)
    assert len(p.notices) == 1


def test_an_unreadable_file_is_never_overwritten(tmp_path):
    path = tmp_path / "progress.json"
    path.mkdir()  # reading it fails with an OSError (also as root)
    p = Progress(path)
    p.answered("shadow", 1, ok=True)
    assert p.record("shadow") == (1, 1, 0)
    assert path.is_dir() and not any(path.iterdir())
    assert p.notices == [
        f"Progress is kept in memory only: cannot read {path} (IsADirectoryError)."
    ]


def test_a_place_that_cannot_be_written_keeps_progress_in_memory_and_says_so_once(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    path = blocker / "pynest" / "progress.json"  # its 'directory' is a file
    p = Progress(path)
    p.answered("lpids", 1, ok=True)
    p.answered("lpids", 2, ok=False)
    p.revealed("lpids", 2)
    assert p.record("lpids") == (1, 2, 1)
    assert len(p.notices) == 1 and p.notices[0].startswith("Progress is kept in memory only")
    assert p.where() == (
        f"Progress is kept in memory only, for this kernel (cannot write {path} "
        "(NotADirectoryError))."
    )
    assert p.new_notices() == p.notices and p.new_notices() == []  # told once


def test_off_writes_nothing_anywhere(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("PYNEST_PROGRESS", "off")
    p = user_progress()
    p.answered("translate", 1, ok=True)
    assert p.record("translate") == (1, 1, 0)
    assert list(tmp_path.iterdir()) == []
    assert p.notices == []
    assert "memory only" in p.where() and "PYNEST_PROGRESS is off" in p.where()


def test_the_user_file_is_looked_up_on_first_use(monkeypatch, tmp_path):
    p = user_progress()  # made while the env says off ...
    monkeypatch.setenv("PYNEST_PROGRESS", str(tmp_path / "late.json"))
    p.answered("quadrant", 2, ok=True)  # ... used after it names a file
    assert _seeds(tmp_path / "late.json", "quadrant")["right"] == [2]


# ------------------------------------------------------------------ the widget, the summary
def test_the_exercise_widget_records_to_the_file(tmp_path):
    path = tmp_path / "progress.json"
    w = ExerciseWidget(generate("translate", 1), Progress(path))
    w.submit("zzz")
    w.submit(_right_answer("translate", 1))
    w.new_question()
    w.show_solution()
    assert _seeds(path, "translate") == {"right": [1], "tried": [1], "revealed": [2]}
    later = ExerciseWidget(generate("translate", 5), Progress(path))  # another kernel
    assert "translate: 1 of 1 question right" in later.status.value


def test_the_widget_shows_a_file_problem_once(tmp_path):
    path = tmp_path / "progress.json"
    path.write_text("garbage")
    p = Progress(path)
    first = ExerciseWidget(generate("walk2d", 0), p)
    assert "progress.json.bad" in first.notice.value and "⚠" in first.notice.value
    second = ExerciseWidget(generate("walk2d", 1), p)
    second.submit("3")
    assert second.notice.value == ""


def test_every_kind_has_its_notebook():
    assert set(NOTEBOOK_OF_KIND) == set(GENERATORS)
    for kind, number in NOTEBOOK_OF_KIND.items():
        assert list(NOTEBOOKS.glob(f"{number}_*.ipynb")), kind


def test_the_summary_table(tmp_path):
    p = Progress(tmp_path / "progress.json")
    p.answered("tlbie", 1, ok=True)
    p.answered("tlbie", 2, ok=False)
    p.revealed("tlbie", 2)
    p.answered("sanitise", 0, ok=True)
    lines = progress_summary(p).splitlines()
    assert lines[0] == f"Progress is kept in {tmp_path / 'progress.json'}."
    header = lines[2].split()
    assert header == ["kind", "notebook", "right", "tried", "revealed"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[4:-1]}
    assert list(rows) == list(NOTEBOOK_OF_KIND)
    assert rows["tlbie"] == ["09", "1", "2", "1"]
    assert rows["sanitise"] == ["07", "1", "1", "0"]
    assert rows["translate"] == ["01", "0", "0", "0"]
    assert lines[-1] == "in all: 2 right of 3 tried, 1 revealed"


def test_the_summary_starts_with_what_went_wrong(tmp_path):
    path = tmp_path / "progress.json"
    path.write_text("{")
    text = progress_summary(Progress(path))
    assert text.splitlines()[0].startswith(f"{path} was not a progress file")
