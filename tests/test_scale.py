import pytest

from normreg.scale import at_scale, scale


def test_the_book_scale_is_the_default(monkeypatch):
    monkeypatch.delenv("NORMREG_SCALE", raising=False)
    assert scale() == "book" and at_scale(51, 243) == 51


def test_full_scale_is_one_setting_away(monkeypatch):
    monkeypatch.setenv("NORMREG_SCALE", "full")
    assert scale() == "full" and at_scale("executed", "full") == "full"


def test_an_unknown_scale_is_refused(monkeypatch):
    monkeypatch.setenv("NORMREG_SCALE", "huge")
    message = r"NORMREG_SCALE must be one of \('book', 'full'\), got 'huge'"
    with pytest.raises(ValueError, match=message):
        at_scale(1, 2)
