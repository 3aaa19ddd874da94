"""Honest self-checks (issue 15 item 1): feedback to a wrong answer never gives the answer.

For every registered kind and seeds 0..200, a pool of wrong answers (other faults and
levels, off-by-one and nearby numbers, every return code and errno, other letter sets,
page sizes, labels, cells, ids, garbage, non-strings) is checked. For every answer the
checker rejects, the feedback (hint included) must not contain ``str(answer)``, and no
candidate cut out of the feedback -- every quoted string, every run of one to four
words, every number, every clause -- may be accepted when fed back to ``check``.
The revealed answer line, pasted back, must be accepted (issue 15 item 10).
"""

from __future__ import annotations

import itertools
import re

import pytest

from pynest.exercises import GENERATORS, FaultAnswer, generate
from pynest.kvm.constants import RETURN_CODES
from pynest.kvm.hcalls import rc_name
from pynest.scenarios.nested_init import ERRNOS

SEEDS = range(201)

_GARBAGE = ("", "   ", "zzz", "???", "0x", "0xg1", "lol what", "answer", "-", "12abc", "é", "\x00")
_NON_STR = (None, 3.5, True, [], b"0x10")
_FAULTS = tuple(f"{i} L{n}" for i in ("DSI", "ISI", "HDSI", "HISI") for n in range(4)) + (
    "DSI",
    "ISI",
    "HDSI",
    "HISI",
    "DSEG",
    "ISEG",
    "fault",
    "a fault",
    "dsi at level 2",
)
_SHAPES = (
    "0",
    "1",
    "-1",
    "2",
    "5",
    "16",
    "-22",
    "0x1000",
    "0xe00",
    "0x980",
    "0xc00",
    "0xe20",
    "0xe40",
    "0x900",
    "no",
    "yes",
    "none",
    "r",
    "rw",
    "prwx",
    "x",
    "p",
    "rc",
    "c",
    "64K",
    "2M",
    "1G",
    "4K",
    "LPID 0 PID 0",
    "LPID 1 PID 1",
    "1, 2",
    "T1",
    "T1 S1",
    "S2",
    "L2 P1",
    "PRTE entry",
    "data P3",
    "PATE P0",
    "NOHPTE",
    "NOHPTE ISSTORE",
    "PROTFAULT",
)


