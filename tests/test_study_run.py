"""The study's pipeline pieces: stacked scoring, the masks' descriptors and their analysis, layer tables."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("occmask.study")

from occmask.robustness import evaluate  # noqa: E402
from occmask.study.geometry import DESCRIPTORS, explain, frame_table, measure  # noqa: E402
from occmask.study.model import Stacked, build_cnn, layer_table  # noqa: E402
from occmask.study.run import split  # noqa: E402

FAMILIES = ("bernoulli", "perlin")


@pytest.fixture(scope="module")
def videos():
    rng = np.random.default_rng(1)
    frames = np.zeros((6, 2, 64, 64), np.uint8)
    for i in range(6):  # a bright bar per video: some ink to hide
        r = rng.integers(10, 50)
        frames[i, :, r : r + 4, 12:52] = 255
    return frames, rng.integers(0, 10, 6)


def _evaluate(model, frames, labels):
    x = (frames[:, :, None] / np.float32(255)).astype(np.float32)
    return evaluate(
        model, (x, labels), families=FAMILIES, coverages=(0, 0.3), rules=("mean_logprob",), n_boot=20,
        progress=False, output="logits",
    )  # fmt: skip


def test_a_stacked_report_splits_into_each_models_own_report(videos):
    frames, labels = videos
    models = [build_cnn(seed=s).eval() for s in (0, 1)]
    parts = split(_evaluate(Stacked(models), frames, labels), 2, frames.shape[1:])
    for model, part in zip(models, parts, strict=True):
        alone = _evaluate(model, frames, labels)
        for a, b in zip(part.cells, alone.cells, strict=True):
            np.testing.assert_allclose(a.logp, b.logp, atol=2e-5)
        for a, b in zip(part.rows, alone.rows, strict=True):
            assert (a["family"], a["coverage"], a["level"]) == (b["family"], b["coverage"], b["level"])
            assert a["accuracy"] == b["accuracy"]
            assert a["nll"] == pytest.approx(b["nll"], abs=1e-4)


def test_descriptors_match_a_direct_computation(videos):
    frames, labels = videos
    report = _evaluate(build_cnn(seed=0), frames, labels)
    found = measure([report], frames, "evolving", videos=3)
    assert set(found) == {(f, 0.3) for f in FAMILIES}
    d = found[("perlin", 0.3)]
    assert d["ink_hidden"].shape == (3, 2)
    assert set(DESCRIPTORS) <= set(d)
    for i in range(3):
        mask = report.mask(i, family="perlin", coverage=0.3, temporal="evolving")
        ink = frames[i] >= 128
        for t in range(2):
            assert d["ink_hidden"][i, t] == pytest.approx((mask[t] & ink[t]).sum() / ink[t].sum())
            edges = np.sum(mask[t, 1:] != mask[t, :-1]) + np.sum(mask[t, :, 1:] != mask[t, :, :-1])
            assert d["boundary"][i, t] == pytest.approx(edges / mask[t].sum())
    np.testing.assert_allclose(d["ink_spread"], d["ink_hidden"].std(axis=1))
    outcomes = frame_table([report], found, "evolving", 3)
    logp = report.cell("evolving", "perlin", 0.3).logp[:3]
    np.testing.assert_array_equal(outcomes[("perlin", 0.3)]["correct"], logp.argmax(-1) == labels[:3, None])


def _synthetic(slope_on: str, n=300, seed=0):
    """Two families whose frame accuracy depends on one descriptor only; the second hides more ink."""
    rng = np.random.default_rng(seed)
    described, outcomes = {}, {}
    for k, family in enumerate(("bernoulli", "perlin")):
        d = {name: rng.random((n, 2)) for name in DESCRIPTORS}
        d[slope_on] = d[slope_on] * 0.5 + 0.4 * k  # perlin's descriptor is higher
        d["ink_spread"] = d["ink_hidden"].std(axis=1)
        described[(family, 0.3)] = d
        p = np.clip(0.9 - 0.8 * d[slope_on], 0, 1)
        outcomes[(family, 0.3)] = {"correct": (rng.random((n, 2)) < p).astype(float), "confidence": p}
    return described, outcomes


def test_explain_finds_the_descriptor_behind_a_gap():
    described, outcomes = _synthetic("ink_hidden")
    g = explain("a", described, outcomes, "bernoulli")
    share = {r["descriptor"]: r for r in g.explained}
    assert share["ink_hidden"]["explained"] > 0.8
    assert share["ink_hidden"]["lo"] > 0.5
    assert share["largest_share"]["explained"] < 0.3
    (left,) = g.left
    assert left["gap"] < -0.2
    assert left["gap_lo"] <= left["gap"] <= left["gap_hi"]
    assert left["lo"] <= 0 <= left["hi"] or abs(left["at_matched_ink"]) < 0.05  # nothing left at matched ink
    rho = {r["descriptor"]: r["rho"] for r in g.rank}
    assert rho["ink_hidden"] < -0.2
    assert abs(rho["boundary"]) < 0.15


def test_explain_leaves_a_gap_that_ink_does_not_explain():
    described, outcomes = _synthetic("largest_share", seed=1)
    g = explain("a", described, outcomes, "bernoulli")
    share = {r["descriptor"]: r["explained"] for r in g.explained}
    assert share["largest_share"] > 0.8
    assert share["ink_hidden"] < 0.3
    (left,) = g.left
    assert left["hi"] < 0  # still below bernoulli at matched ink


def test_layer_tables_count_every_parameter():
    for arch in ("globalpool", "flatten"):
        model = build_cnn(arch=arch, seed=0)
        rows = layer_table(model)
        assert sum(r["parameters"] for r in rows) == sum(p.numel() for p in model.parameters())
        assert rows[-1]["output"] == (10,)
        assert model.training
