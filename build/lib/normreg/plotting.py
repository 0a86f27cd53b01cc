"""The book's one figure style, and the plots more than one chapter draws.

Colours are the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies); figures have an opaque white background so that they stay readable when the
book is switched to its dark theme.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from normreg.train.history import History

__all__ = ["COLORS", "use_style", "color", "plot_layers", "plot_band", "plot_bar_range",
           "moving_average", "mark_diverged", "plot_training", "plot_heatmap"]

# Okabe & Ito (2008), "Color Universal Design"; black last, for reference lines.
COLORS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

STYLE = {
    "axes.prop_cycle": mpl.cycler(color=COLORS),
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.transparent": False,
    "figure.dpi": 100,
    "figure.figsize": (6.4, 4.0),
    "figure.constrained_layout.use": True,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
}


def use_style() -> None:
    """Apply the book's style to every figure drawn afterwards."""
    mpl.rcParams.update(STYLE)


def color(i: int) -> str:
    """The i-th colour of the palette (cycling)."""
    return COLORS[i % len(COLORS)]


def plot_layers(ax: plt.Axes, values: Sequence[float], *, label: str, color: str,
                predicted: Sequence[float] | None = None, start: int = 0) -> None:
    """One per-layer curve (layer index on x), with its prediction dashed in the same colour."""
    layers = np.arange(start, start + len(values))
    ax.plot(layers, values, color=color, label=label)
    if predicted is not None:
        ax.plot(layers, predicted, color=color, linestyle="--", linewidth=1.2)


def plot_band(ax: plt.Axes, x: Sequence[float], runs: Sequence[Sequence[float]], *, label: str,
              color: str, **style) -> None:
    """Several runs of one measurement (one row per run, e.g. per seed) against x: their median
    as a line, and the band from their minimum to their maximum shaded in the same colour, so
    that the spread between runs is visible."""
    values = np.asarray(runs, dtype=float)  # (runs, len(x))
    if values.ndim != 2 or values.shape[1] != len(x):
        raise ValueError(f"runs must have shape (number of runs, {len(x)}), got {values.shape}")
    ax.plot(x, np.median(values, axis=0), color=color, label=label, **style)
    ax.fill_between(x, values.min(axis=0), values.max(axis=0), color=color, alpha=0.2,
                    linewidth=0)


def plot_bar_range(ax: plt.Axes, x: Sequence[float], runs: Sequence[Sequence[float]], *,
                   label: str, color: str, width: float = 0.38, **style) -> None:
    """Several runs of one measurement per category (one row per category, one column per run,
    e.g. per seed): a bar at each x for their median, and an error bar from their minimum to
    their maximum. The bar chart's counterpart of :func:`plot_band`."""
    values = np.asarray(runs, dtype=float)  # (len(x), runs)
    if values.ndim != 2 or values.shape[0] != len(x):
        raise ValueError(f"runs must have shape ({len(x)}, number of runs), got {values.shape}")
    median = np.median(values, axis=1)
    ax.bar(x, median, width=width, color=color, label=label, capsize=3,
           yerr=[median - values.min(axis=1), values.max(axis=1) - median], **style)


def moving_average(values: Sequence[float], window: int) -> tuple[np.ndarray, np.ndarray]:
    """The means of ``values`` over windows of ``window`` consecutive entries, and for each the
    index of the window's last entry (so a curve of update losses keeps its step axis)."""
    values = np.asarray(values, dtype=float)
    k = max(1, min(window, len(values)))
    means = np.convolve(values, np.ones(k) / k, mode="valid") if len(values) else values
    return np.arange(len(means)) + k - 1, means


def mark_diverged(ax: plt.Axes, steps: Sequence[float], color: str) -> None:
    """Crosses at the top edge of the axes (x in data, y in axes coordinates, so they stay
    visible whatever y-limits the caller sets) at the steps where runs stopped being finite."""
    if len(steps):  # (an empty line drawn outside the axes would upset the figure's layout)
        ax.plot(steps, [1.0] * len(steps), transform=ax.get_xaxis_transform(), marker="x",
                markersize=9, markeredgewidth=2, color=color, linestyle="none", clip_on=False)


