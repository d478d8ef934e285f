"""Fields made a few frames at a time (``Family.blocks``): the same field, the same masks, less memory."""

from __future__ import annotations

import numpy as np
import pytest

import occmask as om
from occmask.families import _family
from occmask.testing import check_blocks

BLOCKED = [name for name, family in om.FAMILIES.items() if family.blocks is not None]


def test_every_builtin_family_makes_its_field_in_blocks():
    assert BLOCKED == list(om.FAMILIES)


@pytest.mark.parametrize("name", BLOCKED)
def test_blocks_join_into_the_whole_field(name):
    check_blocks(name, max_examples=12)


@pytest.mark.parametrize("name", BLOCKED)
@pytest.mark.parametrize("temporal", ["evolving", "independent"])
def test_blocks_have_the_frames_asked_for(name, temporal):
    """Every block but the last has the frames asked for (fourier's evolving field is one 3-D
    spectrum: one block)."""
    family = om.FAMILIES[name]
    blocks = family.blocks((7, 16, 12), np.random.default_rng(0), temporal, None, 3, **family.params({}))
    sizes = [block.shape for block in blocks]
    whole = name == "fourier" and temporal == "evolving"
    assert sizes == ([(7, 16, 12)] if whole else [(3, 16, 12), (3, 16, 12), (1, 16, 12)])


@pytest.mark.parametrize("name", BLOCKED)
@pytest.mark.parametrize("match", ["frame", "expected"])
def test_masks_cut_in_blocks_equal_the_masks_cut_whole(monkeypatch, name, match):
    """generate() cuts large fields block by block; the mask is the one cut from the whole field,
    for a canvas, a region per video and a region per frame, into a new array or ``out``."""
    shape = (5, 24, 20)
    disc = np.hypot(*np.mgrid[-12:12, -10:10]) < 8
    regions = [None, disc, np.stack([np.roll(disc, t, axis=1) for t in range(5)])]
    whole = [om.generate(name, shape, 0.35, rng=7, match=match, region=r) for r in regions]
    image = om.generate(name, shape[1:], 0.35, rng=7, match=match)
    monkeypatch.setattr(_family, "_BLOCKS_ABOVE", 0)
    monkeypatch.setattr(_family, "_BLOCK_PIXELS", 2 * 24 * 20)  # blocks of 2 frames
    for region, expected in zip(regions, whole, strict=True):
        blocked = om.generate(name, shape, 0.35, rng=7, match=match, region=region)
        np.testing.assert_array_equal(blocked, expected)
    np.testing.assert_array_equal(om.generate(name, shape[1:], 0.35, rng=7, match=match), image)
    family = om.FAMILIES[name]
    out = np.zeros(shape, bool)
    rng = np.random.default_rng(7)
    made = _family._generate(family, shape, False, 0.35, match, "evolving", family.params({}), None, rng, out)
    assert made is out
    np.testing.assert_array_equal(out, whole[0])


def test_video_match_and_static_masks_are_cut_whole(monkeypatch):
    """A cut over the whole video needs every value, and a static mask has one frame: no blocks."""
    asked = []
    family = om.FAMILIES["perlin"]

    def blocks(*args, **kwargs):
        asked.append(args)
        yield from family.blocks(*args, **kwargs)

    spy = _family.Family("perlin", "", family.field, family.defaults, family.check, blocks=blocks)
    monkeypatch.setitem(_family._REGISTRY, "perlin", spy)
    monkeypatch.setattr(_family, "_BLOCKS_ABOVE", 0)
    om.generate("perlin", (4, 16, 16), 0.3, rng=0, match="video")
    om.generate("perlin", (4, 16, 16), 0.3, rng=0, temporal="static")
    assert asked == []
    om.generate("perlin", (4, 16, 16), 0.3, rng=0)
    assert len(asked) == 1


def _stripes_blocks(shape, rng, temporal, need, frames, bad=None):
    for start in range(0, shape[0], frames):
        n = min(frames, shape[0] - start)
        block = rng.random((n, *shape[1:]), dtype=np.float32)
        if bad == "nan":
            block[0, 0, 0] = np.nan
        yield block.astype(np.float64) if bad == "dtype" else block[:, :-1] if bad == "shape" else block
        if bad == "short":
            return


@pytest.mark.parametrize(
    ("bad", "error", "words"),
    [
        ("dtype", TypeError, "float32 ndarrays of (n, 8, 8)"),
        ("shape", TypeError, "float32 ndarrays of (n, 8, 8)"),
        ("nan", ValueError, "NaN or -inf"),
        ("short", ValueError, "gave 2 frames, not 6"),
    ],
)
def test_blocks_that_break_the_contract_are_refused(monkeypatch, bad, error, words):
    family = om.Family(
        "blocks_test",
        "i.i.d.",
        om.whole_field(_stripes_blocks),
        defaults={"bad": None},
        blocks=_stripes_blocks,
    )
    monkeypatch.setitem(_family._REGISTRY, "blocks_test", family)
    monkeypatch.setattr(_family, "_BLOCKS_ABOVE", 0)
    monkeypatch.setattr(_family, "_BLOCK_PIXELS", 2 * 8 * 8)
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        om.generate("blocks_test", (6, 8, 8), 0.5, rng=0, bad=bad)
    assert om.generate("blocks_test", (6, 8, 8), 0.5, rng=0).sum() == 6 * 32


def test_a_users_family_with_blocks_gives_the_mask_of_its_field(monkeypatch):
    family = om.Family("blocks_user", "i.i.d.", om.whole_field(_stripes_blocks), defaults={"bad": None})
    monkeypatch.setitem(_family._REGISTRY, "blocks_user", family)
    whole = om.generate("blocks_user", (6, 8, 8), 0.5, rng=3)
    blocked = _family.Family("blocks_user", "i.i.d.", family.field, {"bad": None}, blocks=_stripes_blocks)
    monkeypatch.setitem(_family._REGISTRY, "blocks_user", blocked)
    monkeypatch.setattr(_family, "_BLOCKS_ABOVE", 0)
    monkeypatch.setattr(_family, "_BLOCK_PIXELS", 2 * 8 * 8)
    np.testing.assert_array_equal(om.generate("blocks_user", (6, 8, 8), 0.5, rng=3), whole)


@pytest.mark.parametrize("name", BLOCKED)
def test_the_expected_calibration_reads_blocks_as_it_reads_fields(monkeypatch, name):
    """``match="expected"`` samples every stride-th value of its reference fields; read block by
    block (2 frames each, not a whole number of strides), they are the same values, so the same
    quantile curve."""
    params = tuple(sorted(om.FAMILIES[name].params({}).items()))
    _family._curve.cache_clear()
    whole = _family._curve(name, (5, 23, 21), "evolving", params)
    _family._curve.cache_clear()
    monkeypatch.setattr(_family, "_BLOCKS_ABOVE", 0)
    monkeypatch.setattr(_family, "_BLOCK_PIXELS", 2 * 23 * 21)  # blocks of 966 values: not whole strides
    np.testing.assert_array_equal(_family._curve(name, (5, 23, 21), "evolving", params), whole)
    _family._curve.cache_clear()
