from normreg.bench import main, run


def test_benchmark_measures_every_way_for_every_layer():
    results = run(shape=(8, 16), min_run_time=0.01)
    assert [r.layer for r in results] == ["LayerNorm1d", "BatchNorm1d"]
    for r in results:
        assert set(r.seconds) == {"autograd", "by hand", "torch"}
        assert all(s > 0 for s in r.seconds.values())
        assert r.ratio("torch") == 1.0


def test_benchmark_prints_a_table(capsys):
    main(["--n", "8", "--d", "16", "--min-run-time", "0.01"])
    out = capsys.readouterr().out
    assert "8 x 16 float32" in out and out.count("vs torch") == 1
    assert out.count("as fast as autograd") == 2
