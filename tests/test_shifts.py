import pytest
import torch

from normreg.data import load_mnist
from normreg.data.shifts import SEVERITIES, SHIFTS, shift_pixels, shifted_inputs, shifted_test_set


@pytest.fixture(scope="module")
def data():
    return load_mnist(n_train_per_class=20, n_test_per_class=20)


def pixels_of(data):
    return (data.x_test * data.pixel_std + data.pixel_mean).clamp(0, 1)


@pytest.mark.parametrize("kind", sorted(SHIFTS))
def test_every_shift_stays_in_range_and_grows_with_severity(data, kind):
    pixels = pixels_of(data)
    distances = []
    for severity in SEVERITIES:
        shifted = shift_pixels(pixels, kind, severity, torch.Generator().manual_seed(0))
        assert shifted.shape == pixels.shape
        assert shifted.min() >= 0 and shifted.max() <= 1
        distances.append((shifted - pixels).norm().item())
    assert all(a < b for a, b in zip(distances, distances[1:], strict=False)), distances


def test_shifts_do_what_they_say(data):
    pixels = pixels_of(data)
    contrast = shift_pixels(pixels, "contrast", 5)
    assert contrast.std(dim=1).mean() < 0.15 * pixels.std(dim=1).mean()
    torch.testing.assert_close(contrast.mean(dim=1), pixels.mean(dim=1))  # no clipping needed
    blurred = shift_pixels(pixels, "blur", 3)
    assert blurred.sum() == pytest.approx(pixels.sum().item(), rel=0.02)  # ink is conserved
    # a single lit pixel in the centre blurs into a symmetric spot
    dot = torch.zeros(1, 784)
    dot[0, 14 * 28 + 14] = 1.0
    spot = shift_pixels(dot, "blur", 2).view(28, 28)[8:21, 8:21]  # centred on the dot
    torch.testing.assert_close(spot, spot.flip(0))
    torch.testing.assert_close(spot, spot.T)
    assert spot[6, 6] == spot.max() and spot.sum() == pytest.approx(1.0, rel=1e-3)
    # rotation about the centre: the centre of a bar stays lit, its far end moves away
    bar = torch.zeros(1, 28, 28)
    bar[0, 13:15, 12:24] = 1.0  # a thick horizontal bar from the centre to the right
    turned = shift_pixels(bar.view(1, 784), "rotation", 5).view(28, 28)  # 75 degrees
    assert turned[13:15, 13:15].min() > 0.5 and turned[13:15, 20:24].max() < 0.2
    assert turned.sum() == pytest.approx(bar.sum().item(), rel=0.1)


def test_noise_is_seeded_and_the_test_set_standardized_as_before(data):
    a = shifted_test_set(data, "gaussian_noise", 3, seed=1)
    b = shifted_test_set(data, "gaussian_noise", 3, seed=1)
    assert torch.equal(a.x_test, b.x_test)
    assert torch.equal(a.x_train, data.x_train) and torch.equal(a.y_test, data.y_test)
    assert not torch.equal(shifted_test_set(data, "gaussian_noise", 3, seed=2).x_test, a.x_test)
    # the standardization is the training set's: undoing it gives pixels in [0, 1]
    restored = a.x_test * data.pixel_std + data.pixel_mean
    assert restored.min() > -1e-5 and restored.max() < 1 + 1e-5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"kind": "fog", "severity": 1}, "kind must be one of"),
     ({"kind": "blur", "severity": 6}, r"severity must be one of \(1, 2, 3, 4, 5\), got 6")],
)
def test_bad_arguments_raise(data, kwargs, message):
    with pytest.raises(ValueError, match=message):
        shift_pixels(pixels_of(data), **kwargs)
    with pytest.raises(ValueError, match=r"pixels must be a 2D tensor, got a 3D tensor"):
        shift_pixels(torch.zeros(2, 28, 28), "blur", 1)


class OneDevice(torch.overrides.TorchFunctionMode):
    """Records the devices of the tensors that every torch function receives."""

    def __init__(self):
        super().__init__()
        self.mixed = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
        if len({t.device for t in tensors}) > 1:
            self.mixed.append(getattr(func, "__name__", str(func)))
        return func(*args, **kwargs)


@pytest.mark.parametrize("kind", sorted(SHIFTS))
def test_every_shift_follows_the_device_of_its_input(kind):
    # The meta device stands in for a GPU: a kernel, grid or noise made on the CPU would meet
    # the meta images in some operation.
    pixels = torch.rand(3, 784).to("meta")
    with OneDevice() as mode:
        out = shift_pixels(pixels, kind, 3, torch.Generator().manual_seed(0))
    assert out.device.type == "meta" and out.shape == (3, 784)
    assert mode.mixed == [], f"operations on tensors of two devices: {mode.mixed}"


def test_shifted_inputs_shift_any_split_as_the_test_set_is_shifted():
    data = load_mnist(n_train_per_class=5, n_test_per_class=5)
    moved = shifted_inputs(data.x_test, data, "contrast", 4, seed=3)
    assert torch.equal(moved, shifted_test_set(data, "contrast", 4, seed=3).x_test)
    train = shifted_inputs(data.x_train, data, "blur", 2, seed=0)
    assert train.shape == data.x_train.shape and not torch.equal(train, data.x_train)
