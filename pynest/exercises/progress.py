"""Exercise progress kept across kernels and notebooks, in a small local file (``progress.json``).

The file is never in a notebook or in the repository: by default it is
``$XDG_DATA_HOME/pynest/progress.json`` (``~/.local/share/pynest/progress.json``).
``PYNEST_PROGRESS`` overrides it: a path, or empty / ``off`` to keep progress in memory
only (the test suite sets ``off``). For each exercise kind the file holds the seeds
answered right, tried and revealed; a question counts as right when it was answered
right before its answer was revealed.

Every save re-reads the file and merges (union of seeds), so two kernels writing at
once lose nothing, and writes are atomic (a temporary file, then :func:`os.replace`).
A file that cannot be read as progress is moved aside to ``progress.json.bad`` and
progress starts fresh; a location that cannot be written keeps progress in memory.
Either is said once, in :attr:`Progress.notices`, never raised.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # not a POSIX system: saves merge without a lock
    fcntl = None  # type: ignore[assignment]

ENV = "PYNEST_PROGRESS"
FORMAT = 1
"""The file's ``format`` number; another number is read as a file of some other program."""

FIELDS = ("right", "tried", "revealed")

NOTEBOOK_OF_KIND: dict[str, str] = {
    "translate": "01",
    "decode-pte": "01",
    "partition-table": "02",
    "quadrant": "03",
    "quadrant-ea": "03",
    "quadrant-access": "03",
    "walk2d": "04",
    "set-ptbl": "05",
    "lpids": "06",
    "enter-nested": "07",
    "enter-rc": "07",
    "sanitise": "07",
    "shadow": "08",
    "tlbie": "09",
    "copy": "10",
    "demo": "11",
    "nested-cost": "12",
    "nested-init": "12",
}
"""The notebook (number) that asks each exercise kind; the summary is in this order."""


def progress_path() -> Path | None:
    """Where progress is kept, from ``PYNEST_PROGRESS`` or ``$XDG_DATA_HOME``;
    None when progress is not to be written (``PYNEST_PROGRESS`` empty or ``off``)."""
    value = os.environ.get(ENV)
    if value is not None:
        value = value.strip()
        if value.lower() in ("", "off"):
            return None
        return Path(value).expanduser()
    base = os.environ.get("XDG_DATA_HOME", "").strip()
    root = Path(base) if base else Path.home() / ".local" / "share"
    return root / "pynest" / "progress.json"


class CorruptProgress(ValueError):
    """The text of a progress file is not progress."""


