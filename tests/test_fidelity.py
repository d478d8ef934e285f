"""The families against the peers they emulate, through the peers' own algorithms re-implemented here.

- ``fourier`` against FMix (Harris et al. 2020, "FMix: Enhancing Mixed Sample Data
  Augmentation"; reference code ``fmix.py`` of github.com/ecs-vlc/FMix, MIT licence):
  the paper's model is a spectrum of complex Gaussians scaled by
  ``1 / max(f, 1 / max(H, W)) ** decay``, ``irfftn``, then the top ``k`` pixels of the
  real field. The masks' component counts, largest components and boundary lengths
  are compared by two-sample Kolmogorov-Smirnov tests.
- ``patches`` against MAE's ``random_masking`` (He et al. 2022, "Masked Autoencoders Are
  Scalable Vision Learners", github.com/facebookresearch/mae): the argsort of uniform
  noise per sample, the first ``len * (1 - ratio)`` patches kept, so the hidden ones are
  a uniformly random subset of exactly ``k`` patches.

Every test uses fixed seeds, so it is deterministic. Each family of tests has a
family-wise alpha of 0.01, Bonferroni-adjusted over its tests; the sample sizes let a
p-value reach the adjusted alpha (a test below shows the FMix tests reject masks of
another decay). ``fmix.py`` as released builds its complex spectrum from the wrong axis,
so its masks differ from the paper's model; a test shows that too, on more masks.
"""

import itertools
import math

import numpy as np
import pytest
import scipy.stats

import occmask as om
from occmask.calibrate import target_count

ALPHA = 0.01

# --- fourier against FMix ------------------------------------------------------------------

FMIX_DECAY = 3.0
FMIX_SAMPLES = 300
FMIX_SIDES = (32, 64)
FMIX_COVERAGES = (0.3, 0.5)
DESCRIPTORS = ("n_components", "largest_component", "boundary")
FMIX_TESTS = len(FMIX_SIDES) * len(FMIX_COVERAGES) * len(DESCRIPTORS)


def top_k(fields, coverage):
    """FMix's ``binarise_mask`` at an exact share: the ``k`` highest pixels of each field (n, H, W)."""
    n, h, w = fields.shape
    k = target_count(coverage, h * w)
    order = np.argsort(fields.reshape(n, -1), axis=1)[:, ::-1][:, :k]
    mask = np.zeros((n, h * w), bool)
    np.put_along_axis(mask, order, True, axis=1)
    return mask.reshape(n, h, w)


def fmix_scale(freqs, decay, longest):
    """``get_spectrum``'s amplitude of ``fmix.py``: ``1 / max(f, 1 / max(H, W)) ** decay``."""
    return 1.0 / np.maximum(freqs, 1.0 / longest) ** decay


