"""match="expected": the calibration costs a bounded number of reference pixels and its peak
memory stays a few times the mask's size, whatever the shape."""

import dataclasses
import math
import tracemalloc

import pytest

import occmask as om
from occmask.families import _family


def test_expected_calibration_draws_a_bounded_number_of_pixels(monkeypatch):
    """About a million reference pixels, or one field of the calibration shape when that is larger
    (it used to draw at least 8 fields of the video's shape)."""
    drawn = []

    def counting(fam):
        def field(shape, rng, temporal, need, **params):
            drawn.append(math.prod(shape))
            return fam.field(shape, rng, temporal, need, **params)

        return dataclasses.replace(fam, field=field)

    monkeypatch.setattr(_family, "FAMILIES", {k: counting(f) for k, f in om.FAMILIES.items()})
    budget = _family._CALIBRATION_PIXELS
    for shape, temporal in [((6, 512, 512), "evolving"), ((40, 96, 96), "independent"), ((96, 80), "static")]:
        for name in om.FAMILIES:
            _family._curve.cache_clear()
            drawn.clear()
            om.generate(name, shape, 0.3, rng=0, temporal=temporal, match="expected")
            frames = shape[0] if temporal == "evolving" else 1
            reference = frames * shape[-2] * shape[-1]  # pixels of one reference field
            output = drawn.pop()  # the mask's own field comes last
            assert sum(drawn) <= max(1.5 * budget, reference), (name, shape, drawn)
            assert output == (1 if temporal == "static" else shape[0]) * shape[-2] * shape[-1]


@pytest.mark.parametrize("family", list(om.FAMILIES))
def test_expected_peak_memory_is_a_few_times_the_output(family):
    _family._curve.cache_clear()
    om.generate(family, (2, 64, 64), 0.4, rng=0, match="expected")  # compile outside the measurement
    _family._curve.cache_clear()
    tracemalloc.start()
    try:
        mask = om.generate(family, (6, 512, 512), 0.4, rng=0, match="expected")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 10 * mask.nbytes, f"{peak / mask.nbytes:.1f} times the output"
