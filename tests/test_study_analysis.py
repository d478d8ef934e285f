"""The study's decisions: pooling over seeds, geometry gaps, claims, calibration, on small reports."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("occmask.study")

import occmask as om  # noqa: E402
from occmask.robustness import evaluate  # noqa: E402
from occmask.robustness.stats import Estimate  # noqa: E402
from occmask.study.analysis import (  # noqa: E402
    Claim,
    Where,
    blog_claims,
    claim_status,
    decide,
    pool,
    settings,
)

FAMILIES = tuple(om.FAMILIES)[:4]


def _model(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveMaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(16, 3),
    )  # fmt: skip


@pytest.fixture(scope="module")
def reports():
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 3, 1, 16, 16), dtype=np.float32), rng.integers(0, 3, 16)
    out = {}
    for arch, base in (("a", 0), ("b", 10)):
        for s in range(2):
            for fill in (0.0, 1.0):
                out[(arch, s, fill)] = evaluate(
                    _model(base + s), (x, y), families=FAMILIES, coverages=(0, 0.3, 0.6),
                    temporal=("evolving", "independent"), fill=fill, rules=("mean_logprob", "sum_logprob"),
                    n_boot=60, progress=False,
                )  # fmt: skip
    return out


def test_pool_is_the_mean_over_seeds_with_two_level_replicates():
    a = Estimate(0.2, np.linspace(0.1, 0.3, 40))
    b = Estimate(0.6, np.linspace(0.5, 0.7, 40))
    p = pool([a, b])
    assert p.value == pytest.approx(0.4) and p.per_seed.tolist() == [0.2, 0.6]
    # each replicate is the mean of two seeds drawn with replacement, at the same video resample
    allowed = np.stack([a.replicates, (a.replicates + b.replicates) / 2, b.replicates])
    assert all(np.isclose(allowed[:, i], r).any() for i, r in enumerate(p.replicates))
    assert p.seeds_agreeing() == 2


def test_settings_cross_every_factor(reports):
    found = settings(reports)
    assert len(found) == 2 * 2 * 2 * 3  # archs x fills x temporal x (frame + 2 rules)
    assert Where("a", 1.0, "independent", "video", "sum_logprob") in found


def test_geometry_gaps_pool_each_seeds_report(reports):
    d = decide(reports, 0.3, "mean_logprob")
    assert len(d.gaps) == 24 * (len(FAMILIES) - 1)
    gap = next(
        g for g in d.gaps if g.where == Where("b", 0.0, "evolving", "frame", "") and g.subject == FAMILIES[2]
    )
    key = (FAMILIES[2], "frame", "evolving")
    per_seed = [
        next(r["gap"] for r in reports[("b", s, 0.0)].gaps if (r["family"], r["level"], r["temporal"]) == key)
        for s in range(2)
    ]
    assert gap.per_seed == pytest.approx(per_seed) and gap.value == pytest.approx(np.mean(per_seed))
    assert gap.lo <= gap.value <= gap.hi and gap.verdict in ("lower", "higher", "not separable")
    assert 0 < gap.p_holm <= 1 and 0 <= gap.agree <= 2


def test_claims_are_tested_in_every_setting(reports):
    d = decide(reports, 0.3, "mean_logprob")
    claims = blog_claims(FAMILIES)
    assert {c.subject for c in claims} <= set(FAMILIES) and len(d.claims) == 24 * len(claims)
    for claim, decision, status in d.claims:
        assert status == claim_status(claim, decision)


def test_claim_status_reads_the_verdict_against_the_expectation():
    where = Where("a", 0.0, "evolving", "frame", "")
    claim = Claim("k", "t", "perlin", "bernoulli", "ece", "higher")
    from occmask.study.analysis import Decision

    def dec(verdict):
        return Decision(where, "perlin", "bernoulli", "ece", 0.1, 0.0, 0.2, 0.01, verdict, (0.1,), 1)

    assert claim_status(claim, dec("higher")) == "supported"
    assert claim_status(claim, dec("lower")) == "contradicted"
    assert claim_status(claim, dec("not separable")) == "not separable"


def test_temporal_and_calibration_decisions(reports):
    d = decide(reports, 0.3, "mean_logprob")
    assert len(d.temporal) == 2 * 2 * len(FAMILIES)  # archs x fills x families (one other mode)
    assert {t.versus.split()[1] for t in d.temporal} == {"evolving"}
    assert len(d.calibration) == 24 * len(FAMILIES)
    for row in d.calibration:
        assert row["gap"] == pytest.approx(row["confidence"] - row["accuracy"])
        inside = row["gap_lo"] <= 0 <= row["gap_hi"]
        assert (row["direction"] == "not separable from calibrated") == inside


def test_the_ink_matched_arm_is_decided_in_settings_of_its_own(reports):
    ink = {key: r for key, r in reports.items() if key[2] == 0.0}  # stands in for an ink-matched arm
    d = decide(reports, 0.3, "mean_logprob", ink)
    canvas = [g for g in d.gaps if g.where.arm == "canvas"]
    matched = [g for g in d.gaps if g.where.arm == "ink"]
    assert canvas == decide(reports, 0.3, "mean_logprob").gaps  # the canvas arm is unchanged
    assert {g.where.fill for g in matched} == {0.0} and len(matched) == len(canvas) // 2
    for a, b in zip(matched, [g for g in canvas if g.where.fill == 0.0], strict=True):
        assert (a.value, a.lo, a.hi, a.p_holm) == (
            b.value,
            b.lo,
            b.hi,
            b.p_holm,
        )  # same reports, same numbers
        assert a.where.label() == b.where.label() + ", ink-matched"
    assert {dec.where.arm for _, dec, _ in d.claims} == {"canvas", "ink"}
    assert all(row["where"].arm == "canvas" for row in d.calibration)


def test_the_digest_tables_count_the_decisions(reports):
    from occmask.study.report import claim_summary, gap_summary

    d = decide(reports, 0.3, "mean_logprob", {k: r for k, r in reports.items() if k[2] == 0.0})
    lines = claim_summary(d).splitlines()
    assert lines[0] == (
        "| claim of the post | canvas-matched, fill 0 | canvas-matched, fill 1 | ink-matched, fill 0 |"
    )
    groups = [("canvas", 0.0), ("canvas", 1.0), ("ink", 0.0)]
    for claim, line in zip(dict.fromkeys(c.text for c, _, _ in d.claims), lines[2:], strict=True):
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert cells[0] == claim
        for (arm, fill), cell in zip(groups, cells[1:], strict=True):
            found = [
                s
                for c, dec, s in d.claims
                if c.text == claim and (dec.where.arm, dec.where.fill) == (arm, fill)
            ]
            assert cell == f"✓ {found.count('supported')}, ✗ {found.count('contradicted')} of {len(found)}"
    gap_lines = gap_summary(d).splitlines()
    assert len(gap_lines) == 2 + len(FAMILIES) - 1 and gap_lines[2].startswith(
        f"| {FAMILIES[1]} vs bernoulli |"
    )
    first = [g for g in d.gaps if g.subject == FAMILIES[1] and (g.where.arm, g.where.fill) == ("canvas", 0.0)]
    lower = sum(g.verdict == "lower" for g in first)
    higher = sum(g.verdict == "higher" for g in first)
    assert gap_lines[2].split("|")[2].strip() == f"▼ {lower}, ▲ {higher} of {len(first)}"
