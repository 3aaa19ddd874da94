"""Seeded exercises: a question, its answer, a check that explains, and a reveal.

The OSTEP homework pattern: a seed gives the same problem on every run and Python
version (generators use ``random.Random(seed)`` only, never the global generator);
``check`` says whether an answer is right and why not; ``reveal`` prints the answer
with the full walk trace, faults named by the level where they happen.

Answers are typed the way a student writes them: numbers in hex (``0x3000abc``) or
decimal (``50334396``), underscores allowed; faults as the interrupt and the level
(``DSI L3``, ``DSI at level 3``); access rights as EAA letters (``rw``, ``-rw-``).
Nothing here imports ipywidgets until :meth:`Exercise.widget` is called.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import FieldError
from ..kvm.hcalls import RETURN_CODES, rc_name, to_signed
from ..scenarios.text import parse_number
from .progress import PROGRESS, Progress


# ----------------------------------------------------------------------- examples
def other_examples(candidates: tuple[str, ...], accepts: Any, n: int = 2) -> str:
    """The first ``n`` of ``candidates`` that ``accepts`` rejects, quoted and joined.

    Feedback shows the *form* of an answer with examples drawn from other outcomes, so
    that no feedback is itself an answer the checker would take (issue 15 item 1).
    """
    picked = [c for c in candidates if not accepts(c)][:n]
    return " or ".join(f"'{c}'" for c in picked)


def _number_problem(given: object, what: str) -> str:
    """Why ``given`` is not a number, in the learner's words (no example values)."""
    if not isinstance(given, str):
        return f"the {what} is a number, not {type(given).__name__} {given!r}"
    text = given.strip()
    if not text:
        return "nothing was typed"
    if text.startswith("-") and re.fullmatch(r"-\s*(0x[0-9a-f_]+|[0-9][0-9_]*)", text, re.I):
        return f"{text!r} is negative; the {what} is never negative"
    return f"{text!r} is not a number"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _strip_revealed(given: object) -> object:
    """``given`` without the ``Answer:`` label of a pasted reveal line."""
    if isinstance(given, str):
        text = given.strip()
        if text[:7].lower() == "answer:":
            return text[7:].strip()
    return given


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()).lower() == " ".join(b.split()).lower()


# ----------------------------------------------------------------------- answers
class Answer(Protocol):
    """What every answer kind provides: a checker, the shown answer, and ``form``, what
    an answer of this kind looks like in words (the answer box's placeholder). A form
    names no value that could be an answer: letters like ``<n>`` stand for the digits."""

    def check(self, given: object) -> tuple[bool, str]: ...
    def __str__(self) -> str: ...
    @property
    def form(self) -> str: ...


_RC_BY_NAME = {name: value for value, name in RETURN_CODES.items()}
_RC_EXAMPLES = ("H_P2", "H_FUNCTION", "-4", "H_NOT_FOUND", "-7")
_PAIR_RE = re.compile(r"(\S+)\s*\(([^()]+)\)(?::.*)?", re.S)
"""'NAME (value)' or 'value (NAME)', optionally followed by ': why' (a revealed answer)."""


@dataclass(frozen=True)
class ReturnCodeAnswer:
    """An hcall return code, accepted as its name (``H_PARAMETER``, ``parameter``), its
    signed value (``-4``) or the 64-bit r3 image (``0xfffffffffffffffc``).

    ``why`` is shown with the answer; ``mistakes`` maps a likely wrong code to the hint
    that explains it."""

    value: int
    why: str = ""
    mistakes: dict[int, str] = field(default_factory=dict, compare=False)

    def parse(self, given: object) -> int | None:
        """The code ``given`` names, or None when it names none."""
        if isinstance(given, bool):
            return None
        if isinstance(given, int):
            return to_signed(given) if -(1 << 63) <= given < 1 << 64 else None
        if not isinstance(given, str):
            return None
        pair = _PAIR_RE.fullmatch(given.strip())
        if pair:  # the shown spelling, 'H_PARAMETER (-4)': both halves must agree
            name, number = self.parse(pair.group(1)), self.parse(pair.group(2))
            return name if name is not None and name == number else None
        text = given.strip().upper().replace(" ", "_")
        for name in (text, "H_" + text):
            if name in _RC_BY_NAME:
                return _RC_BY_NAME[name]
        if re.fullmatch(r"-\s*[0-9]+", text):
            return -int(text[1:].strip("_"))
        try:
            return to_signed(parse_number(given, "return code"))
        except FieldError:
            return None

    def check(self, given: object) -> tuple[bool, str]:
        got = self.parse(given)
        if got is None:
            examples = other_examples(_RC_EXAMPLES, lambda c: self.parse(c) == self.value, 3)
            return False, (
                f"Not understood: {given!r}. Answer with a return code: its name or its "
                f"value, e.g. {examples} (examples of the form, not this answer)."
            )
        if got == self.value:
            return True, f"Correct: {self}."
        name = rc_name(got)
        slip = self.mistakes.get(got)
        if slip:
            return False, f"No, not {name}: {slip}"
        return False, f"No, L0 does not return {name} ({got}) here."

    @property
    def form(self) -> str:
        return "a return code: its name (H_...) or its value"

    def __str__(self) -> str:
        text = f"{rc_name(self.value)} ({self.value})"
        return f"{text}: {self.why}" if self.why else text


