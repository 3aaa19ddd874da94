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


# ----------------------------------------------------------------------- answers
class Answer(Protocol):
    """What every answer kind provides."""

    def check(self, given: object) -> tuple[bool, str]: ...
    def __str__(self) -> str: ...


_RC_BY_NAME = {name: value for value, name in RETURN_CODES.items()}


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
            return False, (
                f"Not understood: {given!r}. Answer with a return code such as H_SUCCESS, "
                "H_PARAMETER or -4."
            )
        if got == self.value:
            return True, f"Correct: {self}."
        name = rc_name(got)
        slip = self.mistakes.get(got)
        if slip:
            return False, f"No, not {name}: {slip}"
        return False, f"No, L0 does not return {name} ({got}) here."

    def __str__(self) -> str:
        text = f"{rc_name(self.value)} ({self.value})"
        return f"{text}: {self.why}" if self.why else text


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

    @property
    def is_count(self) -> bool:
        return self.what.startswith("number of")

    def _fmt(self, value: int) -> str:
        return f"{value}" if self.is_count else f"{value:#x}"

    def _parse_signed(self, given: object) -> int | None:
        if isinstance(given, bool):
            return None
        if isinstance(given, int):
            return given
        text = str(given).strip().replace(" ", "")
        return int(text, 0) if re.fullmatch(r"-?(0x[0-9a-fA-F]+|[0-9]+)", text) else None

    def _check_signed(self, given: object) -> tuple[bool, str]:
        value = self._parse_signed(given)
        if value is None:
            if isinstance(given, bool):
                return False, f"Not understood: give the {self.what} as a number such as -1 or 5."
            return False, (
                f"Not understood: {str(given).strip()!r} is not a number; give the "
                f"{self.what} as a number such as -1 or 5."
            )
        if value == self.value:
            return True, f"Correct: {self.value}."
        slip = self.mistakes.get(value)
        if slip:
            return False, f"No, {value} is not it: {slip}"
        return False, f"No, {value} is not the {self.what}."

    def check(self, given: object) -> tuple[bool, str]:
        if self.signed:
            return self._check_signed(given)
        if isinstance(given, str) and _looks_like_fault(given):
            return False, f"No: {self.fault_hint}. Give the {self.what} as a number."
        try:
            value = parse_number(given, self.what)
        except FieldError as e:
            return False, f"Not understood: {e}."
        if value == self.value:
            return True, f"Correct: {self}."
        slip = self.mistakes.get(value)
        if slip:
            return False, f"No, {self._fmt(value)} is not it: {slip}"
        return False, f"No, {self._fmt(value)} is not the {self.what}."

    def __str__(self) -> str:
        if self.signed or self.is_count:
            return f"{self.value}"
        return f"{self.value:#x} ({self.value})"