def _numbers(value: int) -> list[str]:
    out = []
    for v in (value - 1, value + 1, value * 2, value // 2, value ^ 0x1000, value + 8):
        if v >= 0:
            out += [f"{v:#x}", str(v)]
        else:
            out.append(str(v))
    return out


def wrong_candidates(answer: object) -> list[object]:
    """A pool of answers aimed at this answer kind; the test keeps the rejected ones."""
    pool: list[object] = [*_GARBAGE, *_NON_STR, *_FAULTS, *_SHAPES]
    pool += list(RETURN_CODES.values()) + [str(v) for v in RETURN_CODES]
    pool += [f"-{name}" for name in ERRNOS] + [f"-{v}" for v in ERRNOS.values()]
    value = getattr(answer, "value", None)
    if isinstance(value, int) and not isinstance(value, bool):
        pool += _numbers(value)
        pool += [rc_name(value + 1), rc_name(value - 1)]
    for slip in getattr(answer, "mistakes", {}) or {}:
        if isinstance(slip, int):
            pool += [f"{slip:#x}" if slip >= 0 else str(slip), str(slip)]
        elif isinstance(slip, tuple):
            pool.append(f"LPID {slip[0]} PID {slip[1]}")
    interrupt = getattr(answer, "interrupt", None)
    if interrupt is not None:
        level = getattr(answer, "level", None)
        for n in range(5):
            if n != level:
                pool += [f"{interrupt} L{n}", f"{interrupt} at level {n}"]
        pool += [f"L{n}" for n in range(4)] + [interrupt.lower() + " somewhere"]
    alphabet = getattr(answer, "alphabet", None)
    if alphabet:
        for k in range(len(alphabet) + 1):
            pool += ["".join(c) for c in itertools.combinations(alphabet, k)]
    if hasattr(answer, "lpid") and hasattr(answer, "pid"):
        lp, p = answer.lpid, answer.pid
        pool += [f"LPID {lp + 1} PID {p}", f"LPID {lp} PID {p + 1}", f"{p}, {lp}"]
    known = getattr(answer, "known", None)
    if known:
        labels = sorted(known)
        pool += labels + [" ".join(labels[:2]), " ".join(labels)]
    if hasattr(answer, "row") and hasattr(answer, "column"):
        pool += [
            f"{r} {c}"
            for r in ("PATE", "PRTE", "L0", "L1", "L2", "L3", "data")
            for c in ("P0", "P1", "P2", "P3", "entry")
        ]
    return pool


_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")
_NUMBER = re.compile(r"(?<![\w.])-?(?:0x[0-9a-fA-F_]+|[0-9][0-9_]*)(?![\w]|\.[0-9])")
"""Numbers standing alone: a kernel version such as 5.0 is one token, not 5 and 0."""
_CLAUSE = re.compile(r"[.;:!?](?=\s|$)|[()\[\]]|, | - | -- |—")
"""Where a phrase ends: a full stop (not the dot of 0x1.5 or 5.0), a colon, brackets."""
_WORD = re.compile(r"[A-Za-z0-9_\-+|/.<>]+")


def candidate_tokens(feedback: str) -> set[str]:
    """Every string a learner could cut out of ``feedback`` and paste back."""
    out = {feedback}
    out.update(a or b for a, b in _QUOTED.findall(feedback))
    out.update(_NUMBER.findall(feedback))
    for clause in _CLAUSE.split(feedback):
        out.add(clause.strip())
        words = [w.strip(".,;:") for w in _WORD.findall(clause)]
        words = [w for w in words if w]
        for n in range(1, 5):
            for i in range(len(words) - n + 1):
                out.add(" ".join(words[i : i + n]))
    return {t for t in out if t.strip()}


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text).split()).lower()


def _whole(text: str) -> re.Pattern[str]:
    """``text`` standing alone (not inside a longer number or word)."""
    return re.compile(rf"(?<![\w-]){re.escape(text)}(?!\w)")


def leaks(kind: str, seed: int) -> list[str]:
    """Every way the feedback of ``kind``/``seed`` gives the answer away (empty: honest)."""
    ex = generate(kind, seed)
    shown = str(ex.answer)
    found: list[str] = []
    tokens: dict[str, str] = {}
    for wrong in wrong_candidates(ex.answer):
        ok, feedback = ex.check(wrong)
        if ok:
            continue
        echo = str(wrong).strip()
        rest = feedback.replace(repr(echo), " ") if echo else feedback
        rest = rest.replace(echo, " ") if len(echo) >= 3 else rest
        if _whole(shown).search(rest):
            found.append(f"feedback to {wrong!r} shows the answer {shown!r}: {feedback}")
        for token in candidate_tokens(feedback):
            if _norm(token) not in _norm(echo):  # the learner's own words, echoed
                tokens.setdefault(token, f"{wrong!r} -> {feedback}")
    for token, source in tokens.items():
        if ex.check(token)[0]:
            found.append(f"{token!r} is accepted and appears in the feedback to {source}")
    return found


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_no_feedback_to_a_wrong_answer_gives_the_answer(kind):
    bad = []
    for seed in SEEDS:
        bad += [f"seed {seed}: {msg}" for msg in leaks(kind, seed)[:2]]
    assert not bad, f"{len(bad)} leaks, e.g.\n" + "\n".join(bad[:8])


def test_the_finder_finds_a_leak():
    """The property is not vacuous: a checker that echoes its answer is caught."""

    class Echo:
        value = 0x980

        def check(self, given):
            ok = str(given).strip() in ("0x980", "2432")
            return ok, "Correct." if ok else "No: the HDEC, 0x980, ends it."

        def __str__(self):
            return "0x980 (2432)"

    from pynest.exercises.base import Exercise

    ex = Exercise("enter-nested", 0, "q", Echo(), "s")
    ok, feedback = ex.check("0x900")
    assert not ok
    assert "0x980" in candidate_tokens(feedback)
    assert ex.check("0x980")[0]


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_pasting_the_revealed_answer_line_back_is_accepted(kind):
    for seed in range(0, 201, 4):
        ex = generate(kind, seed)
        line = ex.reveal().split("\n", 1)[0]
        ok, feedback = ex.check(line)
        assert ok, f"seed {seed}: {line!r} -> {feedback}"
        ok, feedback = ex.check(line.removeprefix("Answer:").strip())
        assert ok, f"seed {seed}: {line!r} without 'Answer:' -> {feedback}"