_NUMBER_EXAMPLES: dict[str, tuple[str, ...]] = {
    "address": ("0x10000abc", "268438204", "0x20000abc", "536871612"),
    "count": ("3", "12", "7"),
    "id": ("7", "3", "12"),
    "number": ("0x1000", "4096", "0x40", "64"),
}
"""Examples of the form of a :class:`NumberAnswer`, by its sort."""


@dataclass(frozen=True)
class NumberAnswer:
    """A number (an address, an LPID, a count).

    ``mistakes`` maps a wrong value that a common slip produces to an explanation of the
    slip; ``fault_hint`` answers a learner who names a fault when there is none. A count
    (``what`` starting "number of") is written in decimal in the feedback, anything else
    in hex and decimal; either spelling is accepted as an answer. ``signed`` answers (a
    ``max_nested_lpid`` may be -1) take a leading minus and are shown in decimal.
    """

    value: int
    what: str = "address"
    mistakes: dict[int, str] = field(default_factory=dict)
    fault_hint: str = "this access does not fault"
    signed: bool = False
    kind: str = ""
    """What the answer is, as :data:`pynest.scenarios.text.KINDS` names it (``"id"``,
    ``"count"``...): the feedback's examples are of that sort (the answer is shown as
    before). Default: a count for a ``what`` starting "number of", an address or an ID
    if ``what`` names one, else a number."""

    @property
    def is_count(self) -> bool:
        return self.what.startswith("number of")

    @property
    def sort(self) -> str:
        """The answer's kind, given or derived from ``what``."""
        if self.kind:
            return self.kind
        if self.is_count:
            return "count"
        if "address" in self.what:
            return "address"
        return "id" if re.search(r"\b(L?PID|LPIDR|PIDR)\b", self.what) else "number"

    def _fmt(self, value: int) -> str:
        return f"{value}" if self.is_count else f"{value:#x}"

    def _parse_signed(self, given: object) -> int | None:
        if isinstance(given, bool):
            return None
        if isinstance(given, int):
            return given
        text = str(given).strip().replace(" ", "")
        return int(text, 0) if re.fullmatch(r"-?(0x[0-9a-fA-F]+|[0-9]+)", text) else None

    def parse(self, given: object) -> int | None:
        """The number ``given`` names, or None. ``0x3000abc (50334396)`` -- the shown
        spelling -- is taken when both halves are the same number."""
        if isinstance(given, str):
            pair = _PAIR_RE.fullmatch(given.strip())
            if pair and ":" not in given:
                a, b = self.parse(pair.group(1)), self.parse(pair.group(2))
                return a if a is not None and a == b else None
        if self.signed:
            return self._parse_signed(given)
        try:
            return parse_number(given, self.what, kind=self.sort)
        except FieldError:
            return None

    def _examples(self) -> str:
        """Numbers of the answer's form (and sort: no address for an LPID) that are not
        the answer."""
        if self.signed:
            candidates: tuple[str, ...] = ("-1", "5", "3")
        else:
            candidates = _NUMBER_EXAMPLES.get(self.sort, _NUMBER_EXAMPLES["number"])
        return other_examples(candidates, lambda c: self.parse(c) == self.value)

    def check(self, given: object) -> tuple[bool, str]:
        if not self.signed and isinstance(given, str) and _looks_like_fault(given):
            return False, f"No: {self.fault_hint}. Give the {self.what} as a number."
        value = self.parse(given)
        if value is None:
            form = "a number" if self.signed or self.is_count else "a number in hex or decimal"
            return False, (
                f"Not understood: {_number_problem(given, self.what)}. Give the {self.what} "
                f"as {form}, like {self._examples()} (the form only, not this answer)."
            )
        if value == self.value:
            return True, f"Correct: {self}."
        shown = f"{value}" if self.signed else self._fmt(value)
        slip = self.mistakes.get(value)
        if slip:
            return False, f"No, {shown} is not it: {slip}"
        return False, f"No, {shown} is not the {self.what}."

    @property
    def form(self) -> str:
        if self.signed:
            return f"the {self.what}: a whole number (a minus sign is allowed)"
        if self.is_count:
            return f"the {self.what}: a whole number"
        if self.sort == "id":
            return f"the {self.what}: a number"
        return f"the {self.what}: 0x... (hex) or decimal"

    def __str__(self) -> str:
        if self.signed or self.is_count:
            return f"{self.value}"
        return f"{self.value:#x} ({self.value})"