def plot_training(ax: plt.Axes, runs: Mapping[str, History | Sequence[History]], *,
                  metric: str = "batch_loss", smooth: int = 1,
                  colors: Sequence[str] | None = None, **style) -> None:
    """Curves of ``metric`` against the update step, one per label.

    A label maps to one run (a :class:`History`: its curve) or to several (a list, e.g. one run
    per seed: their median and the band from their minimum to their maximum, :func:`plot_band`).
    A run that diverged gets a cross at the top edge of the axes, at the step where its loss
    stopped being finite (:func:`mark_diverged`), and is left out of the band; a label all of
    whose runs diverged gets a cross in the legend instead of a line.

    ``metric`` is ``"batch_loss"`` (every update, averaged over windows of ``smooth`` updates)
    or one of :attr:`History.METRICS` (at the evaluation steps). ``colors``: one per label
    (default: the palette in order); ``style`` goes to the lines (e.g. ``linestyle``).
    """
    for i, (label, histories) in enumerate(runs.items()):
        c = color(i) if colors is None else colors[i]
        histories = [histories] if isinstance(histories, History) else list(histories)
        curves = []
        for history in histories:
            if history.diverged:
                continue
            if metric == "batch_loss":
                curves.append(moving_average(history.batch_loss, smooth))
            else:
                curves.append((np.asarray(history.step), np.asarray(getattr(history, metric))))
        if len(curves) == 1:
            ax.plot(*curves[0], color=c, label=label, **style)
        elif curves:
            plot_band(ax, curves[0][0], [values for _, values in curves], label=label, color=c,
                      **style)
        else:
            ax.plot([], [], "x", color=c, markeredgewidth=2, label=f"{label}: diverged")
        mark_diverged(ax, [h.diverged_at for h in histories if h.diverged], c)
    ax.set_xlabel("update step")


def plot_heatmap(ax: plt.Axes, table: np.ndarray, row_labels: Sequence, col_labels: Sequence,
                 *, vmin: float = 0.0, vmax: float = 1.0, fmt: str = "{:.2f}",
                 cmap: str = "cividis", labels: Sequence[Sequence[str]] | None = None,
                 fontsize: float = 9) -> mpl.image.AxesImage:
    """A table (rows x cols) as an annotated heatmap; nan cells are left blank.

    ``cividis`` is the default colour map: it reads the same with the common colour-vision
    deficiencies and in greyscale. Each value is written in its cell (``fmt``, or the text in
    ``labels``, one string per cell), in black or white, whichever contrasts with the cell's
    colour; values outside [vmin, vmax] take the colour of the nearer end.
    """
    table = np.asarray(table, dtype=float)
    if table.shape != (len(row_labels), len(col_labels)):
        raise ValueError(f"table must have shape ({len(row_labels)}, {len(col_labels)}), one "
                         f"row per row label and one column per column label, got {table.shape}")
    image = ax.imshow(table, vmin=vmin, vmax=vmax, cmap=cmap, aspect="auto")
    ax.set_xticks(range(len(col_labels)), [str(c) for c in col_labels])
    ax.set_yticks(range(len(row_labels)), [str(r) for r in row_labels])
    ax.grid(False)
    if labels is not None and np.shape(labels) != table.shape:
        raise ValueError(f"labels must have the table's shape {table.shape}, got "
                         f"{np.shape(labels)}")
    colormap = mpl.colormaps[cmap]
    for i in range(table.shape[0]):
        for j in range(table.shape[1]):
            if np.isnan(table[i, j]):
                continue
            r, g, b, _ = colormap(np.clip((table[i, j] - vmin) / (vmax - vmin), 0, 1))
            text = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"
            label = fmt.format(table[i, j]) if labels is None else labels[i][j]
            ax.text(j, i, label, ha="center", va="center", color=text, fontsize=fontsize)
    return image
