"""Fields made a few frames at a time (``Family.blocks``): the same field, the same masks, less memory."""

from __future__ import annotations

import numpy as np
import pytest

import occmask as om
from occmask import _cut
from occmask._two_pass import cut_in_two_passes
from occmask.calibrate import target_count
from occmask.families import _engine, _family
from occmask.testing import check_blocks

BLOCKED = [name for name, family in om.FAMILIES.items() if family.blocks is not None]


def test_every_builtin_family_makes_its_field_in_blocks():
    assert list(om.FAMILIES) == BLOCKED


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
@pytest.mark.parametrize("match", ["frame", "expected", "video"])
def test_masks_cut_in_blocks_equal_the_masks_cut_whole(monkeypatch, name, match):
    """generate() cuts large fields block by block (a video's cut in two passes); the mask is the
    one cut from the whole field, for a canvas, a region per video and a region per frame, into a
    new array or ``out``, and the generator ends where it would."""
    shape = (5, 24, 20)
    disc = np.hypot(*np.mgrid[-12:12, -10:10]) < 8
    regions = [None, disc, np.stack([np.roll(disc, t, axis=1) for t in range(5)])]
    whole = [om.generate(name, shape, 0.35, rng=7, match=match, region=r) for r in regions]
    image = om.generate(name, shape[1:], 0.35, rng=7, match=match)
    monkeypatch.setattr(_engine, "_BLOCKS_ABOVE", 0)
    monkeypatch.setattr(_engine, "_BLOCK_PIXELS", 2 * 24 * 20)  # blocks of 2 frames
    for region, expected in zip(regions, whole, strict=True):
        blocked = om.generate(name, shape, 0.35, rng=7, match=match, region=region)
        np.testing.assert_array_equal(blocked, expected)
    np.testing.assert_array_equal(om.generate(name, shape[1:], 0.35, rng=7, match=match), image)
    family = om.FAMILIES[name]
    out = np.zeros(shape, bool)
    rng = np.random.default_rng(7)
    made = _engine.generate_checked(
        family, shape, False, 0.35, match, "evolving", family.params({}), None, rng, out
    )
    assert made is out
    np.testing.assert_array_equal(out, whole[0])
    monkeypatch.undo()
    unblocked = np.random.default_rng(7)
    om.generate(name, shape, 0.35, rng=unblocked, match=match)
    assert rng.bit_generator.state == unblocked.bit_generator.state


