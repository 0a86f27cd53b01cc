"""Sliders that need no kernel: every frame drawn in advance, stepped through in the page.

An ``ipywidgets`` control redraws its figure by calling Python, so in the static book (no
kernel) moving it does nothing. :func:`static_slider` is its counterpart for the book: it
draws the figure once for each value of one parameter and returns a self-contained HTML
player (matplotlib's ``FuncAnimation.to_jshtml``: the frames are embedded PNG images, the
player is inline JavaScript). The player matplotlib writes links an icon font from a CDN;
here the icons are replaced by Unicode symbols, so the page works offline.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt
from IPython.display import HTML
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

from normreg._checks import check_int

__all__ = ["static_slider", "redraw_with", "ICONS"]

# matplotlib's Font Awesome 4 icon classes -> symbols every font has. Each button also
# keeps matplotlib's title and aria-label ("Next frame", ...).
ICONS = {
    "fa fa-minus": "&minus;",
    "fa fa-fast-backward": "&#8676;",  # leftwards arrow to bar
    "fa fa-step-backward": "&larr;",
    "fa fa-play fa-flip-horizontal": "&#9664;",  # black left-pointing triangle
    "fa fa-pause": "&#10074;&#10074;",
    "fa fa-play": "&#9654;",  # black right-pointing triangle
    "fa fa-step-forward": "&rarr;",
    "fa fa-fast-forward": "&#8677;",  # rightwards arrow to bar
    "fa fa-plus": "+",
}

_CDN_LINK = re.compile(r"<link[^>]*font-awesome[^>]*>\s*", re.IGNORECASE)


def _offline(html: str) -> str:
    """Drop the icon font's CDN link and put a symbol in place of each icon."""
    html = _CDN_LINK.sub("", html)
    for icon, symbol in ICONS.items():
        html = html.replace(f'<i class="{icon}"></i>', symbol)
    leftover = re.search(r"https?://|class=\"fa ", html)
    if leftover:  # a matplotlib that writes its player differently: fail loudly, not online
        raise RuntimeError(
            f"static_slider: matplotlib's player still refers to {leftover.group()!r}")
    return html


def static_slider(draw: Callable[[Figure, Any], None], values: Sequence[Any], *,
                  figsize: tuple[float, float] = (6.0, 3.5), dpi: int = 80,
                  interval_ms: int = 700) -> HTML:
    """An HTML slider over ``draw(fig, value)`` for each of ``values``, working without a kernel.

    Args:
        draw: draws one frame onto an empty figure, e.g. ``ax = fig.subplots(); ax.plot(...)``.
            Say the value in the title: the player shows only the picture.
        values: the parameter values, in slider order (at least one).
        figsize, dpi: size of every frame. Each frame is stored in the page as a PNG, so
            keep ``len(values)`` and ``dpi`` modest (10 frames at dpi 80 are about 300 kB).
        interval_ms: time per frame when the reader presses play.

    Returns:
        ``IPython.display.HTML``: displayed in a notebook or rendered in the book, a picture
        with a slider, step buttons and play buttons.

    Raises:
        ValueError: if ``values`` is empty or ``dpi``/``interval_ms`` is not positive.
    """
    values = list(values)
    if not values:
        raise ValueError("values must be a non-empty sequence, got an empty one")
    check_int("dpi", dpi, min=1)
    check_int("interval_ms", interval_ms, min=1)
    fig = plt.figure(figsize=figsize, dpi=dpi)

    def frame(i: int) -> list:
        fig.clear()
        draw(fig, values[i])
        return []

    try:
        animation = FuncAnimation(fig, frame, frames=len(values), init_func=lambda: [],
                                  interval=interval_ms, repeat=False)
        html = animation.to_jshtml(default_mode="once")
    finally:
        plt.close(fig)
    return HTML(_offline(html))


def redraw_with(draw: Callable[..., None], *,
                figsize: tuple[float, float] = (6.0, 3.5)) -> Callable[..., None]:
    """The function an ``ipywidgets`` control calls: ``draw(fig, **values)`` on a new figure.

    One drawing function then serves both the live control and :func:`static_slider`::

        def draw(fig, c=2.0): ...
        widgets.interact(redraw_with(draw), c=widgets.FloatSlider(...))
        static_slider(draw, [0.5, 1, 2, 4])

    The returned function has ``draw``'s signature without its first argument, so
    ``interact`` sees the same parameters and defaults.
    """
    def show(*args: Any, **kwargs: Any) -> None:
        fig = plt.figure(figsize=figsize)
        draw(fig, *args, **kwargs)
        plt.show()

    parameters = list(inspect.signature(draw).parameters.values())[1:]
    show.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    show.__name__ = getattr(draw, "__name__", "show")
    show.__doc__ = draw.__doc__
    return show
