"""match="expected": the calibration costs a bounded number of reference pixels and its peak
memory stays a few times the mask's size, whatever the shape."""

import dataclasses
import math
import tracemalloc

import pytest

import occmask as om
from occmask.families import _engine


def test_expected_calibration_draws_fields_one_at_a_time(monkeypatch):
    """About a million reference pixels and at least 8 fields of the calibration shape, drawn
    before the mask's own field."""
    drawn = []

    def counting(fam):
        def field(shape, rng, temporal, need, **params):
            drawn.append(math.prod(shape))
            return fam.field(shape, rng, temporal, need, **params)

        return dataclasses.replace(fam, field=field)

    monkeypatch.setattr(_engine, "FAMILIES", {k: counting(f) for k, f in om.FAMILIES.items()})
    budget = _engine.CALIBRATION.pixels
    for shape, temporal in [((6, 512, 512), "evolving"), ((40, 96, 96), "independent"), ((96, 80), "static")]:
        for name in om.FAMILIES:
            _engine._curve.cache_clear()
            drawn.clear()
            om.generate(name, shape, 0.3, rng=0, temporal=temporal, match="expected")
            frames = shape[0] if temporal == "evolving" else 1
            reference = frames * shape[-2] * shape[-1]  # pixels of one reference field
            output = drawn.pop()  # the mask's own field comes last
            assert set(drawn) == {reference}, (name, shape, drawn)
            assert len(drawn) >= 8, (name, shape, drawn)
            assert sum(drawn) <= max(1.5 * budget, 8 * reference), (name, shape, drawn)
            assert output == (1 if temporal == "static" else shape[0]) * shape[-2] * shape[-1]


def traced_peak(call):
    tracemalloc.start()
    try:
        result = call()
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


@pytest.fixture
def field_only(request):
    """The family, and a copy of it without its mask shortcut (made through its field, as
    ``match="expected"`` is), registered for the test."""
    fam = om.FAMILIES[request.param]
    if fam.mask is None:
        yield request.param, request.param
        return
    copy = om.register_family(dataclasses.replace(fam, name=f"{fam.name}_field_only", mask=None))
    try:
        om.generate(copy.name, (2, 64, 64), 0.4, rng=0)  # its first-use checks outside the measurement
        yield request.param, copy.name
    finally:
        om.unregister_family(copy.name)


@pytest.mark.parametrize("field_only", list(om.FAMILIES), indirect=True)
def test_expected_peak_memory_is_that_of_the_generation(field_only):
    """The calibration's reference fields and values never add to the peak of a generation
    through the field (it used to keep every reference field: 100 times the mask's size and
    more)."""
    family, through_field = field_only
    shape = (6, 512, 512)
    om.generate(family, (2, 64, 64), 0.4, rng=0, match="expected")  # compile outside the measurement
    _engine._curve.cache_clear()
    frame, _ = traced_peak(lambda: om.generate(through_field, shape, 0.4, rng=0))
    expected, mask = traced_peak(lambda: om.generate(family, shape, 0.4, rng=0, match="expected"))
    assert expected <= 1.25 * frame + mask.nbytes, (
        f"{expected / mask.nbytes:.1f} times the output, against {frame / mask.nbytes:.1f} with match='frame'"
    )