_INTERRUPTS = ("HDSI", "HISI", "DSEG", "ISEG", "DSI", "ISI")
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

    def check(self, given: object) -> tuple[bool, str]:
        if not isinstance(given, str):
            return False, (
                f"No: this access does not translate, it faults. Name the fault, e.g. "
                f"'{self._example()}'."
            )
        text = given.strip()
        if not _looks_like_fault(text) and not _LEVEL_RE.search(text.lower()):
            try:
                parse_number(text)
            except FieldError:
                return False, f"Not understood: name the fault, e.g. '{self._example()}'."
            return False, (
                "No: this access does not reach memory, it faults. Name the interrupt"
                + (" and the level" if self.level is not None else "")
                + f", e.g. '{self._example()}'."
            )
        named = _named_interrupt(text)
        if named is not None and named != self.interrupt:
            return False, f"No: it is not a {named}. Which kind of storage interrupt is it?"
        if self.level is not None:
            m = _LEVEL_RE.search(text.lower())
            if m is None:
                return False, "Which level? Answer like 'DSI L3' (levels 0 = root .. 3)."
            level = int(m.group(1))
            if level != self.level:
                direction = "later" if level < self.level else "earlier"
                return False, f"No: not at level {level}; the walk stops {direction}."
        cause = f" ({self.cause})" if self.cause else ""
        name = "" if named else f" It is a {self.interrupt}{cause}."
        return True, f"Correct: {self._describe()}.{name}"

    def _example(self) -> str:
        return f"{self.interrupt} L{self.level}" if self.level is not None else self.interrupt

    def _describe(self) -> str:
        text = self.interrupt
        if self.cause:
            text += f" {self.cause}"
        if self.level is not None:
            text += f" at level {self.level}"
        if self.where:
            text += f" ({self.where})"
        return text

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
        if not isinstance(given, str):
            return False, f"Answer with letters from '{self.alphabet}', e.g. '{self.alphabet[:2]}'."
        got = self._normal(given)
        if got is None:
            return False, (
                f"Not understood: use only the letters {', '.join(self.alphabet)} (or 'none')."
            )
        want = set(self.letters)
        if got == want:
            return True, f"Correct: {self}."
        parts = []
        if want - got:
            parts.append("missing " + ", ".join(self._name(c) for c in sorted(want - got)))
        if got - want:
            parts.append("not set: " + ", ".join(self._name(c) for c in sorted(got - want)))
        return False, "No: " + "; ".join(parts) + "."

    def _name(self, c: str) -> str:
        return self.names.get(c, c)

    def __str__(self) -> str:
        shown = "".join(c if c in self.letters else "-" for c in self.alphabet)
        return shown if self.letters else f"{shown} (none)"


# ----------------------------------------------------------------------- the record
@dataclass(frozen=True)
class Exercise:
    """One generated question.

    ``kind`` names the generator, ``seed`` reproduces it, ``question`` is the text to
    show, ``answer`` checks answers, ``solution`` is the worked explanation (for a walk,
    the walk trace) and ``hint`` a nudge shown after a wrong answer.
    """

    kind: str
    seed: int
    question: str
    answer: Any
    solution: str
    hint: str = ""

    def check(self, given: object) -> tuple[bool, str]:
        """(right?, feedback). Never raises: bad input gives feedback that says why."""
        try:
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


class ExerciseWidget:
    """The answer form of one exercise (ipywidgets, imported on first use).

    ``answer`` is the text box, ``feedback`` the line under it; ``submit(text)`` does
    what typing and pressing Check does, ``show_solution()`` what Reveal does. Display
    it by leaving it as the last expression of a cell.
    """

    def __init__(self, exercise: Exercise) -> None:
        import ipywidgets as w

        self.exercise = exercise
        layout = w.Layout(width="auto")
        self.question = w.HTML(f"<pre style='font-size:14px'>{_html(exercise.question)}</pre>")
        self.answer = w.Text(
            placeholder="your answer: 0x..., decimal, 'DSI L3', or letters like rw",
            continuous_update=False,  # value changes on Enter (or leaving the box)
            layout=w.Layout(width="420px"),
        )
        self.check_button = w.Button(description="Check", button_style="primary")
        self.reveal_button = w.Button(description="Reveal")
        self.feedback = w.HTML("", layout=layout)
        self.solution = w.HTML("", layout=layout)
        self.check_button.on_click(lambda _b: self.submit(self.answer.value))
        self.answer.observe(self._on_enter, names="value")
        self.reveal_button.on_click(lambda _b: self.show_solution())
        self.box = w.VBox(
            [
                self.question,
                w.HBox([self.answer, self.check_button, self.reveal_button]),
                self.feedback,
                self.solution,
            ]
        )

    def _on_enter(self, change: dict) -> None:
        if str(change["new"]).strip():
            self.submit(change["new"])

    def submit(self, text: str) -> bool:
        """Check ``text`` and show the verdict; returns whether it was right."""
        ok, message = self.exercise.check(text)
        colour = "#009E73" if ok else "#D55E00"
        mark = "✔" if ok else "✘"
        self.feedback.value = (
            f"<span style='font-size:15px;color:{colour}'><b>{mark}</b> {_html(message)}</span>"
        )
        return ok

    def show_solution(self) -> None:
        self.solution.value = f"<pre style='font-size:13px'>{_html(self.exercise.reveal())}</pre>"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.box._repr_mimebundle_(**kwargs)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