_INTERRUPTS = ("HDSI", "HISI", "DSEG", "ISEG", "DSI", "ISI")
_FAULT_EXAMPLES = ("ISI L1", "HDSI L2", "DSI L0", "HISI L3", "ISEG", "DSEG")
_LEVEL_RE = re.compile(r"(?:\bl|level\s*)([0-9])\b")


def _looks_like_fault(text: str) -> bool:
    t = text.lower()
    return any(w in t for w in ("fault", "dsi", "isi", "dseg", "iseg", "nopte", "badconfig"))


def _named_interrupt(text: str) -> str | None:
    upper = text.upper()
    for name in _INTERRUPTS:  # longest names first: HDSI before DSI
        if re.search(rf"\b{name}\b", upper):
            return name
    return None


@dataclass(frozen=True)
class FaultAnswer:
    """A fault: the interrupt and, for a walk, the level (0 = root) where it happens.

    ``level`` is None for faults that happen before any tree is walked (segment
    interrupts, a bad PTCR or partition-table entry). ``cause`` names the cause bits
    (``NOPTE``, ``PROTFAULT``, ``R_BADCONFIG``...), shown in feedback and accepted but
    not required in an answer.
    """

    interrupt: str
    level: int | None = None
    cause: str = ""
    where: str = ""

    def accepts(self, given: object) -> bool:
        """Whether ``given`` names this interrupt or its cause (``NOPTE``), and, for a
        walk, this level. A level alone (``L3``) or the word ``fault`` is not enough."""
        if not isinstance(given, str):
            return False
        named = _named_interrupt(given)
        causes = {c.strip().upper() for c in self.cause.split("|") if c.strip()}
        words = set(re.findall(r"[A-Z_]+", given.upper()))
        if named != self.interrupt and not (named is None and causes & words):
            return False  # the interrupt, or failing that this fault's cause, must be named
        if self.level is None:
            return True
        m = _LEVEL_RE.search(given.lower())
        return m is not None and int(m.group(1)) == self.level

    def _form(self) -> str:
        """How to write the answer, with examples from other outcomes."""
        examples = other_examples(_FAULT_EXAMPLES, self.accepts)
        what = "the interrupt and the level" if self.level is not None else "the interrupt"
        return f"name {what}, like {examples} (examples of the form from other accesses)"

    def check(self, given: object) -> tuple[bool, str]:
        if self.accepts(given):
            return True, f"Correct: {self._describe()}."
        if not isinstance(given, str):
            return False, (
                f"No: this access does not translate, it faults. To answer, {self._form()}."
            )
        text = given.strip()
        named = _named_interrupt(text)
        if named is None:
            if not _looks_like_fault(text) and not _LEVEL_RE.search(text.lower()):
                try:
                    parse_number(text)
                except FieldError:
                    return False, f"Not understood: {text!r}. {self._form().capitalize()}."
                return False, (
                    f"No: this access does not reach memory, it faults. To answer, {self._form()}."
                )
            return False, (
                "Which interrupt? Name it (the level alone, or the word fault, is not enough): "
                f"{self._form()}."
            )
        if named != self.interrupt:
            return False, f"No: it is not a {named}. Which kind of storage interrupt is it?"
        m = _LEVEL_RE.search(text.lower())
        if m is None:
            return False, "Which level? Add it as L<n>, from 0 (the root) down to the leaf."
        level = int(m.group(1))
        direction = "later" if level < self.level else "earlier"  # type: ignore[operator]
        return False, f"No: not at level {level}; the walk stops {direction}."

    def _describe(self) -> str:
        text = self.interrupt
        if self.cause:
            text += f" {self.cause}"
        if self.level is not None:
            text += f" at level {self.level}"
        if self.where:
            text += f" ({self.where})"
        return text

    @property
    def form(self) -> str:
        if self.level is None:
            return "the interrupt's name (DSI, HDSI, ...)"
        return "the interrupt and the level where the walk stops, as <name> L<n>"

    def __str__(self) -> str:
        return self._describe()


