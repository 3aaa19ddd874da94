"""A student's side in JupyterLab: open the assigned notebook, type into the answer boxes,
save; the grader reads what Lab wrote. The suite's Chromium (``conftest.browser``: one
playwright per test session, so this lives with the other browser tests) and a JupyterLab
of its own on a free loopback port serving the assignment (skipped when either is missing)."""

from __future__ import annotations

import time

import pytest

from pynest.teach import assign, grade, read_roster
from pynest.teach.assign import questions_for

from .conftest import browser_missing_reason, browser_page, jupyterlab

SECRET = b"lab-test-secret-0123456789"
KINDS = ["partition-table", "nested-cost", "decode-pte"]
TOKEN = "pynest-teach-test"


@pytest.fixture
def teach_lab(tmp_path):
    """(base URL, root folder) of a JupyterLab serving an empty folder."""
    reason = browser_missing_reason()
    if reason:
        pytest.skip(reason)
    root = tmp_path / "root"
    root.mkdir()
    with jupyterlab(root, tmp_path / "home", TOKEN) as url:
        yield url, root


def test_answers_typed_in_lab_are_graded(teach_lab, browser, tmp_path):
    base, root = teach_lab
    (tmp_path / "roster.csv").write_text("id\nsam\n")
    roster = read_roster(tmp_path / "roster.csv")
    assign(roster, ",".join(KINDS), "Lab check", SECRET, root)
    exercises = [q.exercise for q in questions_for(SECRET, "Lab check", "sam", KINDS)]
    typed = [str(exercises[0].answer), "no idea", ""]  # the worked answer: right, any variant
    with browser_page(browser, 1280, 720) as page:
        page.goto(f"{base}/lab/tree/sam.ipynb?token={TOKEN}")
        boxes = page.locator(".jp-Notebook .jp-RawCell")
        boxes.nth(len(KINDS) - 1).wait_for(timeout=60_000)
        assert boxes.count() == len(KINDS)
        for i, text in enumerate(typed):
            if text:
                boxes.nth(i).locator(".cm-content").click()
                page.keyboard.press("End")
                page.keyboard.type(text)
                page.keyboard.press("Escape")
        # a question cell is locked: typing into it changes nothing
        page.locator(".jp-Notebook .jp-MarkdownCell").nth(1).dblclick()
        page.keyboard.type("zzz")
        page.keyboard.press("Escape")
        page.keyboard.press("Control+s")
        page.wait_for_function(
            "() => !document.querySelector('.jp-mod-current .jp-mod-dirty')", timeout=20_000
        )
        time.sleep(1)
    saved = (root / "sam.ipynb").read_text(encoding="utf-8")
    assert "zzz" not in saved
    report = grade(root, roster, SECRET, tmp_path / "graded")
    line = report.line("sam")
    assert [r.answer for r in line.results] == typed
    assert [r.points for r in line.results] == [1, 0, 0]
    assert line.status == "graded (1 unanswered)"
