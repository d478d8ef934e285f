"""The study's decisions: per-coverage claims on seed-pooled paired tests, statuses, agreement."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("occmask.study")

import occmask as om  # noqa: E402
from occmask.robustness import evaluate  # noqa: E402
from occmask.robustness.stats import holm, paired_t  # noqa: E402
from occmask.study.analysis import (  # noqa: E402
    Claim,
    Decision,
    Where,
    blog_claims,
    claim_status,
    condition_status,
    decide,
    pooled_values,
    robust,
    settings,
)

FAMILIES = tuple(om.FAMILIES)[:4]  # the reference and the post's three, in registry order
FOCUS = {0.0: 0.3, 1.0: 0.3}


def _model(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveMaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(16, 3),
    )  # fmt: skip


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.random((16, 3, 1, 16, 16), dtype=np.float32), rng.integers(0, 3, 16)


@pytest.fixture(scope="module")
def reports(data):
    out = {}
    for arch, base in (("a", 0), ("b", 10)):
        for s in range(2):
            for fill in (0.0, 1.0):
                out[(arch, s, fill)] = evaluate(
                    _model(base + s), data, families=FAMILIES, coverages=(0, 0.3, 0.6),
                    temporal=("evolving", "independent"), fill=fill, rules=("mean_logprob", "sum_logprob"),
                    n_boot=20, progress=False,
                )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def decided(reports):
    return decide(reports, FOCUS, "mean_logprob")


def test_settings_cross_every_factor(reports):
    found = settings(reports)
    assert len(found) == 2 * 2 * 2 * 3  # archs x fills x temporal x (frame + 2 rules)
    assert Where("a", 1.0, "independent", "video", "sum_logprob") in found


def test_pooled_values_are_each_seeds_per_video_values(reports):
    where = Where("b", 0.0, "evolving", "frame", "")
    found = pooled_values(reports, where, "perlin", 0.3, "accuracy")
    for s in range(2):
        expected = reports[("b", s, 0.0)].values("evolving", "perlin", 0.3, "frame", "")["accuracy"]
        np.testing.assert_array_equal(found[s], expected)


def test_each_claim_is_decided_at_every_coverage_and_over_the_grid(reports, decided):
    claims = blog_claims(FAMILIES)
    accuracy = [c for c in claims if c.metric == "accuracy"]
    per_setting = {}
    for claim, d, status in decided.claims:
        per_setting.setdefault(d.where, []).append((claim.key, d.coverage))
        assert status == claim_status(claim, d)
    for where, keys in per_setting.items():
        mine = claims if where.rule != "sum_logprob" else [c for c in claims if c not in accuracy]
        assert sorted(keys, key=str) == sorted(
            [(c.key, cov) for c in mine for cov in (0.3, 0.6, None)], key=str
        ), where  # sum_logprob's accuracy is mean_logprob's test, not repeated


def test_per_coverage_verdicts_recompute_from_paired_t_and_holm(reports, decided):
    where = Where("a", 0.0, "evolving", "frame", "")
    mine = [(c, d) for c, d, _ in decided.claims if d.where == where and d.metric == "nll" and d.coverage]
    p = []
    for claim, d in mine:
        diff = pooled_values(reports, where, claim.subject, d.coverage, "nll") - pooled_values(
            reports, where, claim.versus, d.coverage, "nll"
        )
        pooled = diff.mean(axis=0)
        assert d.value == pytest.approx(pooled.mean())
        assert d.per_seed == pytest.approx(tuple(diff.mean(axis=1)))
        assert d.lo <= d.value <= d.hi
        p.append(np.nan if d.verdict in ("at chance", "at ceiling") else paired_t(pooled))
    adjusted = holm(np.array(p))
    for (_, d), q in zip(mine, adjusted, strict=True):
        if not np.isnan(q):
            assert d.p_holm == pytest.approx(q)
            assert (d.verdict != "not separable") == (q < 0.05)


def test_conditions_at_chance_are_never_tested(reports, decided):
    for claim, d, status in decided.claims:
        if d.coverage is None:
            continue
        where = d.where
        a = condition_status(reports, where, claim.subject, d.coverage)
        b = condition_status(reports, where, claim.versus, d.coverage)
        shared = a if a == b and a in ("at chance", "at ceiling") else ""
        assert (status in ("at chance", "at ceiling")) == bool(shared)
        if shared:
            assert np.isnan(d.p_holm)
            assert np.isnan(d.mdd)
            assert status == shared
    # a random 3-class model on 16 samples is at chance somewhere
    assert any(s == "at chance" for _, _, s in decided.claims)


def test_calibration_claims_use_the_signed_gap():
    claims = blog_claims(tuple(om.FAMILIES))
    assert {c.metric for c in claims} == {"accuracy", "nll", "brier", "gap"}
    assert all(c.expected == "higher" for c in claims if c.metric == "gap")


def _decision(where, coverage, verdict, per_seed):
    agree = int(sum(np.sign(per_seed) == np.sign(np.mean(per_seed))))
    return Decision(where, "perlin", "bernoulli", "accuracy", coverage, float(np.mean(per_seed)), -1, 1,
                    0.01, 0.05, verdict, tuple(per_seed), agree)  # fmt: skip


def test_robust_needs_every_architecture_and_every_seed():
    claim = Claim("acc_perlin", "t", "perlin", "bernoulli", "accuracy", "lower")
    a, b = Where("a", 0.0, "evolving", "frame", ""), Where("b", 0.0, "evolving", "frame", "")
    items = [
        (claim, _decision(a, 0.1, "lower", [-0.1, -0.2]), "supported"),
        (claim, _decision(b, 0.1, "lower", [-0.1, -0.05]), "supported"),
        (claim, _decision(a, 0.2, "lower", [-0.1, 0.02]), "supported"),  # one seed disagrees
        (claim, _decision(b, 0.2, "lower", [-0.1, -0.2]), "supported"),
        (claim, _decision(a, 0.3, "lower", [-0.1, -0.2]), "supported"),
        (claim, _decision(b, 0.3, "not separable", [-0.01, 0.0]), "not separable"),  # architectures differ
        (claim, _decision(a, 0.4, "at chance", [0.0, 0.0]), "at chance"),
        (claim, _decision(b, 0.4, "at chance", [0.0, 0.0]), "at chance"),
        (claim, _decision(a, 0.5, "at chance", [0.0, 0.0]), "at chance"),
        (claim, _decision(b, 0.5, "not separable", [0.01, -0.01]), "not separable"),
    ]
    found = robust(items)[("acc_perlin", 0.0, "evolving", "frame", "", "canvas")]
    assert found == [
        (0.1, "supported"),
        (0.2, "split"),
        (0.3, "split"),
        (0.4, "at chance"),
        (0.5, "not separable"),
    ]


def test_area_summary_is_normalised_by_the_grid(reports, decided):
    where = Where("b", 1.0, "independent", "frame", "")
    (d,) = [
        d for c, d, _ in decided.claims if d.where == where and c.key == "acc_perlin" and d.coverage is None
    ]
    diffs = [
        (
            pooled_values(reports, where, "perlin", c, "accuracy")
            - pooled_values(reports, where, "bernoulli", c, "accuracy")
        ).mean(axis=0)
        for c in (0.0, 0.3, 0.6)
    ]
    area = (0.3 * (diffs[0] + diffs[1]) / 2 + 0.3 * (diffs[1] + diffs[2]) / 2) / 0.6
    assert d.value == pytest.approx(area.mean())


def test_temporal_and_calibration_decisions(decided):
    assert {t.versus.split()[1] for t in decided.temporal} == {"evolving"}
    assert len(decided.temporal) == 2 * 2 * len(FAMILIES)  # archs x fills x families (one other mode)
    assert len(decided.calibration) == 24 * len(FAMILIES)
    for row in decided.calibration:
        assert row["gap"] == pytest.approx(row["confidence"] - row["accuracy"], abs=1e-6)
        inside = row["gap_lo"] <= 0 <= row["gap_hi"]
        assert (row["direction"] == "not separable from calibrated") == inside


def test_the_ink_matched_arm_is_decided_in_settings_of_its_own(reports, decided):
    ink = {key: r for key, r in reports.items() if key[2] == 0.0}  # stands in for an ink-matched arm
    d = decide(reports, FOCUS, "mean_logprob", ink)
    canvas = [g for g in d.gaps if g.where.arm == "canvas"]
    matched = [g for g in d.gaps if g.where.arm == "ink"]

    def key(g):
        return (g.where, g.subject, g.coverage, g.value, g.lo, g.hi, g.verdict, g.per_seed)

    assert [key(g) for g in canvas] == [key(g) for g in decided.gaps]  # the canvas arm is unchanged
    same = [g for g in canvas if g.where.fill == 0.0]
    assert len(matched) == len(same)
    for a, b in zip(matched, same, strict=True):
        assert (a.value, a.lo, a.hi, a.verdict) == (b.value, b.lo, b.hi, b.verdict)  # same reports, numbers
        assert a.where.label() == b.where.label() + ", ink-matched"
    assert {dec.where.arm for _, dec, _ in d.claims} == {"canvas", "ink"}


def test_the_tables_mark_every_coverage(decided):
    from occmask.study.report import claims_table, coverage_ranges, robust_table

    table = claims_table(decided).splitlines()
    assert table[0].startswith("| setting | acc_perlin |") or "acc_perlin" in table[0]
    found = {(d.where, c.key): [] for c, d, _ in decided.claims}
    for c, d, s in decided.claims:
        if d.coverage is not None:
            found[(d.where, c.key)].append((d.coverage, s))
    where = Where("a", 0.0, "evolving", "frame", "")
    line = next(x for x in table if x.startswith(f"| {where.label()} |"))
    assert coverage_ranges(found[(where, "acc_perlin")]) in line
    robust_lines = robust_table(decided).splitlines()
    assert "fill 0: every seed, all architectures" in robust_lines[0]
    assert "fill 1: b" in robust_lines[0]
    assert len(robust_lines) == 2 + len(blog_claims(FAMILIES))
