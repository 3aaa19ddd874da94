"""The exercise widget's mechanics (issue 15 item 10): New question, seed shown, progress."""

from __future__ import annotations

from pynest.exercises import GENERATORS, generate
from pynest.exercises.base import ExerciseWidget, Progress
from pynest.exercises.enter_nested import enter_nested_exercise


def test_new_question_is_the_next_seed_of_the_same_kind():
    for kind in GENERATORS:
        w = ExerciseWidget(generate(kind, 7), Progress())
        assert not w.next_button.disabled
        w.submit("zzz")
        w.show_solution()
        ex = w.new_question()
        assert ex == generate(kind, 8)  # deterministic: seed + 1
        assert w.answer.value == "" and w.feedback.value == "" and w.solution.value == ""
        assert "seed 8" in w.status.value
        assert generate(kind, 8).question.splitlines()[0][:20].replace("&", "&amp;")[:5] in (
            w.question.value
        )


def test_a_directly_made_exercise_finds_its_generator():
    w = ExerciseWidget(enter_nested_exercise(3), Progress())
    assert w.new_question() == enter_nested_exercise(4)


def test_progress_counts_tried_and_right_per_kind_in_memory():
    p = Progress()
    a = ExerciseWidget(generate("translate", 1), p)
    right = a.exercise.reveal().split("\n", 1)[0]
    assert a.submit("zzz") is False
    assert p.counts("translate") == (1, 0)
    assert a.submit(right) is True
    assert a.submit(right) is True  # the same question twice counts once
    assert p.counts("translate") == (1, 1)
    assert "1 of 1 question right" in a.status.value
    a.new_question()
    a.show_solution()  # revealed first: a right answer after it does not count as right
    assert a.submit(a.exercise.reveal().split("\n", 1)[0]) is True
    assert p.counts("translate") == (2, 1)
    assert p.counts("walk2d") == (0, 0)
    b = ExerciseWidget(generate("walk2d", 0), p)
    assert "walk2d: 0 of 0 questions right" in b.status.value


def test_the_answer_box_says_what_this_question_takes():
    """The placeholder is the question's own form (issue 15: one text for every kind
    offered 'DSI L3', the answer to a quarter of the translate questions)."""
    w = ExerciseWidget(generate("set-ptbl", 1), Progress())
    assert w.answer.placeholder == "your answer: a return code: its name (H_...) or its value"
    w = ExerciseWidget(generate("decode-pte", 0), Progress())
    assert w.answer.placeholder == "your answer: letters from 'prwx' in any order, or none"
    w = ExerciseWidget(generate("nested-cost", 0), Progress())
    assert w.answer.placeholder == "your answer: the number of bytes: a whole number"
    for seed in range(40):  # a value or a fault: the box says the same either way
        w = ExerciseWidget(generate("translate", seed), Progress())
        assert w.answer.placeholder == (
            "your answer: the real address (0x... or decimal), or the fault as <interrupt> L<n>"
        )


def test_new_question_gives_the_next_questions_box_text():
    w = ExerciseWidget(generate("lpids", 0), Progress())
    for _ in range(6):
        w.new_question()
        assert w.answer.placeholder == f"your answer: {w.exercise.answer_form}"
