"""Plumbing shared by every explorer.

An explorer owns its controls and one :class:`ipywidgets.Output` holding its pictures.
Every control change goes through one path, :meth:`Explorer.refresh`:

1. :meth:`Explorer.update` (written by each explorer) reads the controls, parses typed
   text with :func:`parse_number`, calls the model and returns the figures to show;
2. the figures replace the old ones in the Output with ``clear_output(wait=True)``, so
   the picture is swapped, never stacked, and does not flicker;
3. anything that goes wrong -- text that is not a number, a value the model rejects,
   even a bug -- ends up as a sentence in the message line above the picture. The
   last good picture stays. Nothing is raised into the notebook.

The pictures are rendered to SVG here (:func:`pynest.viz.pictures.render_svg`, sent as an
``image/svg+xml`` display), so they show the same whatever matplotlib backend the notebook
selected, crisp at any zoom, their text drawn by the browser. Each explorer keeps its last
frames in a :class:`~pynest.widgets.frames.FrameCache`: a picture it drew before comes
back without a render, and an update that draws what is already shown sends nothing.
Outside a running kernel (tests, benchmarks) nothing is displayed; the figures and texts
are still kept on the object.
"""

from __future__ import annotations

import gc
import html
import re
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as w
from matplotlib.figure import Figure

from ..errors import PynestError
from ..scenarios.text import parse_number
from ..viz import style as S
from .frames import FrameCache

__all__ = [
    "Explorer",
    "descendants",
    "explorer_classes",
    "parse_number",
    "placeholder",
    "settle_heap",
    "show_pictures",
    "slider",
    "text_box",
]


def text_box(
    value: str, description: str, width: str, style: dict[str, str], placeholder: str = ""
) -> w.Text:
    """A box for a typed value. It reports a change on Enter or on leaving the box, not
    on every key (``continuous_update=False``), so half-typed numbers are never parsed."""
    extra = {"placeholder": placeholder} if placeholder else {}
    return w.Text(
        value=value,
        description=description,
        style=style,
        continuous_update=False,
        layout=w.Layout(width=width),
        **extra,
    )


def slider(
    value: int, low: int, high: int, description: str, style: dict[str, str], width: str = ""
) -> w.IntSlider:
    """An integer slider that reports where it is let go, not every value dragged over."""
    extra = {"layout": w.Layout(width=width)} if width else {}
    return w.IntSlider(
        value=value,
        min=low,
        max=high,
        description=description,
        style=style,
        continuous_update=False,
        **extra,
    )


def show_pictures(output: w.Output, frames: Sequence[str]) -> None:
    """Replace what ``output`` shows by the SVG ``frames``, one display each, without a
    flicker (``clear_output(wait=True)``). Sent as a raw ``image/svg+xml`` bundle:
    ``IPython.display.SVG`` would parse and re-serialise every frame first."""
    from IPython.display import clear_output, display

    with output:
        clear_output(wait=True)
        for frame in frames:
            display({"image/svg+xml": frame}, raw=True)


def settle_heap() -> None:
    """In a kernel, collect the garbage and freeze what is left (``gc.freeze``), so that
    the objects alive when an explorer is shown -- the notebook's imports, matplotlib,
    the explorers -- are not scanned again by every later full collection.

    Moving a control allocates enough (a figure's artists) to set off a collection of the
    oldest generation every few moves; in a kernel that has run a notebook such a
    collection scanned the whole heap, 50-80 ms on the benchmark machine, in the middle
    of a move. Frozen objects are looked at again the next time an explorer is shown
    (unfreeze, collect, freeze), so an explorer left behind by a re-run cell is freed
    then."""
    if not in_kernel():
        return
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None


