"""Fields of dropped shapes (triangles, rectangles) made in blocks: the batches of shapes a block
draws are kept for the blocks that follow, so any block size gives the same field and the same
generator stream."""

from __future__ import annotations

import itertools
import tracemalloc

import numpy as np
import pytest

import occmask as om
from occmask import _torus

SHAPE = (7, 12, 10)
SMALL = {"triangles": {"size": (2.0, 4.0)}, "rectangles": {"size": (1.0, 6.0)}}  # many to a frame


def _state(rng):
    return rng.bit_generator.state["state"]


def _joined(name, shape, temporal, need, frames, params):
    """The blocks joined, the generator's state before the first block and after each, and three
    numbers drawn after the last."""
    family = om.FAMILIES[name]
    rng = np.random.default_rng(3)
    blocks, states = [], [_state(rng)]
    for block in family.blocks(shape, rng, temporal, need, frames, **family.params(params)):
        assert block.dtype == np.float32
        assert len(block) == min(frames, shape[0] - len(blocks) * frames)
        blocks.append(block.copy())
        states.append(_state(rng))
    return np.concatenate(blocks), states, rng.random(3)


@pytest.mark.parametrize("name", ["triangles", "rectangles"])
@pytest.mark.parametrize("temporal", ["evolving", "independent"])
@pytest.mark.parametrize("need", [None, 0, 30, 60, 119, 120])
def test_every_block_size_gives_the_field_and_the_stream(monkeypatch, name, temporal, need):
    """Batches of 3 small shapes: frames need different numbers of batches, so a block may need
    fewer than the video; the joined blocks are the field, and the generator ends where it does
    after the field."""
    monkeypatch.setattr(_torus, "_MAX_BATCH", 3)
    family = om.FAMILIES[name]
    rng = np.random.default_rng(3)
    whole = family.field(SHAPE, rng, temporal, need, **family.params(SMALL[name]))
    after = rng.random(3)
    for frames in range(1, SHAPE[0] + 2):
        joined, _, then = _joined(name, SHAPE, temporal, need, frames, SMALL[name])
        np.testing.assert_array_equal(joined, whole)
        np.testing.assert_array_equal(then, after)


@pytest.mark.parametrize("temporal", ["evolving", "independent"])
def test_a_block_draws_the_batches_its_frames_need(monkeypatch, temporal):
    """Frame by frame, a block draws batches only when its frame needs more than the earlier ones."""
    monkeypatch.setattr(_torus, "_MAX_BATCH", 3)
    _, states, _ = _joined("triangles", SHAPE, temporal, None, 1, SMALL["triangles"])
    drew = [before != after for before, after in itertools.pairwise(states)]
    assert drew[0]
    assert True in drew[1:]
    assert False in drew[1:]


@pytest.mark.parametrize("name", ["triangles", "rectangles"])
def test_a_static_field_is_one_block(name):
    family = om.FAMILIES[name]
    whole = family.field((1, 20, 30), np.random.default_rng(3), "static", 300, **family.params({}))
    joined, states, _ = _joined(name, (1, 20, 30), "static", 300, 4, {})
    assert len(states) == 2
    np.testing.assert_array_equal(joined, whole)


@pytest.mark.parametrize("name", ["triangles", "rectangles"])
def test_blocks_hold_one_block_of_pixels(name):
    """Frame by frame, the memory held is about a frame's, not the video's (8 float32 frames)."""
    family = om.FAMILIES[name]
    shape, need = (8, 256, 256), 256 * 128
    family.field((2, 64, 64), np.random.default_rng(0), "independent", 100, **family.params({}))  # compile
    tracemalloc.start()
    try:
        for _ in family.blocks(shape, np.random.default_rng(0), "independent", need, 1, **family.params({})):
            pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * shape[1] * shape[2] * 4  # half the video's field
