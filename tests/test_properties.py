"""Property-based tests of the from-scratch layers (hypothesis): the defining invariances,
checked on many random shapes, offsets and scales rather than a few fixed inputs."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from normreg.nn import BatchNorm1d, Dropout, LayerNorm

# derandomize: the same examples on every run, so that CI is reproducible
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)
rows = st.integers(min_value=2, max_value=16)
cols = st.integers(min_value=2, max_value=32)
offsets = st.floats(min_value=-100.0, max_value=100.0)
scales = st.floats(min_value=0.01, max_value=100.0)
seeds = st.integers(min_value=0, max_value=2**31 - 1)


def data(n, d, seed, dtype=torch.float64):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@SETTINGS
@given(n=rows, d=cols, seed=seeds, shift=offsets, scale=scales)
def test_layer_norm_rows_are_standardized_and_invariant_to_row_shift_and_scale(n, d, seed, shift,
                                                                                scale):
    x = data(n, d, seed)
    layer = LayerNorm(d, eps=1e-30, elementwise_affine=False).double()
    y = layer(x)
    torch.testing.assert_close(y.mean(dim=1), torch.zeros(n, dtype=torch.float64), atol=1e-6,
                               rtol=0)
    var = x.var(dim=1, unbiased=False)  # with eps, the variance is exactly var / (var + eps)
    torch.testing.assert_close(y.var(dim=1, unbiased=False), var / (var + 1e-30))
    # per-row shift and positive scale: a different one for each row
    row_shift = shift * torch.linspace(-1, 1, n, dtype=torch.float64)[:, None]
    row_scale = scale * torch.linspace(0.5, 2, n, dtype=torch.float64)[:, None]
    torch.testing.assert_close(layer(x * row_scale + row_shift), y, atol=1e-6, rtol=1e-6)


@SETTINGS
@given(n=rows, d=cols, seed=seeds, shift=offsets, scale=scales)
def test_batch_norm_columns_are_standardized_and_invariant_to_column_shift_and_scale(
        n, d, seed, shift, scale):
    x = data(n, d, seed)
    layer = BatchNorm1d(d, eps=1e-30, affine=False).double()
    y = layer(x)
    torch.testing.assert_close(y.mean(dim=0), torch.zeros(d, dtype=torch.float64), atol=1e-6,
                               rtol=0)
    var = x.var(dim=0, unbiased=False)
    torch.testing.assert_close(y.var(dim=0, unbiased=False), var / (var + 1e-30))
    col_shift = shift * torch.linspace(-1, 1, d, dtype=torch.float64)
    col_scale = scale * torch.linspace(0.5, 2, d, dtype=torch.float64)
    torch.testing.assert_close(layer(x * col_scale + col_shift), y, atol=1e-6, rtol=1e-6)


@SETTINGS
@given(n=rows, d=cols, seed=seeds)
def test_batch_norm_in_eval_mode_is_an_affine_map(n, d, seed):
    layer = BatchNorm1d(d).double()
    with torch.no_grad():
        layer.weight.uniform_(0.5, 2.0)
        layer.bias.uniform_(-1.0, 1.0)
        for k in range(3):
            layer(data(n, d, seed + k))  # running statistics
    layer.eval()
    a, b = data(n, d, seed + 10), data(n, d, seed + 11)
    # affine: f(t a + (1 - t) b) = t f(a) + (1 - t) f(b), and rows do not interact
    t = 0.3
    torch.testing.assert_close(layer(t * a + (1 - t) * b), t * layer(a) + (1 - t) * layer(b))
    torch.testing.assert_close(layer(a)[:1], layer(a[:1]))


@settings(max_examples=15, deadline=None, derandomize=True)
@given(p=st.floats(min_value=0.05, max_value=0.9), seed=seeds)
def test_dropout_is_unbiased(p, seed):
    torch.manual_seed(seed)
    x = torch.rand(4000) + 0.5
    layer = Dropout(p)
    mean = torch.stack([layer(x) for _ in range(50)]).mean()  # 200,000 draws of x_j m_j / (1-p)
    # sd of the mean: about sqrt(p / (1 - p) * E[x^2] / 200000) <= 0.02; allow six of them
    assert abs(mean.item() - x.mean().item()) < 6 * (p / (1 - p) * 2.5 / 200_000) ** 0.5
