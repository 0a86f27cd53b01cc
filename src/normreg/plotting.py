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

__all__ = ["COLORS", "use_style", "color", "plot_layers", "plot_band", "plot_training",
           "plot_heatmap"]

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


def plot_training(ax: plt.Axes, runs: Mapping[str, History], *, metric: str = "batch_loss",
                  smooth: int = 1) -> None:
    """Curves of ``metric`` against the update step, one per run.

    A run that diverged gets a cross at the top edge of the axes, at the step where its loss
    stopped being finite.

    ``metric`` is ``"batch_loss"`` (every update, averaged over windows of ``smooth`` updates)
    or one of :attr:`History.METRICS` (at the evaluation steps).
    """
    for i, (label, history) in enumerate(runs.items()):
        if metric == "batch_loss":
            values = np.asarray(history.batch_loss, dtype=float)
            k = max(1, min(smooth, len(values)))
            values = np.convolve(values, np.ones(k) / k, mode="valid") if len(values) else values
            steps = np.arange(len(values)) + k - 1
        else:
            values, steps = np.asarray(getattr(history, metric)), np.asarray(history.step)
        ax.plot(steps, values, color=color(i), label=label)
        if history.diverged:
            # At the top edge of the axes (x in data, y in axes coordinates), so the cross stays
            # visible whatever y-limits the caller sets afterwards.
            ax.plot([history.diverged_at], [1.0], transform=ax.get_xaxis_transform(),
                    marker="x", markersize=9, markeredgewidth=2, color=color(i),
                    linestyle="none", clip_on=False)
    ax.set_xlabel("update step")


def plot_heatmap(ax: plt.Axes, table: np.ndarray, row_labels: Sequence, col_labels: Sequence,
                 *, vmin: float = 0.0, vmax: float = 1.0, fmt: str = "{:.2f}",
                 cmap: str = "cividis") -> mpl.image.AxesImage:
    """A table (rows x cols) as an annotated heatmap; nan cells are left blank.

    ``cividis`` is the default colour map: it reads the same with the common colour-vision
    deficiencies and in greyscale. Each value is written in its cell, in black or white,
    whichever contrasts with the cell's colour.
    """
    table = np.asarray(table, dtype=float)
    if table.shape != (len(row_labels), len(col_labels)):
        raise ValueError(f"table must have shape ({len(row_labels)}, {len(col_labels)}), one "
                         f"row per row label and one column per column label, got {table.shape}")
    image = ax.imshow(table, vmin=vmin, vmax=vmax, cmap=cmap, aspect="auto")
    ax.set_xticks(range(len(col_labels)), [str(c) for c in col_labels])
    ax.set_yticks(range(len(row_labels)), [str(r) for r in row_labels])
    ax.grid(False)
    colormap = mpl.colormaps[cmap]
    for i in range(table.shape[0]):
        for j in range(table.shape[1]):
            if np.isnan(table[i, j]):
                continue
            r, g, b, _ = colormap((table[i, j] - vmin) / (vmax - vmin))
            text = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"
            ax.text(j, i, fmt.format(table[i, j]), ha="center", va="center", color=text,
                    fontsize=9)
    return image
