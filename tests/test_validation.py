"""Bad input is refused with a clear error, before any kernel runs."""

import dataclasses
import importlib

import numpy as np
import pytest

import occmask as om
from occmask import _cut, _validate, calibrate
from occmask.families import _family

describe_module = importlib.import_module("occmask.describe")


@pytest.fixture(autouse=True)
def kernels_must_not_run(monkeypatch):
    """Replace every field and labelling kernel with one that fails the test if called."""

    def boom(*args, **kwargs):
        raise AssertionError("a kernel ran before the input was validated")

    monkeypatch.setattr(  # the registry that generate reads
        _family, "FAMILIES", {k: dataclasses.replace(f, field=boom) for k, f in _family.FAMILIES.items()}
    )
    monkeypatch.setattr(_cut, "cut_rows", boom)
    monkeypatch.setattr(describe_module, "_label", boom)


MASK = np.zeros((2, 4, 4), bool)
READ_ONLY = np.zeros((2, 4, 4))
READ_ONLY.flags.writeable = False
NAN_FIELD = np.array([[0.1, np.nan], [0.3, 0.7]], np.float32)
CURVE = np.linspace(0.0, 1.0, 5)

CASES = [
    # (call, error, words that the message must contain)
    (lambda: om.generate("perlin", (8, 8), 1.5), ValueError, ["coverage", "1.5", "[0, 1]"]),
    (lambda: om.generate("perlin", (8, 8), -0.1), ValueError, ["coverage", "-0.1"]),
    (lambda: om.generate("perlin", (8, 8), float("nan")), ValueError, ["coverage", "nan"]),
    (lambda: om.generate("perlin", (8, 8), "half"), TypeError, ["coverage", "'half'"]),
    (lambda: om.generate("perlin", (8, 8), True), TypeError, ["coverage", "True"]),
    (lambda: om.generate("perlin", (8.0, 8), 0.5), TypeError, ["shape", "8.0"]),
    (lambda: om.generate("perlin", (0, 8), 0.5), ValueError, ["shape", "positive", "(0, 8)"]),
    (lambda: om.generate("perlin", (-3, 8, 8), 0.5), ValueError, ["shape", "(-3, 8, 8)"]),
    (lambda: om.generate("perlin", (8,), 0.5), ValueError, ["shape", "dimensions", "(8,)"]),
    (lambda: om.generate("perlin", (2, 2, 8, 8), 0.5), ValueError, ["shape", "dimensions"]),
    (lambda: om.generate("perlin", 64, 0.5), TypeError, ["shape", "64"]),
    (lambda: om.generate("voronoi", (8, 8), 0.5), ValueError, ["family", "'voronoi'", "perlin"]),
    (lambda: om.generate("perlin", (8, 8), 0.5, sigma=2), TypeError, ["sigma", "perlin", "scale"]),
    (lambda: om.generate("perlin", (8, 8), 0.5, match="pixel"), ValueError, ["match", "'pixel'", "frame"]),
    (lambda: om.generate("perlin", (8, 8), 0.5, temporal="frozen"), ValueError, ["temporal", "'frozen'"]),
    (lambda: om.generate("perlin", (8, 8), 0.5, rng=-1), ValueError, ["rng", "-1"]),
    (lambda: om.generate("perlin", (8, 8), 0.5, rng=1.5), TypeError, ["rng", "1.5"]),
    (lambda: om.generate("perlin", (8, 8), 0.5, rng="seed"), TypeError, ["rng", "'seed'"]),
    (lambda: om.perlin((8, 8), 0.5, scale=0), ValueError, ["scale", "0"]),
    (lambda: om.perlin((8, 8), 0.5, octaves=2.5), TypeError, ["octaves", "2.5"]),
    (lambda: om.perlin((8, 8), 0.5, octaves=0), ValueError, ["octaves", "0"]),
    (lambda: om.perlin((8, 8), 0.5, persistence=1.5), ValueError, ["persistence", "1.5"]),
    (lambda: om.perlin((8, 8), 0.5, time_scale=-1), ValueError, ["time_scale", "-1"]),
    (lambda: om.perlin((8, 8), 0.5, basis="value"), ValueError, ["basis", "'value'", "simplex"]),
    (lambda: om.perlin((8, 8), 0.5, periodic="yes"), TypeError, ["periodic", "'yes'"]),
    (lambda: om.perlin((8, 8), 0.5, periodic=True, basis="simplex"), ValueError, ["periodic", "simplex"]),
    (lambda: om.cgol((8, 8), 0.5, density=1.0), ValueError, ["density", "1"]),
    (lambda: om.cgol((8, 8), 0.5, burn_in=-1), ValueError, ["burn_in", "-1"]),
    (lambda: om.cgol((8, 8), 0.5, step=0), ValueError, ["step", "0"]),
    (lambda: om.cgol((8, 8), 0.5, memory=0), ValueError, ["memory", "0"]),
    (lambda: om.cgol((8, 8), 0.5, decay=-0.5), ValueError, ["decay", "-0.5"]),
    (lambda: om.triangles((8, 8), 0.5, size=(10, 5)), ValueError, ["size", "(10, 5)"]),
    (lambda: om.triangles((8, 8), 0.5, size=0.5), ValueError, ["size", "0.5"]),
    (lambda: om.triangles((8, 8), 0.5, size=(1, 2, 3)), ValueError, ["size", "(1, 2, 3)"]),
    (lambda: om.triangles((8, 8), 0.5, aspect=0.5), ValueError, ["aspect", "0.5"]),
    (lambda: om.triangles((8, 8), 0.5, speed=-1), ValueError, ["speed", "-1"]),
    (lambda: om.triangles((8, 8), 0.5, spin=float("inf")), ValueError, ["spin", "inf"]),
    # parameters that made the geometry degenerate (ties broken in raster order) or the call endless
    (lambda: om.triangles((8, 8), 0.5, aspect=1e6), ValueError, ["aspect", "1000000.0", "at most", "8"]),
    (lambda: om.triangles((8, 8), 0.5, aspect=1e12), ValueError, ["aspect", "size"]),
    (lambda: om.triangles((8, 8), 0.5, size=(2, 4), aspect=3), ValueError, ["aspect", "2", "(3.0, 3.0)"]),
    (lambda: om.triangles((8, 8), 0.5, size=1e300), ValueError, ["size", "1e+300", "10000"]),
    (lambda: om.perlin((8, 8), 0.5, scale=1e12), ValueError, ["scale", "1000000000000.0", "[0.5, 100000]"]),
    (lambda: om.perlin((8, 8), 0.5, scale=1e-308), ValueError, ["scale", "1e-308", "[0.5, 100000]"]),
    (lambda: om.perlin((8, 8), 0.5, time_scale=1e-308), ValueError, ["time_scale", "1e-308", "[0.5, 1e+06]"]),
    (lambda: om.cgol((8, 8), 0.5, decay=1e200), ValueError, ["decay", "1e+200", "[0, 10000]"]),
    (lambda: om.rectangles((8, 8), 0.5, size=0.5), ValueError, ["size", "0.5"]),
    (lambda: om.rectangles((8, 8), 0.5, aspect=(0.001, 2)), ValueError, ["aspect[0]", "0.001"]),
    (lambda: om.rectangles((8, 8), 0.5, speed=-1), ValueError, ["speed", "-1"]),
    (lambda: om.fourier((8, 8), 0.5, decay=-1), ValueError, ["decay", "-1"]),
    (lambda: om.fourier((8, 8), 0.5, decay="3"), TypeError, ["decay", "'3'"]),
    (lambda: om.fourier((8, 8), 0.5, time_scale=0), ValueError, ["time_scale", "0"]),
    (lambda: om.patches((8, 8), 0.5, patch=0), ValueError, ["patch", "0"]),
    (lambda: om.patches((8, 8), 0.5, patch=(4, 4, 4)), ValueError, ["patch", "(4, 4, 4)"]),
    (lambda: om.patches((8, 8), 0.5, patch=4.0), TypeError, ["patch", "4.0"]),
    (lambda: om.patches((8, 8), 0.5, offset="centre"), ValueError, ["offset", "'centre'", "aligned"]),
    (lambda: om.patches((8, 8), 0.5, time_scale=-2), ValueError, ["time_scale", "-2"]),
    (lambda: om.describe(MASK, connectivity=6), ValueError, ["connectivity", "6", "4 or 8"]),
    (lambda: om.describe(MASK, connectivity=True), ValueError, ["connectivity", "True"]),
    (lambda: om.describe(MASK.astype(np.uint8)), TypeError, ["mask", "uint8"]),
    (lambda: om.describe(MASK.tolist()), TypeError, ["mask", "list"]),
    (lambda: om.describe(np.zeros(4, bool)), ValueError, ["mask", "(4,)"]),
    (lambda: om.label(np.zeros((1, 1, 2, 2), bool)), ValueError, ["mask", "(1, 1, 2, 2)"]),
    (lambda: om.occlude(np.zeros((3, 5, 5)), MASK), ValueError, ["mask", "(2, 4, 4)", "(3, 5, 5)"]),
    (lambda: om.occlude(np.zeros((2, 4, 4)), MASK.astype(float)), TypeError, ["mask", "float64"]),
    # 0-d arrays are numbers; big integers, read-only outputs, NaN fields and empty masks are named
    (lambda: om.triangles((8, 8), 0.5, size=np.array(0.5)), ValueError, ["size", "0.5", "[1, 10000]"]),
    (lambda: om.generate("perlin", (8, 8), np.array(1.5)), ValueError, ["coverage", "1.5", "[0, 1]"]),
    (lambda: om.perlin((8, 8), 0.5, octaves=np.array(9)), ValueError, ["octaves", "9"]),
    (
        lambda: om.occlude(np.zeros((2, 4, 4), np.uint8), MASK, fill=10**30),
        ValueError,
        ["fill", "1" + "0" * 30, "uint8"],
    ),
    (
        lambda: om.occlude(np.zeros((2, 4, 4), np.float32), MASK, fill=10**400),
        ValueError,
        ["fill", "float32"],
    ),
    (
        lambda: om.occlude(np.zeros((2, 4, 4)), MASK, out=READ_ONLY),
        ValueError,
        ["out", "writable", "read-only"],
    ),
    (lambda: calibrate.cut(NAN_FIELD, 0.5, match="expected", reference=CURVE), ValueError, ["field", "NaN"]),
    (lambda: om.describe(np.zeros((2, 0, 4), bool)), ValueError, ["mask", "positive", "(2, 0, 4)"]),
    (lambda: om.describe(np.zeros((0, 4), bool)), ValueError, ["mask", "positive", "(0, 4)"]),
    (lambda: om.label(np.zeros((0, 4, 4), bool)), ValueError, ["mask", "positive", "(0, 4, 4)"]),
]


