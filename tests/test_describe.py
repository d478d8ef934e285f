"""Labelling and descriptors against scipy.ndimage."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import ndimage

import occmask as om

STRUCTURE = {4: ndimage.generate_binary_structure(2, 1), 8: ndimage.generate_binary_structure(2, 2)}


def scipy_labels(mask, connectivity):
    return np.stack([ndimage.label(frame, STRUCTURE[connectivity])[0] for frame in mask])


def scipy_labels_3d(mask, connectivity):
    """scipy's labels of the video as a volume: the plane's neighbours and the same pixel in
    the adjacent frames."""
    structure = np.zeros((3, 3, 3), bool)
    structure[1] = STRUCTURE[connectivity]
    structure[0, 1, 1] = structure[2, 1, 1] = True
    return ndimage.label(mask, structure)


masks = hnp.arrays(np.bool_, hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=20))
#: Rows of more than one 64-pixel word (runs and contacts across words), widths next to the
#: word boundaries favoured.
widths = st.sampled_from([63, 64, 65, 127, 128, 129, 191]) | st.integers(1, 200)
wide_masks = st.tuples(st.integers(1, 3), st.integers(1, 6), widths).flatmap(
    lambda shape: hnp.arrays(np.bool_, shape)
)


@settings(max_examples=150, deadline=None)
@given(mask=masks, connectivity=st.sampled_from([4, 8]))
def test_labels_equal_scipy_on_random_masks(mask, connectivity):
    labels, counts = om.label(mask, connectivity)
    expected = scipy_labels(mask, connectivity)
    np.testing.assert_array_equal(labels, expected)  # same numbering: raster order of first pixel
    np.testing.assert_array_equal(counts, expected.reshape(len(mask), -1).max(axis=1))


@pytest.mark.parametrize("family", sorted(om.FAMILIES))
@pytest.mark.parametrize("connectivity", [4, 8])
@pytest.mark.parametrize("coverage", [0.2, 0.5, 0.8])
def test_labels_equal_scipy_on_family_masks(family, connectivity, coverage):
    mask = om.generate(family, (4, 64, 48), coverage, rng=1)
    np.testing.assert_array_equal(om.label(mask, connectivity)[0], scipy_labels(mask, connectivity))


@settings(max_examples=80, deadline=None)
@given(mask=masks, connectivity=st.sampled_from([4, 8]))
def test_spatiotemporal_labels_equal_scipy_3d(mask, connectivity):
    expected, n = scipy_labels_3d(mask, connectivity)
    labels, count = om.label(mask, connectivity, spatiotemporal=True)
    np.testing.assert_array_equal(labels, expected)
    assert count == n


@settings(max_examples=100, deadline=None)
@given(mask=wide_masks, connectivity=st.sampled_from([4, 8]))
def test_labels_and_descriptors_equal_scipy_on_wide_masks(mask, connectivity):
    np.testing.assert_array_equal(om.label(mask, connectivity)[0], scipy_labels(mask, connectivity))
    expected = scipy_labels_3d(mask, connectivity)[0]
    np.testing.assert_array_equal(om.label(mask, connectivity, spatiotemporal=True)[0], expected)
    check_descriptors(mask, connectivity)


def test_image_label_returns_an_int():
    labels, count = om.label(np.eye(4, dtype=bool), 8)
    assert count == 1
    assert labels.shape == (4, 4)
    assert om.label(np.eye(4, dtype=bool), 4)[1] == 4


@settings(max_examples=80, deadline=None)
@given(mask=masks, connectivity=st.sampled_from([4, 8]))
def test_descriptors_equal_reference(mask, connectivity):
    check_descriptors(mask, connectivity)


@pytest.mark.parametrize("family", sorted(om.FAMILIES))
@pytest.mark.parametrize("connectivity", [4, 8])
def test_descriptors_equal_reference_on_family_masks(family, connectivity):
    check_descriptors(om.generate(family, (3, 40, 56), 0.45, rng=2), connectivity)


def check_descriptors(mask, connectivity):
    """Every descriptor against scipy's labels and a count of unequal neighbours."""
    d = om.describe(mask, connectivity, spatiotemporal=True)
    n_h, n_w = mask.shape[1:]
    for t, frame in enumerate(mask):
        labels, n = ndimage.label(frame, STRUCTURE[connectivity])
        sizes = np.bincount(labels.ravel())[1:]
        assert d.coverage[t] == frame.mean()
        assert d.n_components[t] == n
        assert d.largest_component[t] == (sizes.max() if n else 0)
        assert d.largest_fraction[t] == d.largest_component[t] / (n_h * n_w)
        edges = sum(a != b for a, b in zip(frame[1:].ravel(), frame[:-1].ravel(), strict=True))
        edges += sum(a != b for a, b in zip(frame[:, 1:].ravel(), frame[:, :-1].ravel(), strict=True))
        assert d.boundary[t] == edges
    labels3, n3 = scipy_labels_3d(mask, connectivity)
    assert d.n_components_3d == n3
    assert d.largest_component_3d == (np.bincount(labels3.ravel())[1:].max() if n3 else 0)


def test_summary_and_image_input():
    mask = np.zeros((10, 10), bool)
    mask[2:4, 2:4] = True
    mask[7, 7] = True
    d = om.describe(mask)
    assert d.coverage.tolist() == [0.05]
    assert d.n_components.tolist() == [2]
    assert d.largest_component.tolist() == [4]
    assert d.boundary.tolist() == [8 + 4]
    summary = d.summary()
    assert summary["n_components"] == 2.0
    assert "n_components_3d" not in summary
    assert om.describe(mask[None], spatiotemporal=True).summary()["n_components_3d"] == 2.0


def test_empty_and_full_masks():
    empty = om.describe(np.zeros((2, 5, 5), bool))
    assert empty.n_components.tolist() == [0, 0]
    assert empty.largest_component.tolist() == [0, 0]
    full = om.describe(np.ones((2, 5, 5), bool))
    assert full.n_components.tolist() == [1, 1]
    assert full.largest_fraction.tolist() == [1.0, 1.0]
    assert full.boundary.tolist() == [0, 0]