# ------------------------------------------------------------- what the question shows
_FAULTY = (FaultAnswer,)
_ASKS_FAULT = re.compile(r"name the (fault|interrupt)|if it faults|or which fault", re.I)
_EXAMPLE = re.compile(
    r"(?:e\.g\.|such as|like)\s+('[^']+'(?:(?:,\s*|\s+or\s+)'[^']+')*|[^)?.,;]+)"
    r"|(?<!\w)'([^']+)'(?!\w)"
)
"""An example the question gives ('e.g. X', 'such as X', 'like X'), or a quoted choice."""


def _is_fault(answer: object) -> bool:
    return isinstance(answer, _FAULTY)


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_the_answer_box_says_what_to_type_without_giving_it(kind):
    """The placeholder (``Exercise.answer_form``) names a form and does not single out
    the answer: a value it holds that the checker takes ('none' in a list of choices) is
    wrong for another question with the same placeholder; a placeholder seen with a
    fault outcome is seen with a value outcome too; and one shown for a question that
    asks 'or which fault' mentions the fault even when there is none."""
    forms: dict[bool, set[str]] = {True: set(), False: set()}
    taken: dict[tuple[str, str], list[int]] = {}
    seen: dict[str, list] = {}
    bad = []
    for seed in range(120):
        ex = generate(kind, seed)
        form = ex.answer_form
        assert form.strip(), f"seed {seed}: empty form"
        forms[_is_fault(ex.answer)].add(form)
        for token in candidate_tokens(form):
            if ex.check(token)[0]:
                taken.setdefault((form, token), []).append(seed)
        seen.setdefault(form, []).append(ex)
        if _ASKS_FAULT.search(ex.question) and not re.search(r"fault|interrupt", form):
            bad.append(f"seed {seed}: the question allows a fault but the box says {form!r}")
    if forms[True] and forms[False]:
        alone = forms[True] - forms[False]
        assert not alone, f"only fault outcomes show {sorted(alone)}"
    for (form, token), seeds in taken.items():  # a choice the form lists must be wrong somewhere
        if all(other.check(token)[0] for other in seen[form]):
            bad.append(f"seeds {seeds[:3]}: {form!r} holds {token!r}, always the answer")
    assert not bad, "\n".join(bad[:8])


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_a_questions_own_example_is_not_its_answer(kind):
    """An example in the question ('e.g. ...', 'like ...') is never the right answer
    (translate once said "e.g. 'DSI L3'", the answer to a quarter of its questions);
    a quoted choice ('no', 'none') is wrong for some other question that offers it."""
    bad = []
    offered: dict[str, list] = {}
    for seed in range(120):
        ex = generate(kind, seed)
        for m in _EXAMPLE.finditer(ex.question):
            if m.group(1):
                pieces = [m.group(1), *(p.strip(" '") for p in re.split(r",|\bor\b", m.group(1)))]
                hits = [p for p in pieces if p and ex.check(p)[0]]
                if hits:
                    bad.append(f"seed {seed}: the question's example {hits[0]!r} is accepted")
            else:
                offered.setdefault(m.group(2), []).append(ex)
    for choice, exercises in offered.items():
        if all(ex.check(choice)[0] for ex in exercises):
            bad.append(f"the choice {choice!r} is the answer wherever it is offered")
    assert not bad, "\n".join(bad[:8])


def test_the_example_finder_sees_examples_and_choices():
    q = "stops (e.g. 'DSI L3'). The step's own entry? Answer like 'L0 P3'. Say 'no' or"
    found = [m.groups() for m in _EXAMPLE.finditer(q)]
    assert found == [("'DSI L3'", None), ("'L0 P3'", None), (None, "no")]
