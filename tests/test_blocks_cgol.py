"""The cgol field made in blocks: the Life state runs on from block to block, the dead-soup warning
names the user's line once per mask, and the memory is the mask's plus a block's."""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest

import occmask as om
from occmask.families import _engine

PARAMS = [
    {},
    {"step": 3, "memory": 2, "decay": 2.5},
    {"burn_in": 0, "memory": 1, "decay": 0.0},
    {"density": 0.95},  # dies out: the tie-break field alone
]


@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize("temporal", ["evolving", "independent"])
@pytest.mark.parametrize("need", [None, 1, 150, 600])
def test_blocks_of_every_size_join_into_the_field(params, temporal, need):
    family = om.FAMILIES["cgol"]
    checked = family.params(params)
    shape = (5, 20, 31)
    rng = np.random.default_rng(11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        whole = family.field(shape, rng, temporal, need, **checked)
        after = rng.random(3)  # the generator is left where the field leaves it
        for frames in range(1, 7):
            rng = np.random.default_rng(11)
            blocks = [block.copy() for block in family.blocks(shape, rng, temporal, need, frames, **checked)]
            assert [len(block) for block in blocks] == [min(frames, 5 - t) for t in range(0, 5, frames)]
            np.testing.assert_array_equal(np.concatenate(blocks), whole)
            np.testing.assert_array_equal(rng.random(3), after)


def _dead_soup_warnings(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [w for w in caught if "died out" in str(w.message)]


@pytest.mark.parametrize("blocks", [False, True])
@pytest.mark.parametrize("temporal", ["evolving", "independent"])
def test_a_dead_soup_warns_once_at_the_users_line(monkeypatch, blocks, temporal):
    if blocks:
        monkeypatch.setattr(_engine, "_BLOCKS_ABOVE", 0)
        monkeypatch.setattr(_engine, "_BLOCK_PIXELS", 2 * 24 * 24)  # blocks of 2 frames
    calls = [
        lambda: om.generate("cgol", (5, 24, 24), 0.3, rng=0, temporal=temporal, density=0.95),
        lambda: om.cgol((5, 24, 24), 0.3, rng=0, temporal=temporal, density=0.95),
    ]
    for call in calls:
        (warning,) = _dead_soup_warnings(call)
        assert warning.category is RuntimeWarning
        assert warning.filename == __file__
        assert "died out in 5 of 5 frame(s) (density=0.95, burn_in=24, canvas 24x24)" in str(warning.message)


@pytest.mark.parametrize("temporal", ["evolving", "independent"])
def test_a_video_cut_in_blocks_holds_the_mask_and_one_block(monkeypatch, temporal):
    """A 4 MiB mask; a block of one frame adds its field, tie-break and distance rows (1, 1 and
    2 MiB), the Life state (1.25 MiB) and the soups (1 bit a pixel), not the 16 MiB field."""
    monkeypatch.setattr(_engine, "_BLOCKS_ABOVE", 0)
    monkeypatch.setattr(_engine, "_BLOCK_PIXELS", 1 << 18)  # one 512x512 frame a block
    shape = (16, 512, 512)
    om.generate("cgol", (2, 16, 16), 0.5, rng=0, temporal=temporal)  # compiled outside the measure
    tracemalloc.start()
    try:
        mask = om.generate("cgol", shape, 0.5, rng=0, temporal=temporal)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * mask.nbytes
    monkeypatch.setattr(_engine, "_BLOCKS_ABOVE", 1 << 30)  # the whole field
    np.testing.assert_array_equal(mask, om.generate("cgol", shape, 0.5, rng=0, temporal=temporal))


@pytest.mark.parametrize("shape", [(3, 1, 1), (4, 5, 7), (3, 6, 6)])
def test_independent_soups_of_an_odd_area_join_block_by_block(shape):
    """numpy draws 16-bit numbers two per 32-bit draw within one call: each soup draws an even count,
    so soups drawn a frame at a time are the soups drawn all at once, also for an odd H * W."""
    family = om.FAMILIES["cgol"]
    params = family.params({"burn_in": 0})
    whole = family.field(shape, np.random.default_rng(5), "independent", None, **params)
    blocks = family.blocks(shape, np.random.default_rng(5), "independent", None, 1, **params)
    np.testing.assert_array_equal(np.concatenate([block.copy() for block in blocks]), whole)