@pytest.mark.parametrize(("call", "error", "words"), CASES)
def test_bad_input_is_named(call, error, words):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} missing from the message: {message}"


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: _validate.number("x", float("inf")), ValueError),
        (lambda: _validate.number("x", float("-inf")), ValueError),
        (lambda: _validate.number("x", float("nan")), ValueError),
        (lambda: _validate.number("x", 1.0, high=1.0, high_open=True), ValueError),
        (lambda: _validate.number("x", 0.0, low=0.0, low_open=True), ValueError),
        (lambda: _validate.number("x", 1.5, high=1.0), ValueError),
        (lambda: _validate.integer("x", 2**64, high=2**64 - 1), ValueError),
        (lambda: _validate.integer("x", -1, low=0), ValueError),
        (lambda: _validate.integer("x", True), TypeError),
    ],
)
def test_the_checks_short_cuts_refuse_what_the_full_checks_refuse(call, error):
    """Plain floats and ints take a short path through the checks: the same values fail on it."""
    with pytest.raises(error, match="x must"):
        call()


def test_the_checks_short_cuts_return_the_value():
    assert _validate.number("x", 0.25, low=0.0, high=1.0) == 0.25
    assert _validate.number("x", 0.0, low=0.0, high=1.0) == 0.0
    assert _validate.integer("x", 2**64 - 1, low=0, high=2**64 - 1) == 2**64 - 1
