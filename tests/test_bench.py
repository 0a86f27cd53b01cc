import json

import nbformat
import pytest
import torch

from normreg.bench import layers, load, machine, notebooks, save, training
from normreg.bench.__main__ import main


def test_every_layer_and_way_is_timed_against_torch():
    results = layers.run(sizes=[(8, 16)], ways=("autograd", "by hand", "torch"), min_run_time=0.01,
                         bandwidth=1e10)
    assert [(r.layer, r.n, r.d) for r in results] == [(name, 8, 16) for name in layers.LAYERS]
    for r in results:
        assert set(r.seconds) == {"autograd", "by hand", "torch"}
        assert all(s > 0 for s in r.seconds.values())
        assert r.limit == pytest.approx(layers.bytes_moved(r.layer, 8, 16) / 1e10)


def test_least_traffic_counts_inputs_and_outputs_of_both_passes():
    assert layers.bytes_moved("LayerNorm", 2, 3) == 5 * 4 * 6  # x, y, x, dy, dx in float32
    assert layers.bytes_moved("BatchNorm1d", 2, 3) == layers.bytes_moved("LayerNorm", 2, 3)
    assert layers.bytes_moved("Dropout", 2, 3) == (4 * 4 + 2) * 6  # x, y, dy, dx + mask twice
    with pytest.raises(ValueError, match="layer must be one of"):
        layers.bytes_moved("GroupNorm", 2, 3)


def test_bandwidth_is_a_plausible_number():
    bandwidth = layers.memory_bandwidth(16 * 2**20, min_run_time=0.05)
    assert 1e8 < bandwidth < 1e13  # 0.1 GB/s .. 10 TB/s


def test_ways_must_include_the_reference():
    with pytest.raises(ValueError, match="includes 'torch'"):
        layers.run(sizes=[(8, 16)], ways=("autograd",), bandwidth=1e10)
    with pytest.raises(ValueError, match="subset of"):
        layers.run(sizes=[(8, 16)], ways=("torch", "cuda"), bandwidth=1e10)


def test_table_shows_ratios_and_the_limit():
    r = layers.Result("LayerNorm", 8, 16, {"autograd": 3e-3, "torch": 1e-3}, 5e-4)
    assert r.ratio("autograd") == pytest.approx(3.0)  # a way's time over torch's
    table = layers.format_table([r])
    assert "8 x 16" in table and "3.00x" in table and "0.50x" in table and "1.000 ms" in table


def _notebook(path, source):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


def test_notebook_cost_measures_time_and_the_kernels_memory(tmp_path):
    small = _notebook(tmp_path / "small.ipynb", "x = 1")
    big = _notebook(tmp_path / "big.ipynb",
                    "import numpy as np\nx = np.ones(2**27)  # 1 GiB\nx.sum()")
    before = small.read_text()
    (light, heavy) = notebooks.measure([small, big])
    assert light.seconds > 0 and heavy.seconds > 0
    assert heavy.peak_bytes > 2**30 > 2 * light.peak_bytes  # the kernel's 1 GiB array is counted
    assert small.read_text() == before  # the notebook itself is not rewritten
    assert "all, one after the other" in notebooks.format_table([light, heavy])


def test_the_measuring_process_does_not_count_as_the_notebooks_memory(tmp_path):
    # Linux carries a parent's peak RSS into a child it forks; a 1.5 GiB parent must not make
    # a tiny notebook look big.
    import numpy as np

    ballast = np.ones(3 * 2**26)  # 1.5 GiB in this process
    (light,) = notebooks.measure([_notebook(tmp_path / "small.ipynb", "x = 1")])
    assert light.peak_bytes < 2**30 and ballast.sum() > 0


def test_a_failing_notebook_is_reported(tmp_path):
    broken = _notebook(tmp_path / "broken.ipynb", "1 / 0")
    with pytest.raises(RuntimeError, match="broken.ipynb failed"):
        notebooks.measure([broken])
    with pytest.raises(ValueError, match="existing .ipynb"):
        notebooks.measure([tmp_path / "missing.ipynb"])


def test_results_round_trip_through_json(tmp_path):
    r = layers.Result("Dropout", 4, 8, {"torch": 1e-3}, 1e-4)
    t = training.TrainingResult("batch", {"torch layers": 1e-2, "ours": 2e-2}, 3e-3)
    c = notebooks.NotebookCost("chapters/x.ipynb", 12.5, 2**29)
    save(tmp_path / "r.json", machine=machine(1e10), layers=[r], training=[t], notebooks=[c])
    info, (r2,), (t2,), (c2,) = load(tmp_path / "r.json")
    assert (r2, t2, c2) == (r, t, c) and info["bandwidth_bytes_per_s"] == 1e10
    assert info["threads"] >= 1