def _decode(raw: bytes) -> dict[str, dict[str, set[int]]]:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as e:  # bad text, bad bytes, absurd nesting or digits
        where = f" at line {e.lineno}" if isinstance(e, json.JSONDecodeError) else ""
        raise CorruptProgress(f"not valid JSON{where}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CorruptProgress(f"not a pynest progress file of format {FORMAT}")
    kinds = data.get("kinds")
    if not isinstance(kinds, dict):
        raise CorruptProgress("no 'kinds' table")
    out: dict[str, dict[str, set[int]]] = {}
    for kind, rec in kinds.items():
        if not isinstance(rec, dict):
            raise CorruptProgress(f"the entry of {kind!r} is not a table")
        seeds: dict[str, set[int]] = {}
        for name in FIELDS:
            values = rec.get(name, [])
            if not isinstance(values, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 64 for v in values
            ):
                raise CorruptProgress(f"{kind!r}.{name} is not a list of seeds")
            seeds[name] = set(values)
        out[kind] = seeds
    return out


def _encode(data: dict[str, dict[str, set[int]]]) -> str:
    kinds = {k: {n: sorted(data[k][n]) for n in FIELDS} for k in sorted(data)}
    return json.dumps({"format": FORMAT, "kinds": kinds}) + "\n"


def _empty() -> dict[str, set[int]]:
    return {name: set() for name in FIELDS}


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``'s lock file (``progress.json.lock``) where the
    system has one; where it cannot be taken, go on without (the merge still helps)."""
    if fcntl is None:
        yield
        return
    try:
        fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


_USER: Any = object()
"""The default ``path`` of :class:`Progress`: :func:`progress_path`, looked up on first use."""


class Progress:
    """Questions answered right, tried and revealed, per exercise kind.

    ``path`` is the file (None: in memory only); the default, for the shared
    :data:`pynest.exercises.base.PROGRESS`, is :func:`progress_path` at first use.
    ``notices`` holds what went wrong with the file, each said once (the exercise
    widget shows them); nothing here raises for a bad or unwritable file.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path_arg = path
        self._loaded = False
        self.path: Path | None = None
        self.data: dict[str, dict[str, set[int]]] = {}
        self.notices: list[str] = []
        self.memory_only_reason = ""
        self._told = 0

    # -------------------------------------------------------------- the file
    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        arg = self._path_arg
        if arg is _USER:
            self.path = progress_path()
            if self.path is None:
                self.memory_only_reason = f"{ENV} is off"
        else:
            self.path = None if arg is None else Path(arg)
        if self.path is not None:
            self._merge(self._read())

    def _notice(self, text: str) -> None:
        if text not in self.notices:
            self.notices.append(text)

    def new_notices(self) -> list[str]:
        """The notices not yet returned by this method (so that each is shown once)."""
        fresh = self.notices[self._told :]
        self._told = len(self.notices)
        return fresh

    def _stop_writing(self, why: str) -> None:
        self._notice(f"Progress is kept in memory only: {why}.")
        self.memory_only_reason = why
        self.path = None

    def _read(self) -> dict[str, dict[str, set[int]]]:
        """The file's progress; {} if there is none yet, or if it was unreadable (then
        moved aside, or progress stops being written so that it is never overwritten)."""
        path = self.path
        assert path is not None
        try:
            raw = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):  # none yet (or nowhere to put one)
            return {}
        except OSError as e:
            self._stop_writing(f"cannot read {path} ({type(e).__name__})")
            return {}
        try:
            return _decode(raw)
        except CorruptProgress as e:
            bad = path.with_name(path.name + ".bad")
            try:
                os.replace(path, bad)
            except OSError as e2:
                self._stop_writing(
                    f"{path} is not a progress file ({e}) and could not be moved aside "
                    f"({type(e2).__name__}), so it is left as it is"
                )
                return {}
            self._notice(
                f"{path} was not a progress file ({e}): moved it to {bad.name} and started afresh."
            )
            return {}

    def _merge(self, other: dict[str, dict[str, set[int]]]) -> None:
        for kind, rec in other.items():
            mine = self.data.setdefault(kind, _empty())
            for name in FIELDS:
                mine[name] |= rec[name]

    def _save(self) -> None:
        """Re-read the file, merge (union of seeds) and write it atomically, holding the
        lock file so that two kernels saving at once do not lose each other's seeds."""
        path = self.path
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            self._stop_writing(f"cannot write {path} ({type(e).__name__})")
            return
        with _locked(path):
            self._merge(self._read())
            if self.path is None:  # reading it just failed
                return
            tmp = ""
            try:
                fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(_encode(self.data))
                os.replace(tmp, path)
            except OSError as e:
                if tmp:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                self._stop_writing(f"cannot write {path} ({type(e).__name__})")

    # -------------------------------------------------------------- recording
    def _kind(self, kind: str) -> dict[str, set[int]]:
        """``kind``'s record, brought up to date with the file (another kernel may have
        revealed this question since)."""
        self._load()
        if self.path is not None:
            self._merge(self._read())
        return self.data.setdefault(kind, _empty())

    def answered(self, kind: str, seed: int, ok: bool) -> None:
        """Record an answer to ``kind``'s question ``seed`` (right or not)."""
        rec = self._kind(kind)
        rec["tried"].add(seed)
        if ok and seed not in rec["revealed"]:
            rec["right"].add(seed)
        self._save()

    def revealed(self, kind: str, seed: int) -> None:
        """Record that ``kind``'s answer for ``seed`` was shown."""
        self._kind(kind)["revealed"].add(seed)
        self._save()

    def record(self, kind: str) -> tuple[int, int, int]:
        """(right, tried, revealed) question counts of ``kind``."""
        self._load()
        rec = self.data.get(kind, _empty())
        return len(rec["right"]), len(rec["tried"]), len(rec["revealed"])

    def counts(self, kind: str) -> tuple[int, int]:
        """(questions tried, questions answered right) of ``kind``."""
        right, tried, _ = self.record(kind)
        return tried, right

    def text(self, kind: str) -> str:
        tried, right = self.counts(kind)
        return f"{kind}: {right} of {tried} question{'s' if tried != 1 else ''} right"

    def where(self) -> str:
        """One line: where progress is kept."""
        self._load()
        if self.path is not None:
            return f"Progress is kept in {self.path}."
        why = f" ({self.memory_only_reason})" if self.memory_only_reason else ""
        return f"Progress is kept in memory only, for this kernel{why}."

    def summary(self, kinds: list[str] | None = None) -> str:
        """A text table of every kind: its notebook and right / tried / revealed."""
        self._load()
        order = list(NOTEBOOK_OF_KIND) if kinds is None else list(kinds)
        order += sorted(k for k in self.data if k not in order)
        rows = [("kind", "notebook", "right", "tried", "revealed")]
        for kind in order:
            right, tried, revealed = self.record(kind)
            rows.append(
                (kind, NOTEBOOK_OF_KIND.get(kind, "?"), str(right), str(tried), str(revealed))
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = [
            "  ".join(
                cell.ljust(w) if i < 2 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
            for row in rows
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        total = [sum(self.record(k)[i] for k in order) for i in range(3)]
        lines.append(f"in all: {total[0]} right of {total[1]} tried, {total[2]} revealed")
        return "\n".join([*self.notices, self.where(), "", *lines])


def user_progress() -> Progress:
    """A :class:`Progress` on the user's file (:func:`progress_path`, read on first use)."""
    return Progress(_USER)


PROGRESS = user_progress()
"""The kernel's record on the user's file, shared by every exercise widget."""


def progress_summary(progress: Progress | None = None) -> str:
    """The progress table (of :data:`PROGRESS` unless ``progress`` is given) as text,
    for notebook 00 and ``pynest progress``."""
    return (PROGRESS if progress is None else progress).summary()
