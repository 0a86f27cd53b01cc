import base64
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from normreg.slider import ICONS, static_slider  # noqa: E402


def _frames(html: str) -> list[bytes]:
    html = html.replace("\\\n", "")  # the player continues long JavaScript strings with "\"
    frames = re.findall(r'data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    return [base64.b64decode(b) for b in frames]


def draw(fig, value):
    ax = fig.subplots()
    ax.plot([0, 1], [0, value])
    ax.set_title(f"slope {value}")


def test_one_png_frame_per_value_in_order():
    seen = []

    def record(fig, value):
        seen.append(value)
        draw(fig, value)

    html = static_slider(record, [1, 2, 3]).data
    frames = _frames(html)
    assert len(frames) == 3 and all(f.startswith(b"\x89PNG") for f in frames)
    assert len(set(frames)) == 3  # the frames differ: each one was drawn from its own value
    assert sorted(set(seen)) == [1, 2, 3]
    assert 'type="range"' in html


def test_player_works_offline():
    html = static_slider(draw, [1, 2]).data
    assert "http://" not in html and "https://" not in html
    assert 'class="fa ' not in html and "font-awesome" not in html
    for symbol in ICONS.values():
        assert symbol in html


def test_leaves_no_figure_open():
    before = plt.get_fignums()
    static_slider(draw, [1, 2])
    assert plt.get_fignums() == before


def test_closes_its_figure_when_draw_fails():
    before = plt.get_fignums()

    def broken(fig, value):
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        static_slider(broken, [1])
    assert plt.get_fignums() == before


@pytest.mark.parametrize("kwargs, match", [
    ({"values": []}, "values must be a non-empty sequence"),
    ({"values": [1], "dpi": 0}, "dpi must be an int >= 1, got 0"),
    ({"values": [1], "interval_ms": -5}, "interval_ms must be an int >= 1, got -5"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        static_slider(draw, **kwargs)


def test_redraw_with_keeps_the_signature_and_draws_a_new_figure(monkeypatch):
    import inspect

    from normreg.slider import redraw_with

    calls = []

    def draw_profile(fig, c=2.0, depth=50):
        calls.append((fig, c, depth))

    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gcf()))
    show = redraw_with(draw_profile, figsize=(3, 2))
    assert list(inspect.signature(show).parameters) == ["c", "depth"]
    assert inspect.signature(show).parameters["c"].default == 2.0
    show(c=1.0)
    fig, c, depth = calls[0]
    assert (c, depth) == (1.0, 50) and shown == [fig]
    assert tuple(fig.get_size_inches()) == (3, 2)
    plt.close(fig)


def test_the_picture_has_alternative_text_for_each_frame_and_the_slider_a_name():
    html = static_slider(lambda fig, v: fig.subplots().plot([0, v]), [1, 2, 3], label="scale c",
                         alt=lambda v: f"a line to {v} & more").data
    assert 'alt="a line to 1 &amp; more"' in html  # the first frame's text, escaped
    assert 'aria-label="choose the scale c"' in html
    assert '["a line to 1 & more", "a line to 2 & more", "a line to 3 & more"]' in html
    default = static_slider(lambda fig, v: fig.subplots(), [0.5, 4]).data
    assert 'alt="value = 0.5"' in default and 'aria-label="choose the value"' in default
