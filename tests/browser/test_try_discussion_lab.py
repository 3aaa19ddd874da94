"""The "Try:" discussions as a learner meets them in JupyterLab (issue 15 item 10): closed
at first (only "Discussion" shows), their bullets rendered as markdown once opened."""

from __future__ import annotations

from .conftest import SCREENSHOTS, TOKEN


def test_discussion_is_collapsed_then_opens_as_markdown(lab, page):
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{lab}/lab/tree/04_two_dimensional_walk.ipynb?token={TOKEN}&reset")
    details = page.locator(".jp-RenderedMarkdown details").first
    details.wait_for(state="attached", timeout=90_000)
    summary = details.locator("summary")
    assert summary.inner_text().strip() == "Discussion"
    bullets = details.locator("li")
    assert bullets.count() >= 3  # the markdown inside became a list, not literal '* '
    assert not bullets.first.is_visible()  # collapsed until the learner asks
    summary.scroll_into_view_if_needed()
    summary.click()
    bullets.first.wait_for(state="visible", timeout=10_000)
    assert "read 12" in bullets.first.inner_text()
    assert details.locator("strong").count() >= 3 and details.locator("code").count() >= 3
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    details.screenshot(path=str(SCREENSHOTS / "try_discussion_04_open.png"))
