"""occmask.robustness.evaluate / Report / compare on small models and data."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("tqdm")

import occmask as om  # noqa: E402
from occmask.robustness import compare, evaluate  # noqa: E402
from occmask.robustness.metrics import combine_frames, scores  # noqa: E402


def _net(seed=0, channels=1, classes=3):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(channels, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(16, classes),
    )


def _images(n=24, channels=1, size=16, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, channels, size, size), dtype=np.float32), rng.integers(0, classes, n)


def _videos(n=12, t=3, size=16, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, t, 1, size, size), dtype=np.float32), rng.integers(0, classes, n)


GRID = {"families": ("bernoulli", "perlin"), "coverages": (0.0, 0.5), "n_boot": 50, "progress": False}


def _clean_logp(model, x):
    with torch.no_grad():
        return torch.log_softmax(model(torch.from_numpy(x)), 1).numpy()


def test_coverage_zero_rows_equal_a_direct_clean_evaluation():
    model, (x, y) = _net(), _images()
    r = evaluate(model, (x, y), batch_size=7, **GRID)
    direct = scores(_clean_logp(model, x), y)
    for row in r.select(coverage=0.0):
        assert row["level"] == "image"
        assert row["n_samples"] == 24
        assert row["accuracy"] == pytest.approx(direct.correct.mean())
        assert row["nll"] == pytest.approx(direct.nll.mean(), rel=1e-5)
        assert row["brier"] == pytest.approx(direct.brier.mean(), rel=1e-5)
        assert row["accuracy_minus_reference"] == 0
        assert row["verdict_accuracy"] == ""


def test_occluded_rows_are_the_model_on_the_rebuilt_masks():
    model, (x, y) = _net(), _videos()
    r = evaluate(model, (x, y), rules=("sum_logprob", "mean_prob"), **GRID)
    masks = np.stack([r.mask(i, family="perlin", coverage=0.5) for i in range(len(y))])
    assert masks.shape == (12, 3, 16, 16)
    assert (masks.sum((2, 3)) == 128).all()
    seen = om.occlude(x, masks, fill=0.0, layout="BTCHW")
    logp = _clean_logp(model, seen.reshape(-1, 1, 16, 16)).reshape(12, 3, -1)
    np.testing.assert_allclose(r.cell("evolving", "perlin", 0.5).logp, logp, atol=1e-5)
    frame = r.select(family="perlin", coverage=0.5, level="frame")[0]
    assert frame["accuracy"] == pytest.approx((logp.argmax(-1) == y[:, None]).mean())
    assert frame["n_items"] == 36
    assert frame["realised_coverage"] == 0.5
    for rule in ("sum_logprob", "mean_prob"):
        (row,) = r.select(family="perlin", coverage=0.5, level="video", rule=rule)
        assert row["accuracy"] == pytest.approx((combine_frames(logp, rule).argmax(-1) == y).mean())
    assert {(row["level"], row["rule"]) for row in r.rows} == {
        ("frame", ""),
        ("video", "sum_logprob"),
        ("video", "mean_prob"),
    }


def test_two_calls_with_one_seed_give_identical_rows_and_another_seed_other_masks():
    model, data = _net(), _images()
    a, b = evaluate(model, data, **GRID), evaluate(model, data, **GRID)
    assert a.rows == b.rows
    assert a.gaps == b.gaps
    c = evaluate(model, data, seed=1, **GRID)
    assert not np.array_equal(
        a.mask(0, family="perlin", coverage=0.5), c.mask(0, family="perlin", coverage=0.5)
    )


def test_masks_depend_only_on_seed_family_coverage_mode_and_index():
    model, (x, y) = _net(), _images()
    small = evaluate(model, (x[:5], y[:5]), families=["perlin"], coverages=[0.5], n_boot=20, progress=False)
    big = evaluate(
        model, (x, y), families=["bernoulli", "perlin"], coverages=[0.3, 0.5], n_boot=20, progress=False
    )
    for i in range(5):
        np.testing.assert_array_equal(
            small.mask(i, family="perlin", coverage=0.5), big.mask(i, family="perlin", coverage=0.5)
        )
    np.testing.assert_array_equal(
        small.cell("evolving", "perlin", 0.5).logp, big.cell("evolving", "perlin", 0.5).logp[:5]
    )


def test_compare_with_itself_is_exactly_zero_and_pairs_two_models():
    data = _videos()
    r = evaluate(_net(0), data, **GRID)
    same = compare(r, r)
    for row in same.rows:
        for metric in ("accuracy", "nll", "brier", "ece", "confidence", "gap"):
            assert row[metric] == 0
            assert row[f"{metric}_lo"] == 0
            assert row[f"{metric}_hi"] == 0
        for metric in ("accuracy", "nll", "brier", "confidence", "gap"):  # the ECE is descriptive
            assert row[f"verdict_{metric}"] in ("not separable", "at chance")
        assert "verdict_ece" not in row
    other = evaluate(_net(1), data, **GRID)
    diff = compare(r, other)
    (row,) = [d for d in diff.rows if (d["family"], d["coverage"], d["level"]) == ("perlin", 0.5, "frame")]
    mine = r.select(family="perlin", coverage=0.5, level="frame")[0]
    theirs = other.select(family="perlin", coverage=0.5, level="frame")[0]
    assert row["nll"] == pytest.approx(mine["nll"] - theirs["nll"])
    with pytest.raises(ValueError, match="differ in"):
        compare(r, evaluate(_net(0), data, **{**GRID, "coverages": (0.0, 0.4)}))


def test_a_model_that_ignores_its_input_is_at_chance():
    rng = np.random.default_rng(5)
    x, y = rng.random((400, 1, 8, 8), dtype=np.float32), rng.integers(0, 4, 400)

    def constant(batch):
        return torch.zeros(batch.shape[0], 4)

    r = evaluate(
        constant, (x, y), families=["bernoulli", "cgol"], coverages=[0, 0.6], n_boot=300, progress=False
    )
    chance = float(np.mean(y == 0))  # ties go to class 0
    for row in r.rows:
        assert row["accuracy"] == pytest.approx(chance)
        assert row["accuracy_lo"] <= 0.25 <= row["accuracy_hi"]
        assert row["confidence"] == pytest.approx(0.25)
    (cgol,) = r.select(family="cgol", coverage=0.6)
    assert cgol["status"] == "at chance"
    assert cgol["accuracy_minus_reference"] == 0
    for metric in ("accuracy", "nll", "brier", "confidence", "gap"):  # no direction, and no test
        assert cgol[f"verdict_{metric}"] == "at chance"
        assert cgol[f"p_holm_{metric}"] is None
    assert r.gaps[1]["verdict_gap"] == "at chance"


def test_a_dataset_is_streamed_with_the_same_results_as_arrays():
    model, (x, y) = _net(), _videos()

    class Videos(torch.utils.data.Dataset):
        def __len__(self):
            return len(y)

        def __getitem__(self, i):
            return torch.from_numpy(x[i]), int(y[i])

    arrays = evaluate(model, (torch.from_numpy(x), torch.from_numpy(y)), batch_size=6, **GRID)
    streamed = evaluate(model, Videos(), batch_size=6, **GRID)
    assert arrays.rows == streamed.rows


def test_fill_per_channel_and_static_masks():
    model, (x, y) = _net(channels=3), _images(channels=3)
    r = evaluate(
        model, (x, y), fill=[1.0, 0.5, 0.0], temporal=("static", "independent"), families=["perlin"],
        coverages=[0.5], n_boot=20, progress=False,
    )  # fmt: skip
    m = r.mask(2, family="perlin", coverage=0.5, temporal="static")
    seen = om.occlude(x[2], m, fill=[1.0, 0.5, 0.0])
    np.testing.assert_allclose(
        r.cell("static", "perlin", 0.5).logp[2, 0], _clean_logp(model, seen[None])[0], atol=1e-5
    )


def test_params_reach_the_family():
    model, data = _net(), _images(n=6)
    fine = evaluate(
        model,
        data,
        families=["perlin"],
        coverages=[0.5],
        params={"perlin": {"scale": 2.0}},
        n_boot=20,
        progress=False,
    )
    coarse = evaluate(model, data, families=["perlin"], coverages=[0.5], n_boot=20, progress=False)
    assert fine.rows[0]["n_components"] > coarse.rows[0]["n_components"]


def test_holm_verdicts_cover_every_occluded_comparison():
    model, data = _net(), _videos()
    families = tuple(om.FAMILIES)[:3]  # the reference, bernoulli, first
    r = evaluate(model, data, families=families, coverages=(0, 0.3, 0.6), n_boot=50, progress=False)
    tested = [row for row in r.rows if row["family"] != "bernoulli" and row["coverage"] > 0]
    for row in tested:
        if row["verdict_accuracy"] in ("at chance", "at ceiling"):
            assert row["p_holm_accuracy"] is None
            assert row["mdd_accuracy"] is None
        else:
            assert row["verdict_accuracy"] in ("lower", "higher", "not separable")
            assert 0 < row["p_holm_accuracy"] <= 1
            assert row["mdd_accuracy"] > 0
    gaps = [g for g in r.gaps if g["level"] == "frame"]
    assert [g["family"] for g in gaps] == list(families)
    assert families[0] == "bernoulli"
    assert gaps[0]["gap"] == 0
    assert gaps[0]["verdict_gap"] == ""
    assert gaps[0]["p_holm_gap"] is None
    curve = [row["accuracy_minus_reference"] for row in r.select(family=families[1], level="frame")]
    assert gaps[1]["gap"] == pytest.approx(0.3 * (curve[0] + curve[1]) / 2 + 0.3 * (curve[1] + curve[2]) / 2)
    assert gaps[1]["gap_lo"] <= gaps[1]["gap"] <= gaps[1]["gap_hi"]


def _rows_field(shape, rng, temporal, need, *, period=4):
    t, h, _w = shape
    phase = rng.integers(0, period, (t, 1, 1))
    rows = (np.arange(h)[None, :, None] + phase) % period
    return (rows + 1e-3 * rng.random(shape)).astype(np.float32)


def test_a_user_registered_family_is_evaluated_like_the_built_in_ones():
    om.register_family(
        om.Family("test_robust_rows", "horizontal bands", _rows_field, defaults={"period": 4}), replace=True
    )
    model, data = _net(), _videos()
    r = evaluate(
        model,
        data,
        families=["bernoulli", "test_robust_rows"],
        coverages=[0, 0.25],
        n_boot=50,
        progress=False,
    )
    m = r.mask(3, family="test_robust_rows", coverage=0.25)
    assert m.shape == (3, 16, 16)
    assert (m.sum((1, 2)) == 64).all()
    assert (m.all(axis=2) | ~m.any(axis=2)).all()  # whole rows hidden: one band in four
    (row,) = r.select(family="test_robust_rows", coverage=0.25, level="frame")
    assert row["n_components"] == pytest.approx(4)
    assert row["verdict_accuracy"] in (
        "lower",
        "higher",
        "not separable",
        "at chance",
        "at ceiling",
    )


def test_summary_csv_and_figures(tmp_path):
    pytest.importorskip("matplotlib")
    r = evaluate(_net(), _videos(), **GRID)
    text = r.summary()
    assert "perlin" in text
    assert "bernoulli (reference)" in text
    assert "geometry gap" in text
    path = r.to_csv(tmp_path / "rows.csv")
    assert path.read_text().count("\n") == len(r.rows) + 1
    fig = r.plot_curves()
    assert len(fig.axes) == 4
    assert len(r.plot_reliability(0.5, level="frame").axes) == 4


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda m, d: evaluate(m, (d[0][:0], d[1][:0])), ValueError, "empty"),
        (lambda m, d: evaluate(m, (d[0][:, 0, 0], d[1])), ValueError, "images"),
        (lambda m, d: evaluate(m, (d[0], d[1] + 3)), ValueError, "labels must be in"),
        (lambda m, d: evaluate(m, (d[0], d[1][:-1])), ValueError, "data y"),
        (lambda m, d: evaluate(m, d, families=["nope"]), ValueError, "families"),
        (lambda m, d: evaluate(m, d, rules=["max"]), ValueError, "rules"),
        (lambda m, d: evaluate(m, d, temporal=["sometimes"]), ValueError, "temporal"),
        (lambda m, d: evaluate(m, d, coverages=[1.5]), ValueError, "coverages"),
        (lambda m, d: evaluate(m, d, reference="perlin", families=["bernoulli"]), ValueError, "reference"),
        (lambda m, d: evaluate(m, d, params={"perlin": {"size": 3}}, families=["perlin"]), TypeError, "size"),
        (lambda m, d: evaluate(m, d, fill=[1, 2, 3, 4]), ValueError, "fill"),
        (lambda m, d: evaluate(m, d, n_boot=1), ValueError, "n_boot"),
        (lambda m, d: evaluate(m, d, device="gpu7"), ValueError, "device"),
        (lambda m, d: evaluate(lambda b: b.sum(), d), ValueError, "logits"),
        (lambda m, d: evaluate(m, [1, 2]), TypeError, "pairs"),
        (lambda m, d: evaluate(m, "data"), TypeError, "pairs"),
        (lambda m, d: evaluate(m, d, region=3), TypeError, "region"),
    ],
)
def test_bad_input_is_refused_before_any_work(call, error, message, monkeypatch):
    import occmask.robustness.grid as ev

    def no_grid(*args, **kwargs):
        raise AssertionError("masks were made for the grid")

    monkeypatch.setattr(ev, "_masks", no_grid)
    with pytest.raises(error, match=message):
        call(_net(), _images(n=4))


def test_import_occmask_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, occmask, occmask.robustness; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_region_hides_an_exact_share_of_each_samples_region():
    rng = np.random.default_rng(2)
    x, y = rng.random((6, 3, 1, 16, 16), dtype=np.float32), rng.integers(0, 3, 6)

    def bright(sample):  # (T, C, H, W) -> (T, H, W)
        return sample[:, 0] > 0.7

    grid = {"families": ["bernoulli", "perlin"], "coverages": [0, 0.5], "n_boot": 20, "progress": False}
    r = evaluate(_net(), (x, y), region=bright, **grid)
    for i in range(6):
        mask, region = r.mask(i, family="perlin", coverage=0.5, sample=x[i]), bright(x[i])
        hidden = (mask & region).sum(axis=(1, 2))
        np.testing.assert_array_equal(hidden, np.floor(0.5 * region.sum(axis=(1, 2)) + 0.5))
        np.testing.assert_allclose(
            r.cell("evolving", "perlin", 0.5).region_hidden[i], hidden / region.sum((1, 2))
        )
    (row,) = r.select(family="perlin", coverage=0.5, level="frame")
    assert row["region_hidden"] == pytest.approx(0.5, abs=0.01)
    with pytest.raises(ValueError, match="pass sample="):
        r.mask(0, family="perlin", coverage=0.5)


def test_write_csv_takes_every_column_of_any_row(tmp_path):
    import csv

    from occmask.robustness.report import write_csv

    write_csv([{"a": 1, "b": 0.123456789}, {"a": 2, "c": "x"}], tmp_path / "t.csv")
    with open(tmp_path / "t.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert rows == [{"a": "1", "b": "0.123457", "c": ""}, {"a": "2", "b": "", "c": "x"}]
    write_csv([], tmp_path / "empty.csv")
    assert (tmp_path / "empty.csv").read_text() == ""
