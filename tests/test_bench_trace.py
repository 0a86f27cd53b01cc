"""normreg.bench.trace: what a notebook spends on training, recorded without changing it."""

import json
from dataclasses import replace

import pytest
import torch

import normreg
import normreg.train
from normreg import MLP, MLPConfig, TrainConfig
from normreg.bench import notebooks, trace
from normreg.data import Dataset
from normreg.repro import set_seed
from normreg.train import Run, batched, loop

NET = MLPConfig(in_features=6, width=5, depth=2, out_features=3)


def _data(n=40):
    g = torch.Generator().manual_seed(0)
    return Dataset(
        torch.randn(n, 6, generator=g),
        torch.randint(0, 3, (n,), generator=g),
        torch.randn(10, 6, generator=g),
        torch.randint(0, 3, (10,), generator=g),
    )


@pytest.fixture
def restored(monkeypatch):
    # install() replaces fit and _Group.fit for the rest of the process: put them back after
    for owner, name in [
        (batched._Group, "fit"),
        (loop, "fit"),
        (normreg.train, "fit"),
        (normreg, "fit"),
    ]:
        monkeypatch.setattr(owner, name, getattr(owner, name))


def test_step_products_count_the_linear_layers_of_forward_and_backward():
    # 2 x batch x in x out per product; forward and the weight's gradient in every layer, the
    # input's gradient in every layer but the first (the data need none); evaluated: forward
    widths = [6, 5, 5, 3]
    pairs = list(zip(widths, widths[1:], strict=False))
    forward = 2 * 8 * sum(a * b for a, b in pairs)
    assert trace.step_products(MLP(NET), torch.randn(8, 6)) == 3 * forward - 2 * 8 * 6 * 5
    assert trace.step_products(MLP(NET), torch.randn(8, 6), backward=False) == forward


def test_step_products_leaves_the_model_and_the_random_stream_alone():
    set_seed(0)
    model = MLP(
        MLPConfig(in_features=6, width=5, depth=2, out_features=3, norm="batch", dropout=0.5)
    ).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(8, 6)
    state = torch.get_rng_state()
    trace.step_products(model, x)
    assert torch.equal(torch.get_rng_state(), state)
    assert not model.training and all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_recording_changes_no_result_and_counts_what_each_run_computed(tmp_path, restored):
    data = _data()  # 40 training and 10 test examples
    train = TrainConfig(steps=7, batch_size=8, lr=0.1, eval_every=7)  # evaluated at 0 and 7
    runs = [Run(NET, train, seed=0), Run(NET, replace(train, lr=1e30), seed=1),  # diverges
            Run(NET, replace(train, steps=5, batch_size=4, eval_every=5), seed=2)]  # 2 groups

    def train_all():
        many = normreg.train.fit_many(runs, data)
        set_seed(3)
        model = MLP(NET)
        history = normreg.fit(model, data, train)
        return many, model, history

    plain = train_all()
    trace.install(tmp_path / "log.jsonl")
    recorded = train_all()
    for (m1, h1), (m2, h2) in zip(plain[0], recorded[0], strict=True):
        assert h1 == h2
        assert all(torch.equal(a, b) for a, b in zip(m1.parameters(), m2.parameters(), strict=True))
    assert plain[2] == recorded[2]
    assert all(torch.equal(a, b) for a, b in zip(plain[1].parameters(), recorded[1].parameters(),
                                                 strict=True))

    # a step: forward and backward at its batch size; an evaluation: a forward pass over all
    # 50 examples, 2 x (6 x 5 + 5 x 5 + 5 x 3) = 140 FLOPs each
    step = trace.step_products(MLP(NET), data.x_train[:8])
    diverged = recorded[0][1][1]
    assert diverged.diverged and len(diverged.batch_loss) < 7  # the run the count must cut short
    evaluations = 50 * 140
    expected = [
        7 * step + 2 * evaluations  # the first group: the run that trained all 7 steps,
        + len(diverged.batch_loss) * step + len(diverged.step) * evaluations,  # and the other
        5 * step // 2 + 2 * evaluations,  # the second group, at batch 4
        7 * step + 2 * evaluations,  # fit
    ]
    lines = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["flops"] for r in lines] == expected
    assert all(r["seconds"] > 0 for r in lines)
    assert trace.read(tmp_path / "log.jsonl") == (
        sum(r["seconds"] for r in lines),
        sum(r["flops"] for r in lines),
    )
    assert trace.read(tmp_path / "none.jsonl") == (0.0, 0)


def _notebook(path, source):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def test_a_measured_notebook_reports_its_training(tmp_path):
    trains = _notebook(
        tmp_path / "trains.ipynb",
        "\n".join(
            [
                "import torch",
                "from normreg import MLP, MLPConfig, TrainConfig, fit",
                "from normreg.data import Dataset",
                "x, y = torch.randn(40, 6), torch.randint(0, 3, (40,))",
                "net = MLP(MLPConfig(in_features=6, width=5, depth=2, out_features=3))",
                "fit(net, Dataset(x, y, x, y), TrainConfig(steps=4, batch_size=8, eval_every=4))",
            ]
        ),
    )
    idle = _notebook(tmp_path / "idle.ipynb", "x = 1")
    busy, still = notebooks.measure([trains, idle])
    step = trace.step_products(MLP(NET), torch.randn(8, 6))
    assert busy.training_flops == 4 * step + 2 * 80 * 140  # 4 steps, 2 evaluations of 2 x 40
    assert 0 < busy.training_seconds < busy.seconds
    assert (still.training_seconds, still.training_flops) == (0.0, 0)
    assert "TFLOP" in notebooks.format_table([busy, still])