def test_training_step_is_timed_every_way_per_network():
    from normreg import MLPConfig

    tiny = MLPConfig(in_features=12, width=8, depth=2, out_features=3)
    results = training.run(norms=[None, "batch"], ks=[1, 2], min_run_time=0.02, rounds=2,
                           network=tiny, batch=10)
    assert [r.norm for r in results] == [None, "batch"]
    for r in results:
        assert set(r.seconds) == {"torch layers", "ours", "batched 1", "batched 2"}
        assert all(s > 0 for s in r.seconds.values()) and r.limit > 0
        assert r.ratio("ours") == pytest.approx(r.seconds["ours"] / r.seconds["torch layers"])
    table = training.format_table(results)
    assert "batched 2" in table and "plain" in table and "batch" in table


def test_the_limit_times_exactly_the_products_that_step_flops_counts(monkeypatch):
    # the products timed for k networks are the step's own, k times: their FLOPs, counted from
    # the shapes torch.bmm receives, are k times step_flops; and in the step's layout
    from normreg import MLPConfig

    net = MLPConfig(in_features=3, width=4, depth=2, out_features=5)
    calls, bmm = [], torch.bmm

    def counting_bmm(a, b):
        calls.append((tuple(a.shape), tuple(b.shape)))
        return bmm(a, b)

    monkeypatch.setattr(torch, "bmm", counting_bmm)
    assert training.products_seconds(2, net, batch=10, min_run_time=0.001) > 0
    one_call = calls[:3 * 3]  # three layers, three products each
    flops = sum(2 * k * n * m * p for (k, n, m), (_, _, p) in one_call)
    assert flops == 2 * training.step_flops(net, batch=10)
    assert one_call[:3] == [((2, 10, 3), (2, 3, 4)), ((2, 10, 4), (2, 4, 3)),
                            ((2, 3, 10), (2, 10, 4))]
    assert len(calls) % 9 == 0 and set(calls) == set(one_call)


def test_step_flops_count_three_products_per_linear_layer():
    from normreg import MLPConfig

    net = MLPConfig(in_features=3, width=4, depth=2, out_features=5)
    assert training.step_flops(net, batch=10) == 3 * 2 * 10 * (3 * 4 + 4 * 4 + 4 * 5)
    assert 0.3e9 < training.step_flops() < 0.4e9  # chapter 1's network: 0.34 GFLOP


def test_command_line_prints_tables_and_writes_json(tmp_path, capsys):
    out = tmp_path / "results.json"
    main(["--sizes", "8x16", "--ways", "autograd", "torch", "--min-run-time", "0.01",
          "--ks", "--notebooks", "--out", str(out)])
    printed = capsys.readouterr().out
    assert "GB/s" in printed and printed.count("8 x 16") == 3
    assert len(json.loads(out.read_text())["layers"]) == 3


def test_only_notebooks_keeps_the_other_results(tmp_path, capsys):
    out = tmp_path / "results.json"
    r = layers.Result("Dropout", 4, 8, {"torch": 1e-3}, 1e-4)
    t = training.TrainingResult("batch", {"torch layers": 1e-2, "ours": 2e-2}, 3e-3)
    old = notebooks.NotebookCost("chapters/old.ipynb", 12.5, 2**29)
    save(out, machine=machine(1e10), layers=[r], training=[t], notebooks=[old])
    small = _notebook(tmp_path / "small.ipynb", "x = 1")
    main(["--only-notebooks", "--notebooks", str(small), "--out", str(out)])
    info, (r2,), (t2,), (cost,) = load(out)
    assert (r2, t2) == (r, t) and info["bandwidth_bytes_per_s"] == 1e10
    assert cost.notebook == str(small) and cost.seconds > 0
    assert 0 < info["empty_notebook_seconds"] < 60  # the start-up every notebook pays
    assert "small.ipynb" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="existing --out"):
        main(["--only-notebooks", "--notebooks", str(small), "--out", str(tmp_path / "no.json")])


def test_the_training_benchmark_leaves_subnormal_numbers_alone():
    # Flushing denormals is global processor state; other code (hypothesis's float strategies,
    # a chapter that sets it for itself) must find it as it was.
    from normreg import MLPConfig

    tiny = MLPConfig(in_features=4, width=4, depth=1, out_features=2)
    training.run(norms=[None], ks=[1], min_run_time=0.01, rounds=1, network=tiny, batch=4)
    assert torch.tensor(1e-40, dtype=torch.float32).item() != 0.0
