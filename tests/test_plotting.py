import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from normreg.plotting import COLORS, color, plot_layers, plot_training, use_style  # noqa: E402
from normreg.train import History  # noqa: E402


def test_style_is_opaque_white_and_uses_the_palette():
    use_style()
    fig, ax = plt.subplots()
    assert mcolors.to_hex(fig.get_facecolor()) == "#ffffff" and fig.get_facecolor()[3] == 1
    assert not matplotlib.rcParams["savefig.transparent"]
    line, = ax.plot([0, 1])
    assert line.get_color() == COLORS[0]
    plt.close(fig)


def test_palette_is_okabe_ito_and_distinct():
    assert len(set(COLORS)) == len(COLORS) == 8
    assert color(0) == "#0072B2" and color(8) == color(0)


def test_plot_layers_draws_measurement_and_prediction():
    fig, ax = plt.subplots()
    plot_layers(ax, [1, 2, 3], label="c = 2", color=color(1), predicted=[1, 1, 1])
    measured, predicted = ax.get_lines()
    assert list(measured.get_xdata()) == [0, 1, 2] and measured.get_label() == "c = 2"
    assert predicted.get_linestyle() == "--" and predicted.get_color() == measured.get_color()
    plt.close(fig)


def test_plot_training_smooths_and_marks_divergence():
    ok = History(batch_loss=[4.0, 2.0, 2.0, 0.0])
    bad = History(batch_loss=[1.0, 3.0], diverged_at=2)
    fig, ax = plt.subplots()
    plot_training(ax, {"ok": ok, "bad": bad}, smooth=2)
    lines = ax.get_lines()
    assert list(lines[0].get_ydata()) == pytest.approx([3.0, 2.0, 1.0])
    cross = lines[-1]
    assert cross.get_marker() == "x" and list(cross.get_xdata()) == [2]
    ax.set_ylim(0, 100)  # the cross stays at the top edge whatever the limits
    top = ax.transAxes.inverted().transform(cross.get_transform().transform((2, 1.0)))[1]
    assert top == pytest.approx(1.0)
    assert ax.get_xlabel() == "update step"
    plt.close(fig)


def test_plot_training_draws_the_median_and_range_of_several_runs():
    seeds = [History(batch_loss=[3.0, 1.0]), History(batch_loss=[5.0, 3.0]),
             History(batch_loss=[4.0, 2.0]), History(batch_loss=[9.0], diverged_at=1)]
    gone = [History(batch_loss=[], diverged_at=0)] * 2
    fig, ax = plt.subplots()
    plot_training(ax, {"three seeds": seeds, "all diverged": gone}, colors=["red", "blue"])
    median, empty, cross = ax.get_lines()[0], ax.get_lines()[2], ax.get_lines()[-1]
    assert list(median.get_ydata()) == [4.0, 2.0] and median.get_color() == "red"
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == 1.0 and band.max() == 5.0, "the band spans the finite runs only"
    assert empty.get_label() == "all diverged: diverged" and empty.get_marker() == "x"
    assert list(cross.get_xdata()) == [0, 0] and cross.get_color() == "blue"
    assert [line.get_xdata()[0] for line in ax.get_lines() if line.get_marker() == "x"
            and len(line.get_xdata())] == [1, 0], "each diverged run is marked where it stopped"
    plt.close(fig)


def test_plot_heatmap_writes_every_value_in_a_contrasting_colour():
    import numpy as np

    from normreg.plotting import plot_heatmap

    fig, ax = plt.subplots()
    table = np.array([[0.0, 1.0], [0.5, np.nan]])
    plot_heatmap(ax, table, ["a", "b"], ["x", "y"])
    texts = {t.get_text(): t.get_color() for t in ax.texts}
    assert set(texts) == {"0.00", "1.00", "0.50"}  # nan left blank
    assert texts["0.00"] == "white" and texts["1.00"] == "black"  # dark and light cells
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    fig2, ax2 = plt.subplots()
    plot_heatmap(ax2, table, ["a", "b"], ["x", "y"], vmin=0.5, labels=[["low", "top"], ["mid", ""]])
    assert {t.get_text(): t.get_color() for t in ax2.texts} == {"low": "white", "top": "black",
                                                                "mid": "white"}
    with pytest.raises(ValueError, match=r"labels must have the table's shape \(2, 2\), got"):
        plot_heatmap(ax2, table, ["a", "b"], ["x", "y"], labels=[["a", "b"]])
    plt.close(fig2)
    with pytest.raises(ValueError, match=r"table must have shape \(2, 3\), .* got \(2, 2\)"):
        plot_heatmap(ax, table, ["a", "b"], ["x", "y", "z"])
    plt.close(fig)


def test_plot_band_draws_the_median_and_shades_the_range_of_the_runs():
    from normreg.plotting import plot_band

    fig, ax = plt.subplots()
    runs = [[1.0, 5.0, 2.0], [3.0, 1.0, 2.0], [2.0, 3.0, 9.0]]
    plot_band(ax, [0, 10, 20], runs, label="three seeds", color=COLORS[0])
    (line,) = ax.get_lines()
    assert list(line.get_ydata()) == [2.0, 3.0, 2.0]  # the median of each column
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == 1.0 and band[:, 1].max() == 9.0  # from the lowest to the highest
    with pytest.raises(ValueError,
                       match=r"runs must have shape \(number of runs, 2\), got \(3, 3\)"):
        plot_band(ax, [0, 10], runs, label="x", color=COLORS[0])
    plt.close(fig)


def test_plot_bar_range_draws_the_median_and_the_range_of_the_runs():
    from normreg.plotting import plot_bar_range

    fig, ax = plt.subplots()
    plot_bar_range(ax, [0, 1], [[1.0, 5.0, 2.0], [3.0, 3.0, 9.0]], label="seeds", color=COLORS[0])
    assert [bar.get_height() for bar in ax.patches] == [2.0, 3.0]  # the median of each row
    (segments,) = ax.collections  # the error bars: from the lowest to the highest run
    assert [list(s[:, 1]) for s in segments.get_segments()] == [[1.0, 5.0], [3.0, 9.0]]
    with pytest.raises(ValueError, match=r"runs must have shape \(3, number of runs\)"):
        plot_bar_range(ax, [0, 1, 2], [[1.0], [2.0]], label="x", color=COLORS[0])
    plt.close(fig)


def test_moving_average_keeps_the_step_of_each_window_end():
    from normreg.plotting import moving_average

    steps, means = moving_average([4.0, 2.0, 2.0, 0.0], 2)
    assert list(steps) == [1, 2, 3] and list(means) == [3.0, 2.0, 1.0]
    steps, means = moving_average([1.0, 3.0], 5)  # a window longer than the curve: its mean
    assert list(steps) == [1] and list(means) == [2.0]


def test_mark_diverged_draws_a_cross_per_step_and_nothing_for_none():
    from normreg.plotting import mark_diverged

    fig, ax = plt.subplots()
    mark_diverged(ax, [], COLORS[0])
    assert ax.get_lines() == []
    mark_diverged(ax, [3, 7], COLORS[1])
    (cross,) = ax.get_lines()
    assert cross.get_marker() == "x" and list(cross.get_xdata()) == [3, 7]
    plt.close(fig)