@dataclass(frozen=True)
class LettersAnswer:
    """A set of letters from ``alphabet`` (EAA ``prwx``, or ``rc`` for R and C).

    Order, case, dashes, spaces and commas are ignored: ``-rw-``, ``RW`` and ``w, r``
    are the same answer. ``none`` is accepted for the empty set.
    """

    letters: str
    alphabet: str = "prwx"
    names: dict[str, str] = field(default_factory=dict)

    def _normal(self, text: str) -> set[str] | None:
        t = text.strip().lower()
        if not t:
            return None
        if t in ("none", "nothing", "empty", "-", "----", "--"):
            return set()
        t = re.sub(r"[\s,\-+|/]", "", t)
        if set(t) - set(self.alphabet):
            return None
        return set(t)

    def check(self, given: object) -> tuple[bool, str]:
        form = (
            "Answer with the letters of the set bits, as the question lists them (order, "
            "case and dashes do not matter), or with the question's word for no bit set."
        )
        if not isinstance(given, str):
            return False, form
        got = self._normal(given)
        if got is None:
            return False, f"Not understood: {given.strip()!r}. {form}"
        want = set(self.letters)
        if got == want:
            return True, f"Correct: {self}."
        parts = []
        if got - want:
            parts.append(_count(len(got - want), "letter you gave is", "letters you gave are"))
            parts[-1] += " not set"
        if want - got:
            parts.append(_count(len(want - got), "set bit is", "set bits are") + " missing")
        return False, "No: " + "; ".join(parts) + "."

    def _name(self, c: str) -> str:
        return self.names.get(c, c)

    @property
    def form(self) -> str:
        return f"letters from {self.alphabet!r} in any order, or none"

    def __str__(self) -> str:
        shown = "".join(c if c in self.letters else "-" for c in self.alphabet)
        return shown if self.letters else f"{shown} (none)"


# ----------------------------------------------------------------------- the record
@dataclass(frozen=True)
class Exercise:
    """One generated question.

    ``kind`` names the generator, ``seed`` reproduces it, ``question`` is the text to
    show, ``answer`` checks answers, ``solution`` is the worked explanation (for a walk,
    the walk trace) and ``hint`` a nudge shown after a wrong answer. ``form`` says what
    to type (the answer box's placeholder); a question whose outcome may be a value *or*
    a fault gives one that names both, the same for either outcome, so the box does not
    tell which it is. Default: the answer's own ``form``.
    """

    kind: str
    seed: int
    question: str
    answer: Any
    solution: str
    hint: str = ""
    form: str = ""

    @property
    def answer_form(self) -> str:
        """What to type: ``form``, or the answer kind's."""
        return self.form or self.answer.form

    def check(self, given: object) -> tuple[bool, str]:
        """(right?, feedback). Never raises: bad input gives feedback that says why."""
        try:
            shown = str(self.answer)
            given = _strip_revealed(given)
            if isinstance(given, str) and _same_text(given, shown):
                return True, f"Correct: {shown}."  # the revealed answer, pasted back
            ok, feedback = self.answer.check(given)
        except Exception as e:  # a bug in a checker must not reach the learner as a traceback
            return False, f"Could not check this answer ({type(e).__name__}: {e})."
        if not ok and self.hint:
            feedback += f" Hint: {self.hint}"
        return ok, feedback

    def reveal(self) -> str:
        """The answer and how to get there."""
        return f"Answer: {self.answer}\n\n{self.solution}"

    def __str__(self) -> str:
        return f"[{self.kind}, seed {self.seed}]\n{self.question}"

    def widget(self) -> ExerciseWidget:
        """A small ipywidgets form: the question, a text box, Check and Reveal buttons."""
        return ExerciseWidget(self)


_NEXT: dict[str, Any] = {}
"""kind -> generator, filled by :mod:`pynest.exercises` (the registry) at import."""