class Explorer:
    """Base class: controls on top, a message line, then the pictures.

    Subclasses build their controls in ``__init__``, list them in :meth:`controls`,
    implement :meth:`update`, call :meth:`watch` on every control and finally
    :meth:`refresh` once. ``title`` names the explorer in its placeholder (default:
    the class name in words).
    """

    title = ""

    def __init__(self) -> None:
        self.output = w.Output(layout=w.Layout(width="100%"))
        self.message = w.HTML("")
        self.status = w.HTML("")
        self.figures: list[Figure] = []
        self.text = ""
        self.error = ""
        self.updates = 0
        self._busy = False
        self._box: w.VBox | None = None
        self.frames = FrameCache()
        self._shown: list[str] = []

    # ------------------------------------------------------------------ to override
    def controls(self) -> Sequence[w.Widget]:
        """The control rows, top to bottom."""
        raise NotImplementedError

    def update(self) -> list[Figure]:
        """Read the controls, run the model, set ``self.text`` and ``self.status``,
        and return the figures to show. Raise PynestError (or ValueError) for bad input."""
        raise NotImplementedError

    # ------------------------------------------------------------------ plumbing
    @property
    def widget(self) -> w.VBox:
        """The whole explorer as one widget."""
        if self._box is None:
            self._box = w.VBox([*self.controls(), self.message, self.status, self.output])
        return self._box

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        settle_heap()
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):
            bundle["text/plain"] = placeholder(self)
        return bundle

    def watch(self, *controls: w.Widget, handler: Callable[[dict], None] | None = None) -> None:
        """Call ``handler(change)`` (default: refresh) when a control's value changes."""
        for control in controls:
            control.observe(handler or (lambda _change: self.refresh()), names="value")

    def refresh(self) -> bool:
        """Recompute and redraw; returns False (and explains in the message line) when
        the input cannot be used. Never raises."""
        if self._busy:  # a handler that sets another control must not recurse
            return False
        self._busy = True
        try:
            figures = self.update()
        except (PynestError, ValueError) as e:
            self.show_error(str(e))
            return False
        except Exception as e:  # a bug: still a message, not a traceback in the notebook
            self.show_error(f"internal error ({type(e).__name__}: {e}); please report it")
            return False
        finally:
            self._busy = False
        self.error = ""
        self.message.value = ""
        self.figures = figures
        self.updates += 1
        self._show(figures)
        return True

    def show_error(self, text: str) -> None:
        """Explain a problem in the message line; the last good picture stays."""
        self.error = text
        self.message.value = (
            f"<div style='font-size:15px;color:{S.VERMILLION}'><b>✘</b> {html.escape(text)}</div>"
        )

    def set_status(self, text: str, ok: bool = True) -> None:
        """The line that says what the model did (in words, for every screen reader)."""
        colour = S.BLACK if ok else S.VERMILLION
        self.status.value = f"<div style='font-size:15px;color:{colour}'>{html.escape(text)}</div>"

    def _show(self, figures: list[Figure]) -> None:
        if not in_kernel():
            return
        frames = [self.frames.svg(fig) for fig in figures]
        if frames == self._shown:  # the same pictures: nothing to send
            return
        self._shown = frames
        show_pictures(self.output, frames)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def number(text: str, what: str, bits: int = 64, kind: str = "number") -> int:
        """Parse typed text as an unsigned number (hex or decimal) or raise FieldError;
        ``kind`` says what the box holds (``"address"``, ``"id"``, ``"register"``,
        ``"count"``...: :data:`pynest.scenarios.text.KINDS`), so its message speaks of
        that and suggests a value of that sort."""
        return parse_number(text, what, bits, kind=kind)


def placeholder(explorer: Explorer) -> str:
    """What a notebook shows for an explorer where no kernel drew it (the stored
    ``text/plain``, instead of a widget repr): its name and what to do."""
    name = explorer.title or _words(type(explorer).__name__)
    return f"{name}: run this cell to drive it"


_NAMES = {"Lpid": "LPID", "Ptcr": "PTCR", "Tlbie": "tlbie", "To": "to/", "From": "from"}


def _words(class_name: str) -> str:
    """``SetPartitionTableExplorer`` -> ``Set partition table explorer``."""
    words = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z0-9])(?=[A-Z][a-z])", " ", class_name).split()
    words = [_NAMES.get(x, x if x[1:].isupper() or x == words[0] else x.lower()) for x in words]
    return " ".join(words).replace("/ ", "/")


def descendants(widget: w.Widget) -> list[w.Widget]:
    """``widget`` and every widget inside it (boxes searched), top to bottom, each once."""
    seen: dict[int, w.Widget] = {}
    todo = [widget]
    while todo:
        current = todo.pop(0)
        if id(current) not in seen:
            seen[id(current)] = current
            todo[0:0] = list(getattr(current, "children", ()))
    return list(seen.values())


def explorer_classes() -> list[type[Explorer]]:
    """Every Explorer subclass defined in a module of this package (imported to find it),
    by module and name: what the garbage tests and the latency benchmark drive."""
    import importlib
    import inspect
    import pkgutil

    from .. import widgets as package

    found: dict[str, type[Explorer]] = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for _name, obj in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(obj, Explorer)
                and obj is not Explorer
                and obj.__module__ == module.__name__
            ):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[k] for k in sorted(found)]