def fmix_paper(n, side, decay, coverage, rng):
    """The paper's model: a complex Gaussian per bin of the half spectrum (``fftfreqnd``'s
    frequencies), scaled, ``irfftn``, top ``k``."""
    freqs = np.sqrt(np.fft.fftfreq(side)[:, None] ** 2 + np.fft.fftfreq(side)[: side // 2 + 1] ** 2)
    scale = fmix_scale(freqs, decay, side)
    spectrum = scale * (rng.standard_normal((n, *freqs.shape)) + 1j * rng.standard_normal((n, *freqs.shape)))
    return top_k(np.fft.irfftn(spectrum, s=(side, side), axes=(1, 2)), coverage)


def fmix_released(n, side, decay, coverage, rng):
    """``make_low_freq_image`` of ``fmix.py`` as released, one sample at a time: ``get_spectrum``
    returns (ch, H, W // 2 + 1, 2), and ``spectrum[:, 0] + 1j * spectrum[:, 1]`` indexes its axis 1
    (the first two rows of vertical frequency), so ``irfftn(spectrum, (H, W))`` reads a (W // 2 + 1,
    2) spectrum: horizontal frequencies 0 and 1 / W only. (``irfftn(spectrum, shape)`` transforms the
    last ``len(shape)`` axes; numpy 2 asks for them to be named.)"""
    freqs = np.sqrt(np.fft.fftfreq(side)[:, None] ** 2 + np.fft.fftfreq(side)[: side // 2 + 1] ** 2)
    scale = fmix_scale(freqs, decay, side)[None, :, :, None]
    fields = np.empty((n, side, side))
    for i in range(n):
        spectrum = scale * rng.standard_normal((1, *freqs.shape, 2))
        spectrum = spectrum[:, 0] + 1j * spectrum[:, 1]
        fields[i] = np.real(np.fft.irfftn(spectrum, (side, side), axes=(-2, -1)))[0]
    return top_k(fields, coverage)


def descriptors(masks):
    d = om.describe(masks)
    return {name: getattr(d, name) for name in DESCRIPTORS}


def occmask_fourier(side, coverage, seed):
    shape = (FMIX_SAMPLES, side, side)
    return om.fourier(shape, coverage, rng=seed, temporal="independent", decay=FMIX_DECAY)


@pytest.mark.parametrize("coverage", FMIX_COVERAGES)
@pytest.mark.parametrize("side", FMIX_SIDES)
def test_fourier_matches_the_fmix_papers_model(side, coverage):
    ours = descriptors(occmask_fourier(side, coverage, seed=side * 10 + round(coverage * 10)))
    paper = descriptors(fmix_paper(FMIX_SAMPLES, side, FMIX_DECAY, coverage, np.random.default_rng(side)))
    for name in DESCRIPTORS:
        p = scipy.stats.ks_2samp(ours[name], paper[name]).pvalue
        assert p > ALPHA / FMIX_TESTS, f"{name} at {side}x{side}, coverage {coverage}: KS p = {p:.2g}"


def test_fmix_as_released_has_no_power_past_the_second_horizontal_frequency():
    side = 64
    rng = np.random.default_rng(1)
    freqs = np.sqrt(np.fft.fftfreq(side)[:, None] ** 2 + np.fft.fftfreq(side)[: side // 2 + 1] ** 2)
    scale = fmix_scale(freqs, FMIX_DECAY, side)[None, :, :, None]
    spectrum = scale * rng.standard_normal((1, *freqs.shape, 2))
    field = np.real(np.fft.irfftn(spectrum[:, 0] + 1j * spectrum[:, 1], (side, side), axes=(-2, -1)))[0]
    power = np.abs(np.fft.rfft2(field)) ** 2
    assert power[:, 2:].max() < 1e-20 * power.max()
    assert power[:, 1].max() > 0
    ours = np.abs(np.fft.rfft2(om.field("fourier", (side, side), rng=1, decay=FMIX_DECAY))) ** 2
    assert ours[:, 2:].sum() > 0.01 * ours.sum()


def test_the_ks_tests_detect_another_decay():
    """The tests above can reject: occmask's masks at decay 2.5 differ from the paper's at 3."""
    side, coverage = 64, 0.5
    ours = descriptors(
        om.fourier((FMIX_SAMPLES, side, side), coverage, rng=4, temporal="independent", decay=2.5)
    )
    paper = descriptors(fmix_paper(FMIX_SAMPLES, side, FMIX_DECAY, coverage, np.random.default_rng(5)))
    p = scipy.stats.ks_2samp(ours["boundary"], paper["boundary"]).pvalue
    assert p < ALPHA / FMIX_TESTS


def test_fmix_as_released_differs_from_the_papers_model():
    """With 1,500 masks a side, at 64 x 64 and coverage 0.5: the truncated spectrum gives shorter
    boundaries and smaller largest components (the difference is too small for 300 masks)."""
    side, coverage, n = 64, 0.5, 1500
    released = descriptors(fmix_released(n, side, FMIX_DECAY, coverage, np.random.default_rng(6)))
    paper = descriptors(fmix_paper(n, side, FMIX_DECAY, coverage, np.random.default_rng(7)))
    for name in ("boundary", "largest_component"):
        p = scipy.stats.ks_2samp(released[name], paper[name]).pvalue
        assert p < ALPHA / 2, (name, p)
        assert released[name].mean() < paper[name].mean(), (name, p)


# --- patches against MAE's random masking -------------------------------------------------


def mae_random_masking(n, n_patches, ratio, rng):
    """MAE's ``random_masking`` for ``n`` samples of ``n_patches`` tokens: uniform noise,
    ``argsort``, the first ``len_keep = int(L * (1 - ratio))`` kept, the others hidden. Returns
    the hidden tokens, (n, n_patches) bool."""
    len_keep = int(n_patches * (1 - ratio))
    ids_shuffle = np.argsort(rng.random((n, n_patches)), axis=1)
    hidden = np.ones((n, n_patches), bool)
    np.put_along_axis(hidden, ids_shuffle[:, :len_keep], False, axis=1)
    return hidden


def hidden_patches(n, grid, patch, k, seed):
    """occmask's patches on an aligned grid of ``grid`` (rows, columns) patches of ``patch`` pixels,
    ``k`` of them hidden, a new order per sample: the hidden patches, (n, rows * columns) bool."""
    rows, cols = grid
    shape = (n, rows * patch, cols * patch)
    coverage = k / (rows * cols)
    mask = om.patches(shape, coverage, rng=seed, temporal="independent", patch=patch, offset="aligned")
    tiles = mask.reshape(n, rows, patch, cols, patch)
    assert (tiles.all(axis=(2, 4)) == tiles.any(axis=(2, 4))).all(), "not whole patches"
    return tiles.all(axis=(2, 4)).reshape(n, -1)


#: A grid small enough to test the law of the whole subset: C(6, 2) = 15 subsets.
SMALL_GRID, SMALL_K, SMALL_N = (2, 3), 2, 6000


def subset_counts(hidden):
    """How many samples hide each of the C(P, k) subsets of patches (in lexicographic order)."""
    n_patches, k = hidden.shape[1], int(hidden[0].sum())
    index = {subset: i for i, subset in enumerate(itertools.combinations(range(n_patches), k))}
    counts = np.zeros(len(index), np.int64)
    for row in hidden:
        counts[index[tuple(np.flatnonzero(row))]] += 1
    return counts


def test_patches_hide_a_uniform_subset_of_k_patches_as_mae():
    ours = hidden_patches(SMALL_N, SMALL_GRID, 4, SMALL_K, seed=11)
    ratio = 1 - (math.prod(SMALL_GRID) - SMALL_K) / math.prod(SMALL_GRID)
    mae = mae_random_masking(SMALL_N, math.prod(SMALL_GRID), ratio, np.random.default_rng(12))
    assert (ours.sum(axis=1) == SMALL_K).all()
    assert (mae.sum(axis=1) == SMALL_K).all()
    counts = {"occmask": subset_counts(ours), "MAE": subset_counts(mae)}
    # each sample's subset is one of 15 equally likely categories: an exact multinomial law
    p_fit = {who: scipy.stats.chisquare(c).pvalue for who, c in counts.items()}
    p_same = scipy.stats.chi2_contingency(np.stack(list(counts.values()))).pvalue
    assert min(p_fit["occmask"], p_same) > ALPHA / 2, (p_fit, p_same)


def test_patches_in_maes_setting_hide_each_patch_and_pair_as_often_as_mae():
    """224 x 224, 16-pixel patches, 75% hidden: 147 of 196 patches. Per-patch frequencies by a
    chi-square test corrected for sampling without replacement within a sample (the statistic is
    ``(P - k) / (P - 1)`` times a chi-square of ``P - 1`` degrees of freedom); co-occurrence of
    neighbouring and distant pairs by exact binomial tests (each sample hides both patches of a pair
    with probability ``k (k - 1) / (P (P - 1))``)."""
    n, grid, k = 3000, (14, 14), 147
    p_all = math.prod(grid)
    ours = hidden_patches(n, grid, 16, k, seed=13)
    mae = mae_random_masking(n, p_all, 0.75, np.random.default_rng(14))
    assert (ours.sum(axis=1) == k).all()
    assert (mae.sum(axis=1) == k).all()
    pairs = [(0, 1), (0, 14), (0, 15), (90, 91), (90, 104), (90, 105), (0, 195), (20, 170)]
    both = k * (k - 1) / (p_all * (p_all - 1))
    tests = 1 + len(pairs)
    for who, hidden in (("occmask", ours), ("MAE", mae)):
        observed = hidden.sum(axis=0)
        expected = n * k / p_all
        statistic = ((observed - expected) ** 2 / expected).sum() * (p_all - 1) / (p_all - k)
        p = scipy.stats.chi2.sf(statistic, p_all - 1)
        assert p > ALPHA / tests, f"{who}: per-patch frequencies, p = {p:.2g}"
        for i, j in pairs:
            together = int((hidden[:, i] & hidden[:, j]).sum())
            p = scipy.stats.binomtest(together, n, both).pvalue
            assert p > ALPHA / tests, (
                f"{who}: patches {i} and {j} hidden together {together} times, p = {p:.2g}"
            )