def register(generators: dict[str, Any]) -> None:
    """Make ``generators`` (kind -> seed -> Exercise) known to the New question button."""
    _NEXT.update({k.replace("_", "-"): g for k, g in generators.items()})


class ExerciseWidget:
    """The answer form of one exercise (ipywidgets, imported on first use).

    ``answer`` is the text box, ``feedback`` the line under it; ``submit(text)`` does
    what typing and pressing Check does, ``show_solution()`` what Reveal does and
    ``new_question()`` what New question does: the same kind with the next seed
    (seed + 1, so the sequence is the same on every run). ``status`` shows the seed and
    the tried/right count for the kind, kept across kernels in the progress file
    (:data:`pynest.exercises.progress.PROGRESS`); a problem with that file is said once,
    in ``notice``. Display it by leaving it as the last expression of a cell.
    """

    def __init__(self, exercise: Exercise, progress: Progress | None = None) -> None:
        import ipywidgets as w

        self.exercise = exercise
        self.progress = PROGRESS if progress is None else progress
        layout = w.Layout(width="auto")
        self.question = w.HTML("")
        self.answer = w.Text(
            placeholder=f"your answer: {exercise.answer_form}",
            continuous_update=False,  # value changes on Enter (or leaving the box)
            layout=w.Layout(width="420px"),
        )
        self.check_button = w.Button(description="Check", button_style="primary")
        self.reveal_button = w.Button(description="Reveal")
        self.next_button = w.Button(
            description="New question",
            disabled=_NEXT.get(exercise.kind.replace("_", "-")) is None,
        )
        self.status = w.HTML("", layout=layout)
        self.feedback = w.HTML("", layout=layout)
        self.notice = w.HTML("", layout=layout)
        self.solution = w.HTML("", layout=layout)
        self.check_button.on_click(lambda _b: self.submit(self.answer.value))
        self.answer.observe(self._on_enter, names="value")
        self.reveal_button.on_click(lambda _b: self.show_solution())
        self.next_button.on_click(lambda _b: self.new_question())
        self.box = w.VBox(
            [
                self.status,
                self.question,
                w.HBox([self.answer, self.check_button, self.reveal_button, self.next_button]),
                self.feedback,
                self.notice,
                self.solution,
            ]
        )
        self._show()

    def _show(self) -> None:
        ex = self.exercise
        self.question.value = f"<pre style='font-size:14px'>{_html(ex.question)}</pre>"
        self.status.value = (
            f"<span style='font-size:13px'>{_html(ex.kind)}, seed {ex.seed} · "
            f"{_html(self.progress.text(ex.kind))}</span>"
        )
        fresh = self.progress.new_notices()
        if fresh:
            self.notice.value = (
                "<span style='font-size:13px;color:#8a5a00'>⚠ "
                + " ".join(_html(n) for n in fresh)
                + "</span>"
            )

    def _on_enter(self, change: dict) -> None:
        if str(change["new"]).strip():
            self.submit(change["new"])

    def submit(self, text: str) -> bool:
        """Check ``text`` and show the verdict; returns whether it was right."""
        ok, message = self.exercise.check(text)
        self.progress.answered(self.exercise.kind, self.exercise.seed, ok)
        colour = "#009E73" if ok else "#D55E00"
        mark = "✔" if ok else "✘"
        self.feedback.value = (
            f"<span style='font-size:15px;color:{colour}'><b>{mark}</b> {_html(message)}</span>"
        )
        self._show()
        return ok

    def show_solution(self) -> None:
        self.progress.revealed(self.exercise.kind, self.exercise.seed)
        self.solution.value = f"<pre style='font-size:13px'>{_html(self.exercise.reveal())}</pre>"
        self._show()

    def new_question(self) -> Exercise:
        """Replace the question with the same kind's next seed; clears answer and verdict."""
        gen = _NEXT.get(self.exercise.kind.replace("_", "-"))
        if gen is not None:
            self.exercise = gen(self.exercise.seed + 1)
        self.answer.value = ""
        self.answer.placeholder = f"your answer: {self.exercise.answer_form}"
        self.feedback.value = ""
        self.solution.value = ""
        self._show()
        return self.exercise

    def placeholder(self) -> str:
        """The stored ``text/plain``: what a notebook shows where no kernel drew the form."""
        ex = self.exercise
        return f"Exercise ({ex.kind}, seed {ex.seed}): run this cell to answer it"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.box._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):
            bundle["text/plain"] = self.placeholder()
        return bundle


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
