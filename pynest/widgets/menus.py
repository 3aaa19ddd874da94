"""Example menus that describe the state the controls are in.

An explorer's *examples* dropdown names a prepared case. Once a slider or a typed box
moves away from it, the menu must stop naming it: it shows :data:`CUSTOM_LABEL` instead,
and names an example again when the controls come back to one. Since the menu then
never shows an example the controls do not hold, picking any example is a change, and
applies it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ipywidgets as w

CUSTOM = -1
"""The menu value meaning "not one of the examples" (no example value is ever -1)."""

CUSTOM_LABEL = "(your own values: pick an example to apply it)"


def with_custom(options: Sequence[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """``options`` with the custom entry at the end."""
    return [*options, (CUSTOM_LABEL, CUSTOM)]


def follow(menu: w.Dropdown, value: Any) -> None:
    """Show ``value`` in ``menu``, or :data:`CUSTOM` when it is not one of the menu's
    values. Call it while the explorer is busy (in ``update``), so that the menu's own
    handler ignores the change."""
    values = [v for _label, v in menu.options]
    shown = value if value in values else CUSTOM
    if menu.value != shown:
        menu.value = shown
