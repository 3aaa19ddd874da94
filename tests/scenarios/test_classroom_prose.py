"""The classroom story's prose is data: every template is used, and fills as the story does."""

import string

from pynest.scenarios.classroom import STEP_KEYS, classroom_story
from pynest.scenarios.classroom_prose import FRAGMENTS, PROSE, fragment, prose

SHARED = {"run-l2": ("run-l2-a", "run-l2-b")}  # one template, two steps
NEVER_IN_A_STORY = {
    "run-l2/known-guest": "each L2's first run is a step of its own, so L0 always creates",
    "flushes/failed": "the flush after a row write the L1 made itself cannot fail",
    "flush-all/none": "both L2s have run before the flush, so L0 holds their guests",
}


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def test_every_step_has_a_template_and_every_template_a_step():
    steps = [s for key in PROSE for s in SHARED.get(key, (key,))]
    assert sorted(steps) == sorted(STEP_KEYS)
    for key, (_title, sentence) in PROSE.items():
        assert _fields(sentence), key  # a template, not fixed text


def test_the_story_s_titles_are_the_templates_filled():
    story = classroom_story(0)
    for key, (title, _sentence) in PROSE.items():
        for step in SHARED.get(key, (key,)):
            got = story.step(step).title
            if _fields(title):
                assert got.startswith(title.split("{")[0]) and "{" not in got
            else:
                assert got == title


def test_every_fragment_is_used_by_some_story():
    """The default story, a refused PTCR of each kind and a flush with a removed guest
    between them say every fragment; each appears filled in a sentence."""
    stories = [
        classroom_story(0),
        classroom_story(0, new_ptcr=0x1000_0000 | 9),  # PRTS 9 > 4
        classroom_story(0, new_ptcr=0x7FFF_0000_0000 | 4),  # not L1 memory
        classroom_story(0, new_ptcr=0),  # no table: the flush finds no rows
    ]
    text = "\n".join(step.sentence for story in stories for step in story.steps)
    for key, template in FRAGMENTS.items():
        if key in NEVER_IN_A_STORY:
            continue
        head = template.split("{")[0].strip()
        if head:
            assert head in text, key


def test_the_cases_no_story_reaches_still_read_well():
    assert fragment("run-l2/known-guest", shadow_lpid=7) == (
        "L0 already has its nested guest (shadow LPID 7). "
    )
    assert fragment("flushes/failed") == "failed"
    assert fragment("flush-all/none") == "had no nested guest to look at"


def test_plural_follows_the_count():
    assert "1 nested guest still" in prose("nested-exit", rc="H_SUCCESS", left=1, plural_of=1)[1]
    assert "2 nested guests still" in prose("nested-exit", rc="H_SUCCESS", left=2, plural_of=2)[1]
    assert "0 nested guests freed" in prose("release-all", freed=0, lpid=1, plural_of=0)[1]
    assert "(1 use-after-free event in" in fragment("flush-all/caveat", n=1, plural_of=1)
    assert "(2 use-after-free events in" in fragment("flush-all/caveat", n=2, plural_of=2)
