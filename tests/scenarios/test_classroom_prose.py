"""The classroom story's prose is data: every template is used, and fills as the story does."""

import string

from pynest.scenarios.classroom import STEP_KEYS, classroom_story
from pynest.scenarios.classroom_prose import PROSE, prose


def test_every_template_names_a_step_and_its_title_is_the_story_title():
    story = classroom_story(0)
    for key, (title, sentence) in PROSE.items():
        assert key in STEP_KEYS
        assert story.step(key).title == title
        fields = {f for _, f, _, _ in string.Formatter().parse(sentence) if f}
        assert fields, key  # a template, not fixed text


def test_plural_follows_the_count():
    assert "1 nested guest still" in prose("nested-exit", rc="H_SUCCESS", left=1, plural_of=1)[1]
    assert "2 nested guests still" in prose("nested-exit", rc="H_SUCCESS", left=2, plural_of=2)[1]
    assert "0 nested guests freed" in prose("release-all", freed=0, lpid=1, plural_of=0)[1]