def test_static_masks_are_cut_whole_and_video_cuts_make_their_blocks_twice(monkeypatch):
    """A static mask has one frame: no blocks. A cut over the whole video makes its blocks twice,
    first from a copy of the generator; a field that comes as one block, once."""
    asked = []
    family = om.FAMILIES["perlin"]

    def blocks(shape, rng, temporal, need, frames, **params):
        asked.append((frames, rng.bit_generator.state["state"]["state"]))
        yield from family.blocks(shape, rng, temporal, need, frames, **params)

    spy = _family.Family("perlin", "", family.field, family.defaults, family.check, blocks=blocks)
    monkeypatch.setitem(_family._REGISTRY, "perlin", spy)
    monkeypatch.setattr(_engine, "_BLOCKS_ABOVE", 0)
    om.generate("perlin", (4, 16, 16), 0.3, rng=0, temporal="static")
    assert asked == []
    om.generate("perlin", (4, 16, 16), 0.3, rng=0, match="video")  # one block of 4 frames
    assert [frames for frames, _ in asked] == [_engine._BLOCK_PIXELS // 256]
    asked.clear()
    monkeypatch.setattr(_engine, "_BLOCK_PIXELS", 2 * 16 * 16)
    om.generate("perlin", (4, 16, 16), 0.3, rng=0, match="video")
    assert [frames for frames, _ in asked] == [2, 2]
    assert asked[0][1] == asked[1][1]


def order_keys(field):
    """The order keys of float32 values, in numpy: -0.0 as +0.0."""
    bits = field.view(np.uint32).astype(np.int64)
    keys = np.where(bits < 0x80000000, bits ^ 0x80000000, 0xFFFFFFFF - bits)
    return np.where(bits & 0x7FFFFFFF == 0, 0x80000000, keys)


def test_a_video_cut_in_two_passes_equals_the_cut_of_the_whole_field():
    """Values of every sign, equal values (index order decides), -0.0 beside +0.0 (equal), +inf."""
    rng = np.random.default_rng(5)
    two_passes = fallbacks = 0
    for n in range(40):
        values = rng.choice([-3.5, -0.0, 0.0, 1e-30, 0.25, 2.0, np.inf], size=1000).astype(np.float32)
        field = np.where(rng.random(1000) < 0.04, values, rng.normal(size=1000)).astype(np.float32)
        if n % 4 == 3:
            field[::5] = field[0]
        keys = order_keys(field)
        assert np.array_equal(np.argsort(keys, kind="stable"), np.argsort(field + 0.0, kind="stable"))
        for k in (0, 1, int(rng.integers(0, 1001)), 999, 1000):
            expected = _cut.cut_rows(field.reshape(1, -1), k, np.empty((1, 1000), bool))[0]
            out = np.zeros(1000, bool)
            first, second = np.array_split(field, 7), np.array_split(field, 7)
            if cut_in_two_passes(first, second, k / 1000, out):
                np.testing.assert_array_equal(out, expected)
                two_passes += 1
            else:  # the bin that decides holds more than a sixteenth of the values: nothing written
                decisive = np.sort(keys)[max(k, 1) - 1] >> 16
                assert not out.any()
                assert np.count_nonzero(keys >> 16 == decisive) > 1000 // 16
                fallbacks += 1
    assert two_passes > 150
    assert fallbacks > 0


def test_a_region_video_cut_in_two_passes_equals_the_cut_of_the_whole_field():
    """With a region per frame (H, W) or per video (T, H, W): the same mask as the whole field's
    region cut, with equal values, -0.0 beside +0.0, +inf, empty and full regions."""
    rng = np.random.default_rng(6)
    two_passes = 0
    for n in range(30):
        shape = (4, 10, 25)
        values = rng.choice([-3.5, -0.0, 0.0, 0.25, np.inf], size=shape).astype(np.float32)
        field = np.where(rng.random(shape) < 0.05, values, rng.normal(size=shape)).astype(np.float32)
        if n % 3 == 2:
            field[:, ::3] = field[0, 0, 0]
        per_frame = rng.random(shape[1:]) < rng.choice([0.0, 0.3, 1.0])
        per_video = rng.random(shape) < 0.4
        for region in (per_frame, per_video):
            for coverage in (0.0, 0.3, float(rng.random()), 1.0):
                expected = _cut.cut_field(field, coverage, "video", None, region)
                out = np.zeros(field.size, bool)
                first, second = np.split(field, 2), np.split(field, 2)  # blocks of 2 frames
                if cut_in_two_passes(first, second, coverage, out, region=region):
                    np.testing.assert_array_equal(out.reshape(shape), expected)
                    two_passes += 1
                else:
                    assert not out.any()
    assert two_passes > 150


def test_a_video_cut_refuses_a_family_whose_blocks_ignore_the_generator(monkeypatch):
    """Made twice from the same generator state, a field must come out the same: a family that
    draws from elsewhere gets a clear error, and no write past the candidates' room."""
    other = np.random.default_rng(1)  # not the rng the family is given

    def blocks(shape, rng, temporal, need, frames):
        for t in range(0, shape[0], frames):
            yield other.random((min(frames, shape[0] - t), *shape[1:]), dtype=np.float32)

    family = om.Family("elsewhere_test", "", om.whole_field(blocks), blocks=blocks)
    monkeypatch.setitem(_family._REGISTRY, "elsewhere_test", family)
    monkeypatch.setattr(_engine, "_BLOCKS_ABOVE", 0)
    monkeypatch.setattr(_engine, "_BLOCK_PIXELS", 64 * 64)

    def all_seeds() -> None:  # a count that happens to agree gives a mask; some seed differs
        for seed in range(20):
            om.generate("elsewhere_test", (4, 64, 64), 0.5, rng=seed, match="video")

    with pytest.raises(ValueError, match="family 'elsewhere_test': a field made twice from the same"):
        all_seeds()


def test_a_video_cut_falls_back_to_the_whole_field_when_one_bin_holds_many_values(monkeypatch):
    """A constant field: the bin that decides holds every value, so the whole field is cut."""
    family = om.Family(
        "constant_test",
        "",
        lambda shape, rng, temporal, need: np.zeros(shape, np.float32),
        blocks=lambda shape, rng, temporal, need, frames: (
            np.zeros((min(frames, shape[0] - t), *shape[1:]), np.float32) for t in range(0, shape[0], frames)
        ),
    )
    monkeypatch.setitem(_family._REGISTRY, "constant_test", family)
    monkeypatch.setattr(_engine, "_BLOCKS_ABOVE", 0)
    monkeypatch.setattr(_engine, "_BLOCK_PIXELS", 8 * 8)
    mask = om.generate("constant_test", (3, 8, 8), 0.4, rng=0, match="video")
    assert mask.reshape(-1).tolist() == [True] * 77 + [False] * 115  # index order


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
    monkeypatch.setattr(_engine, "_BLOCKS_ABOVE", 0)
    monkeypatch.setattr(_engine, "_BLOCK_PIXELS", 2 * 8 * 8)
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        om.generate("blocks_test", (6, 8, 8), 0.5, rng=0, bad=bad)
    assert om.generate("blocks_test", (6, 8, 8), 0.5, rng=0).sum() == 6 * 32


def test_a_users_family_with_blocks_gives_the_mask_of_its_field(monkeypatch):
    family = om.Family("blocks_user", "i.i.d.", om.whole_field(_stripes_blocks), defaults={"bad": None})
    monkeypatch.setitem(_family._REGISTRY, "blocks_user", family)
    whole = om.generate("blocks_user", (6, 8, 8), 0.5, rng=3)
    blocked = _family.Family("blocks_user", "i.i.d.", family.field, {"bad": None}, blocks=_stripes_blocks)
    monkeypatch.setitem(_family._REGISTRY, "blocks_user", blocked)
    monkeypatch.setattr(_engine, "_BLOCKS_ABOVE", 0)
    monkeypatch.setattr(_engine, "_BLOCK_PIXELS", 2 * 8 * 8)
    np.testing.assert_array_equal(om.generate("blocks_user", (6, 8, 8), 0.5, rng=3), whole)


@pytest.mark.parametrize("name", BLOCKED)
def test_the_expected_calibration_reads_blocks_as_it_reads_fields(monkeypatch, name):
    """``match="expected"`` samples every stride-th value of its reference fields; read block by
    block (2 frames each, not a whole number of strides), they are the same values, so the same
    quantile curve."""
    params = tuple(sorted(om.FAMILIES[name].params({}).items()))
    _engine._curve.cache_clear()
    whole = _engine._curve(om.FAMILIES[name], (5, 23, 21), "evolving", params)
    _engine._curve.cache_clear()
    monkeypatch.setattr(_engine, "_BLOCKS_ABOVE", 0)
    monkeypatch.setattr(_engine, "_BLOCK_PIXELS", 2 * 23 * 21)  # blocks of 966 values: not whole strides
    np.testing.assert_array_equal(_engine._curve(om.FAMILIES[name], (5, 23, 21), "evolving", params), whole)
    _engine._curve.cache_clear()


@pytest.mark.parametrize("per_frame", [False, True])
def test_a_region_video_cut_stays_a_few_times_the_mask(per_frame):
    """match='video' with a region on a field made in blocks holds the mask and a block or two,
    not the whole field and a row of indices (it peaked at 25 bytes a pixel)."""
    import tracemalloc

    shape = (5, 1024, 1024)  # above _BLOCKS_ABOVE pixels
    disc = np.hypot(*np.mgrid[-512:512, -512:512]) < 400
    region = np.stack([disc] * shape[0]) if per_frame else disc
    small = disc[256:512, 255:512]  # frames of more than 2**16 pixels, as below: the same kernels
    om.generate("bernoulli", (2, *small.shape), 0.4, rng=0, match="video", region=small)  # compile
    tracemalloc.start()
    try:
        mask = om.generate("bernoulli", shape, 0.4, rng=0, match="video", region=region)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (mask & region).sum() == target_count(0.4, int(np.broadcast_to(region, shape).sum()))
    assert peak < 3 * mask.nbytes, f"peak {peak / mask.nbytes:.1f}x the mask"
