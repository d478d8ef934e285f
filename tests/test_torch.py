"""The torch adapter and the Occlude transform: layouts, fills, autograd, devices, validation."""

import math
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import occmask as om  # noqa: E402
from occmask._occlude import feather_weights  # noqa: E402
from occmask.calibrate import target_count  # noqa: E402
from occmask.torch import Occlude, occlude  # noqa: E402

RNG = np.random.default_rng(0)
MASK = RNG.random((4, 6, 5)) < 0.4  # (T, H, W)
MASKS = np.stack([MASK, ~MASK])  # (B, T, H, W): one mask per sample

LAYOUTS = [
    ("HW", (6, 5), MASK[0]),
    ("CHW", (3, 6, 5), MASK[0]),
    ("HWC", (6, 5, 3), MASK[0]),
    ("THW", (4, 6, 5), MASK),
    ("TCHW", (4, 3, 6, 5), MASK),
    ("THWC", (4, 6, 5, 3), MASK),
    ("BTCHW", (2, 4, 3, 6, 5), MASK),
    ("BTCHW", (2, 4, 3, 6, 5), MASKS),
    ("BTHWC", (2, 4, 6, 5, 3), MASKS),
]


def test_import_occmask_does_not_import_torch():
    code = (
        "import sys, occmask, occmask.testing; "
        "print(sorted(m for m in ('torch', 'hypothesis') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# --------------------------------------------------------------------------- occlude


@pytest.mark.parametrize(
    ("layout", "shape", "mask"), LAYOUTS, ids=[f"{lay}-{m.ndim}d" for lay, _, m in LAYOUTS]
)
@pytest.mark.parametrize("explicit", [False, True])
@pytest.mark.parametrize("mask_kind", ["numpy", "torch"])
def test_occlude_equals_numpy_adapter(layout, shape, mask, explicit, mask_kind):
    x = RNG.random(shape).astype(np.float32)
    kwargs = {"layout": layout if explicit else None}
    channels = shape[layout.index("C")] if "C" in layout else None
    fills = [-1.0, np.float32(2.5)]
    if channels:
        fills += [[0.1, 0.2, 0.3], RNG.random(shape[-3:])]
    for fill in fills:
        expected = om.occlude(x, mask, fill, **kwargs)
        got = occlude(
            torch.from_numpy(x), mask if mask_kind == "numpy" else torch.from_numpy(mask), fill, **kwargs
        )
        assert got.dtype == torch.float32
        assert tuple(got.shape) == shape
        np.testing.assert_array_equal(got.numpy(), expected)
        # the numpy entry point hands tensors over to the torch adapter
        np.testing.assert_array_equal(om.occlude(torch.from_numpy(x), mask, fill, **kwargs).numpy(), expected)


@pytest.mark.parametrize(
    "dtype", [torch.uint8, torch.int16, torch.int64, torch.float16, torch.float64, torch.bool]
)
def test_dtype_is_kept_and_matches_numpy(dtype):
    x = torch.from_numpy(RNG.integers(0, 2, (4, 3, 6, 5))).to(dtype)
    fill = 1 if dtype != torch.bool else True
    got = occlude(x, MASK, fill)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got.numpy(), om.occlude(x.numpy(), MASK, fill))
    tensor_fill = torch.tensor([1, 0, 1], dtype=torch.int64)
    np.testing.assert_array_equal(
        occlude(x, MASK, tensor_fill).numpy(), om.occlude(x.numpy(), MASK, [1, 0, 1])
    )


def test_bfloat16_without_a_numpy_dtype():
    x = torch.rand(4, 3, 6, 5)
    got = occlude(x.bfloat16(), MASK, 0.5)
    assert got.dtype == torch.bfloat16
    torch.testing.assert_close(got.float(), occlude(x.bfloat16().float(), MASK, 0.5), rtol=0, atol=0)
    with pytest.raises(ValueError, match="fill"):
        occlude(x.bfloat16(), MASK, 1e40)


def test_fill_rules_follow_the_numpy_adapter():
    x8 = torch.zeros(6, 5, dtype=torch.uint8)
    for bad in (0.5, 256, -1):
        with pytest.raises(ValueError, match="fill"):
            occlude(x8, MASK[0], bad)
    with pytest.raises(ValueError, match="fill"):
        occlude(x8, MASK[0], torch.tensor(300))
    with pytest.raises(ValueError, match="fill"):
        occlude(torch.zeros(6, 5, dtype=torch.float16), MASK[0], torch.tensor(1e10, dtype=torch.float64))
    with pytest.raises(TypeError, match="fill"):
        occlude(torch.zeros(6, 5), MASK[0], "red")
    with pytest.raises(ValueError, match="fill"):
        occlude(torch.zeros(4, 6, 5), MASK, [1.0, 2.0])
    assert torch.isnan(occlude(torch.zeros(6, 5), MASK[0], float("nan"))[torch.from_numpy(MASK[0])]).all()
    assert occlude(torch.zeros(6, 5), MASK[0], 0.1)[torch.from_numpy(MASK[0])][0] == torch.tensor(0.1)


@pytest.mark.parametrize("memory", ["contiguous", "channels_last"])
@pytest.mark.parametrize("fill", [0.25, [0.25, 0.5, 0.75]])
def test_kernel_and_torch_where_paths_agree(memory, fill):
    """Plain CPU tensors go through the numpy kernel; tensors that track gradients through
    torch.where; both give the same values, into new tensors or ``out``."""
    mask = np.random.default_rng(2).random((4, 6, 5)) < 0.5
    x = torch.rand(4, 3, 6, 5)
    if memory == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    plain = occlude(x, mask, fill)
    tracked = occlude(x.clone().requires_grad_(True), mask, fill)
    torch.testing.assert_close(plain, tracked.detach(), rtol=0, atol=0)
    out = torch.empty_like(x)
    assert occlude(x, mask, fill, out=out) is out
    torch.testing.assert_close(out, plain, rtol=0, atol=0)
    assert occlude(x, mask, fill, out=x) is x
    torch.testing.assert_close(x, plain, rtol=0, atol=0)


@pytest.mark.parametrize("entry", [om.occlude, occlude])
def test_a_cpu_tensor_mask_is_checked_once(monkeypatch, entry):
    """Through either adapter, a CPU tensor's numpy mask is validated once, then goes to the kernel."""
    from occmask import _validate

    calls = []
    check = _validate.mask
    monkeypatch.setattr(_validate, "mask", lambda *a, **k: calls.append(a) or check(*a, **k))
    mask = np.random.default_rng(3).random((4, 6, 5)) < 0.5
    y = entry(torch.ones(4, 3, 6, 5), mask, 0.0)
    assert len(calls) == 1
    torch.testing.assert_close(
        y, torch.from_numpy(np.where(mask[:, None], 0.0, 1.0)).float().expand(4, 3, 6, 5)
    )


def test_autograd_reaches_visible_pixels_and_tensor_fill():
    x = torch.rand(4, 3, 6, 5, requires_grad=True)
    fill = torch.zeros(3, requires_grad=True)
    (occlude(x, MASK, fill) * 2).sum().backward()
    visible = torch.from_numpy(~MASK)[:, None].expand(4, 3, 6, 5)
    assert torch.equal(x.grad, 2.0 * visible.float())
    assert torch.equal(fill.grad, torch.full((3,), 2.0 * MASK.sum()))
    y = torch.rand(4, 6, 5, requires_grad=True)
    occlude(y, MASK, 0.0).sum().backward()
    assert torch.equal(y.grad, torch.from_numpy(~MASK).float())


@pytest.mark.parametrize("fill", [7.0, [7.0, 8.0, 9.0], torch.tensor([7.0, 8.0, 9.0])])
def test_out_and_in_place(fill):
    x = torch.rand(4, 3, 6, 5)
    original = x.clone()
    expected = occlude(x, MASK, fill)
    out = torch.empty_like(x)
    assert occlude(x, MASK, fill, out=out) is out
    assert torch.equal(out, expected)
    assert torch.equal(x, original)
    assert occlude(x, MASK, fill, out=x) is x
    assert torch.equal(x, expected)


@pytest.mark.parametrize(
    ("x", "mask", "kwargs", "error", "words"),
    [
        (np.zeros((4, 6, 5)), torch.from_numpy(MASK), {}, TypeError, "mask"),  # numpy x: numpy adapter
        ([[0.0]], MASK[0], {}, TypeError, "x"),
        (torch.zeros(4, 6, 5), MASK.astype(np.uint8), {}, TypeError, "mask"),
        (torch.zeros(4, 6, 5), torch.from_numpy(MASK).int(), {}, TypeError, "mask"),
        (torch.zeros(4, 6, 5), torch.from_numpy(MASK[0, 0]), {}, ValueError, "mask"),
        (torch.zeros(4, 6, 5), MASK.tolist(), {}, TypeError, "mask"),
        (torch.zeros(4, 4, 6, 5), MASK, {}, ValueError, "ambiguous"),
        (torch.zeros(4, 3, 6, 5), MASK[:, :5], {}, ValueError, "broadcast"),
        (torch.zeros(4, 6, 5, 3), MASK, {"layout": "TCHW"}, ValueError, "layout"),
        (torch.zeros(4, 6, 5), MASK, {"out": torch.zeros(4, 6, 5, dtype=torch.float64)}, ValueError, "out"),
        (torch.zeros(4, 6, 5), MASK, {"out": np.zeros((4, 6, 5), np.float32)}, ValueError, "out"),
    ],
)
def test_occlude_bad_input(x, mask, kwargs, error, words):
    function = om.occlude if isinstance(x, np.ndarray) else occlude
    with pytest.raises(error, match=words):
        function(x, mask, **kwargs)


def test_read_only_and_strided_numpy_masks():
    x = torch.rand(4, 6, 5)
    view = np.broadcast_to(MASK[0], (4, 6, 5))
    np.testing.assert_array_equal(occlude(x, view).numpy(), om.occlude(x.numpy(), view))
    flipped = MASK[:, ::-1]
    np.testing.assert_array_equal(occlude(x, flipped).numpy(), om.occlude(x.numpy(), flipped))


# --------------------------------------------------------------------------- Occlude


@pytest.mark.parametrize(
    ("shape", "layout", "mask_shape"),
    [
        ((6, 20), None, (6, 20)),
        ((3, 6, 20), None, (6, 20)),
        ((5, 1, 6, 20), "TCHW", (5, 6, 20)),
        ((2, 5, 3, 6, 20), None, (2, 5, 6, 20)),
        ((5, 6, 20), "THW", (5, 6, 20)),
        ((5, 6, 20, 3), "THWC", (5, 6, 20)),
        ((3, 2, 6, 20), "BCHW", (3, 6, 20)),
        ((5, 2, 6, 20), "TBHW", (5, 2, 6, 20)),
    ],
)
@pytest.mark.parametrize("family", sorted(om.FAMILIES))
def test_transform_shapes_and_exact_coverage(shape, layout, mask_shape, family):
    x = torch.rand(shape) + 1.0  # no zeros before occlusion
    y, mask = Occlude(family, 0.3, layout=layout, return_mask=True)(x)
    assert y.shape == x.shape
    assert y.dtype == x.dtype
    assert mask.shape == mask_shape
    assert mask.dtype == torch.bool
    assert mask.device == x.device
    counts = mask.reshape(-1, mask_shape[-2] * mask_shape[-1]).sum(dim=1)
    assert (counts == target_count(0.3, 6 * 20)).all()
    np.testing.assert_array_equal(y.numpy(), om.occlude(x.numpy(), mask.numpy(), 0.0, layout=layout or None))


def test_every_sample_of_a_batch_has_its_own_exact_mask():
    t = Occlude("perlin", 0.45, return_mask=True)
    _, mask = t(torch.rand(6, 4, 1, 32, 32))
    assert (mask.sum(dim=(2, 3)) == target_count(0.45, 32 * 32)).all()
    flat = mask.reshape(6, -1)
    assert len({bytes(row.numpy()) for row in flat}) == 6
    assert len(set(t.last_seeds)) == 6
    for sample, seed in zip(mask, t.last_seeds, strict=True):
        np.testing.assert_array_equal(sample.numpy(), t.make_mask((4, 32, 32), seed))
        np.testing.assert_array_equal(sample.numpy(), om.generate("perlin", (4, 32, 32), 0.45, rng=seed))


def test_coverage_range_spans_the_range():
    torch.manual_seed(0)
    t = Occlude("bernoulli", (0.1, 0.7), return_mask=True)
    _, mask = t(torch.zeros(400, 1, 1, 10, 10))
    counts = mask.sum(dim=(1, 2, 3)).numpy()  # 100 pixels per sample
    assert counts.min() <= 12
    assert counts.max() >= 68
    assert counts.min() >= 10
    assert counts.max() <= 70
    assert np.histogram(counts, bins=6, range=(10, 70))[0].min() > 30  # roughly uniform
    targets = [t.sample_coverage(seed) for seed in t.last_seeds]
    np.testing.assert_array_equal(counts, [target_count(c, 100) for c in targets])


def test_p_decides_per_sample():
    torch.manual_seed(0)
    x = torch.ones(200, 1, 1, 8, 8)
    t = Occlude("bernoulli", 0.5, p=0.3, return_mask=True)
    y, mask = t(x)
    hit = mask.any(dim=(1, 2, 3))
    assert 30 < int(hit.sum()) < 90
    assert [s is not None for s in t.last_seeds] == hit.tolist()
    assert torch.equal(y[~hit], x[~hit])
    never = Occlude("bernoulli", 0.5, p=0.0)
    assert never(x) is x


def test_seeds_follow_torch_manual_seed_and_generator():
    x = torch.rand(3, 4, 1, 16, 16)
    t = Occlude("cgol", (0.2, 0.6), return_mask=True)
    torch.manual_seed(5)
    first = t(x)[1]
    torch.manual_seed(5)
    again = t(x)[1]
    assert torch.equal(first, again)
    assert not torch.equal(first, t(x)[1])
    g = Occlude("cgol", 0.4, generator=torch.Generator().manual_seed(1), return_mask=True)
    h = Occlude("cgol", 0.4, generator=torch.Generator().manual_seed(1), return_mask=True)
    torch.manual_seed(0)
    a = g(x)[1]
    torch.manual_seed(1)
    assert torch.equal(a, h(x)[1])  # own generator: the global seed does not matter
    assert not any(isinstance(v, np.random.Generator) for v in vars(t).values())


def test_pickle_round_trip_and_repr():
    t = Occlude(
        "perlin",
        (0.2, 0.5),
        match="video",
        temporal="static",
        fill=[0.1, 0.2, 0.3],
        p=0.8,
        layout="tchw",
        return_mask=True,
        generator=torch.Generator().manual_seed(3),
        scale=6.0,
        octaves=2,
    )
    text = repr(t)
    for part in (
        "'perlin'",
        "coverage=(0.2, 0.5)",
        "match='video'",
        "temporal='static'",
        "fill=(0.1, 0.2, 0.3)",
        "p=0.8",
        "layout='TCHW'",
        "return_mask=True",
        "generator=",
        "scale=6.0",
        "octaves=2",
    ):
        assert part in text, text
    assert repr(Occlude("cgol", 0.3)) == (
        "Occlude('cgol', coverage=0.3, match='frame', temporal='evolving', fill=0.0, p=1.0)"
    )
    clone = pickle.loads(pickle.dumps(t))
    assert repr(clone) == text
    x = torch.rand(4, 3, 16, 16)
    y1, m1 = t(x)
    y2, m2 = clone(x)
    assert torch.equal(m1, m2)
    assert torch.equal(y1, y2)
    tensor_fill = Occlude("bernoulli", 0.5, fill=torch.zeros(3, 16, 16))
    assert "fill=<tensor of shape (3, 16, 16)>" in repr(tensor_fill)
    assert torch.equal(pickle.loads(pickle.dumps(tensor_fill)).fill, torch.zeros(3, 16, 16))


def test_composes_like_a_torchvision_transform():
    pipeline = [lambda v: v * 2.0, Occlude("triangles", 0.25, fill=-1.0, layout="TCHW"), lambda v: v + 1.0]
    x = torch.ones(4, 1, 24, 24)
    y = x
    for transform in pipeline:  # what torchvision's Compose does
        y = transform(y)
    assert ((y == 0.0).sum(dim=(1, 2, 3)) == target_count(0.25, 24 * 24)).all()
    sequential = torch.nn.Sequential(Occlude("bernoulli", 0.5, layout="TCHW"), torch.nn.Identity())
    assert (sequential(x) == 0).float().mean().item() == 0.5


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "words"),
    [
        (("voronoi", 0.3), {}, ValueError, "family"),
        (("perlin", 1.5), {}, ValueError, "coverage"),
        (("perlin", -0.1), {}, ValueError, "coverage"),
        (("perlin", (0.6, 0.2)), {}, ValueError, "coverage"),
        (("perlin", (0.2, 1.2)), {}, ValueError, "coverage"),
        (("perlin", (0.2,)), {}, ValueError, "coverage"),
        (("perlin", "half"), {}, TypeError, "coverage"),
        (("perlin", float("nan")), {}, ValueError, "coverage"),
        (("perlin", 0.3), {"p": 1.5}, ValueError, "p must"),
        (("perlin", 0.3), {"p": -0.5}, ValueError, "p must"),
        (("perlin", 0.3), {"match": "pixel"}, ValueError, "match"),
        (("perlin", 0.3), {"temporal": "frozen"}, ValueError, "temporal"),
        (("perlin", 0.3), {"fill": "black"}, TypeError, "fill"),
        (("perlin", 0.3), {"layout": "TXHW"}, ValueError, "layout"),
        (("perlin", 0.3), {"layout": 4}, TypeError, "layout"),
        (("perlin", 0.3), {"return_mask": "yes"}, TypeError, "return_mask"),
        (("perlin", 0.3), {"generator": 0}, TypeError, "generator"),
        (("perlin", 0.3), {"scale": -2.0}, ValueError, "scale"),
        (("perlin", 0.3), {"density": 0.5}, TypeError, "density"),
        (("cgol", 0.3), {"density": 1.5}, ValueError, "density"),
    ],
)
def test_construction_rejects_bad_arguments(args, kwargs, error, words):
    with pytest.raises(error, match=words):
        Occlude(*args, **kwargs)


@pytest.mark.parametrize(
    ("x", "kwargs", "error", "words"),
    [
        (np.zeros((3, 8, 8), np.float32), {}, TypeError, "x must be a torch.Tensor"),
        (torch.zeros(8), {}, ValueError, "dimensions"),
        (torch.zeros(1, 2, 3, 1, 8, 8), {}, ValueError, "dimensions"),
        (torch.zeros(4, 8, 8), {"layout": "TCHW"}, ValueError, "layout"),
        (torch.zeros(3, 0, 8), {}, ValueError, "empty"),
        (torch.zeros(4, 8, 8, 3), {"fill": [1.0, 2.0], "layout": "THWC"}, ValueError, "fill"),
        (torch.zeros(4, 3, 8, 8, dtype=torch.uint8), {"fill": 0.5, "layout": "TCHW"}, ValueError, "fill"),
        (torch.zeros(4, 3, 8, 8), {}, ValueError, "layout='TCHW' for one video .* layout='BCHW' for a batch"),
    ],
)
def test_call_rejects_bad_input(x, kwargs, error, words):
    with pytest.raises(error, match=words):
        Occlude("bernoulli", 0.5, **kwargs)(x)


def test_empty_batch():
    y, mask = Occlude("bernoulli", 0.5, return_mask=True)(torch.zeros(0, 3, 1, 8, 8))
    assert y.shape == (0, 3, 1, 8, 8)
    assert mask.shape == (0, 3, 8, 8)


def test_make_mask_checks_its_seed():
    t = Occlude("bernoulli", 0.5)
    with pytest.raises(ValueError, match="seed"):
        t.make_mask((8, 8), -1)
    with pytest.raises(TypeError, match="seed"):
        t.make_mask((8, 8), 1.5)


# --------------------------------------------------------------------------- CUDA


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_stays_on_the_device():
    device = torch.device("cuda")
    x = torch.rand(2, 4, 3, 32, 32, device=device, requires_grad=True)
    mask = om.generate("cgol", (4, 32, 32), 0.4, rng=0)
    y = occlude(x, mask, [0.1, 0.2, 0.3])
    assert y.device.type == "cuda"
    assert y.dtype == x.dtype
    np.testing.assert_array_equal(
        y.detach().cpu().numpy(), occlude(x.detach().cpu(), mask, [0.1, 0.2, 0.3]).numpy()
    )
    y.sum().backward()
    assert torch.equal(x.grad, torch.from_numpy(~mask)[None, :, None].expand_as(x).float().to(device))
    half = occlude(x.detach().half(), torch.from_numpy(mask).to(device), torch.tensor(0.5, device=device))
    assert half.dtype == torch.float16
    assert half.device.type == "cuda"
    t = Occlude("perlin", (0.2, 0.6), fill=torch.zeros(3, 32, 32), return_mask=True).to(device)
    assert t.fill.device.type == "cuda"
    z, m = t(x.detach())
    assert z.device.type == "cuda"
    assert m.device.type == "cuda"
    for sample, seed in zip(m.cpu().numpy(), t.last_seeds, strict=True):
        np.testing.assert_array_equal(sample, t.make_mask((4, 32, 32), seed))
    g = Occlude("bernoulli", 0.5, generator=torch.Generator(device=device).manual_seed(0))
    assert g(x.detach()).device.type == "cuda"


# ----------------------------------------------------------------------------- fills and threads


@pytest.mark.parametrize("fill", ["mean", om.Noise(-1.0, 1.0), om.Noise(mean=0.0, std=2.0), "noise"])
def test_special_fills_match_the_numpy_adapter(fill):
    x = torch.randn(2, 5, 3, 12, 10)  # normalised data
    mask = np.random.default_rng(0).random((2, 5, 12, 10)) < 0.5
    expected = om.occlude(x.numpy(), mask, fill=fill, rng=4)
    for tensor in (x, x.clone().requires_grad_(True)):  # the kernel and the torch.where paths
        torch.testing.assert_close(occlude(tensor, mask, fill, rng=4).detach(), torch.from_numpy(expected))


def test_transform_fills_are_drawn_from_the_sample_seed():
    x = torch.zeros(3, 4, 2, 16, 16)  # (B, T, C, H, W)
    t = Occlude("perlin", 0.5, fill=om.Noise(-1.0, 1.0), return_mask=True)
    y, mask = t(x)
    hidden = mask[:, :, None].expand_as(x)
    assert ((y[hidden] >= -1) & (y[hidden] < 1)).all()
    assert (y[~hidden] == 0).all()
    for b, seed in enumerate(t.last_seeds):  # the sample's noise comes from its own seed
        single = Occlude("perlin", 0.5, fill=om.Noise(-1.0, 1.0), layout="TCHW")
        rebuilt = single.apply(x[b], single.make_params(x[b], seeds=[seed]))
        torch.testing.assert_close(y[b], rebuilt)
    images = torch.stack([torch.full((3, 8, 8), float(i)) for i in range(4)])  # (B, C, H, W)
    y, mask = Occlude("bernoulli", 0.5, fill="mean", layout="BCHW", return_mask=True)(
        images + torch.rand(4, 3, 8, 8)
    )
    means = (images + 0.5)[:, :, 0, 0]
    assert (y.mean(dim=(2, 3)) - means).abs().max() < 0.2  # each image filled with its own mean


def test_threads_give_the_same_masks():
    x = torch.rand(6, 3, 1, 16, 16)
    masks = []
    for threads in (1, 3):
        t = Occlude("cgol", (0.2, 0.6), threads=threads, return_mask=True)
        torch.manual_seed(5)
        masks.append(t(x)[1])
        assert f"threads={threads}" in repr(t)
    assert torch.equal(masks[0], masks[1])
    with pytest.raises(ValueError, match="threads"):
        Occlude("cgol", 0.5, threads=0)
    with pytest.raises(TypeError, match="threads"):
        Occlude("cgol", 0.5, threads=1.5)


@pytest.mark.parametrize(
    "fill", [0.5, [0.1, 0.2, 0.3], "noise", "mean", np.full((7, 3, 1, 1), 2.0)], ids=lambda f: str(f)[:12]
)
@pytest.mark.parametrize("layout", ["BCHW", "CBHW", "BHWC"])
def test_threads_fill_their_samples_as_occlude_does(fill, layout):
    """Each thread fills the samples whose masks it made: the same result with 1 or 3 threads, and
    the same as occlude with the returned mask (skipped samples, p=0.6, left as they are)."""
    x = torch.rand(7, 3, 16, 16)  # (B, C, H, W)
    order = ["BCHW".index(letter) for letter in layout]
    x = x.permute(*order).contiguous()
    if isinstance(fill, np.ndarray):  # a per-sample fill array is laid out as the data
        fill = fill.transpose(order)
    results = []
    for threads in (1, 3):
        t = Occlude("perlin", (0.2, 0.6), fill=fill, p=0.6, layout=layout, threads=threads, return_mask=True)
        torch.manual_seed(11)
        results.append(t(x))
    (hidden, mask), (hidden3, mask3) = results
    assert torch.equal(mask, mask3)
    assert torch.equal(hidden, hidden3)
    skipped = [b for b, seed in enumerate(t.last_seeds) if seed is None]
    assert skipped
    assert all(not mask[b].any() for b in skipped)
    if not (isinstance(fill, str) and fill == "noise"):  # noise is drawn per sample
        assert torch.equal(hidden, occlude(x, mask, fill, layout=layout))


def test_default_threads_is_one_inside_a_worker_and_for_small_batches(monkeypatch):
    from occmask import _batch as engine

    monkeypatch.setattr(engine.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    per = engine.PIXELS_PER_THREAD
    assert [engine.default_threads(n) for n in (0, per - 1, per, 3 * per, 100 * per)] == [1, 1, 1, 3, 4]
    monkeypatch.setattr(engine, "default_threads", lambda pixels: 4)
    monkeypatch.setattr(engine, "SECONDS_PER_SAMPLE", 0.0)
    asked = []
    monkeypatch.setattr(engine, "pool", lambda workers: asked.append(workers) or engine._POOL["pool"])
    monkeypatch.setattr(torch.utils.data, "get_worker_info", lambda: object())
    Occlude("perlin", 0.5)(torch.rand(6, 2, 1, 16, 16))
    assert asked == []  # one thread in a DataLoader worker


@pytest.mark.parametrize("cheap", [True, False])
def test_by_default_a_batch_of_cheap_masks_stays_on_one_thread(monkeypatch, cheap):
    from occmask import _batch as adapter

    monkeypatch.setattr(adapter, "default_threads", lambda pixels: 2)
    monkeypatch.setattr(adapter, "SECONDS_PER_SAMPLE", math.inf if cheap else 0.0)
    asked, real = [], adapter.pool
    monkeypatch.setattr(adapter, "pool", lambda workers: asked.append(workers) or real(workers))
    batch = torch.rand(6, 2, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    results = []
    for threads in (None, 1):
        torch.manual_seed(0)
        results.append(Occlude("perlin", (0.2, 0.6), fill=0.5, threads=threads, return_mask=True)(batch))
    assert asked == ([] if cheap else [1])  # the first mask was made alone, then the rest split
    (hidden, mask), (hidden1, mask1) = results
    assert torch.equal(mask, mask1)
    assert torch.equal(hidden, hidden1)
    assert mask.any()
    assert not torch.equal(hidden, batch)


def test_the_thread_pool_is_kept_and_remade_after_a_fork(monkeypatch):
    from occmask import _batch as adapter

    t = Occlude("bernoulli", 0.5, threads=2, return_mask=True)
    batch = torch.zeros(4, 1, 1, 16, 16)
    t(batch)
    pool = adapter._POOL["pool"]
    assert pool is not None
    assert adapter._POOL["workers"] >= 1
    t(batch)
    assert adapter._POOL["pool"] is pool  # kept across calls
    monkeypatch.setitem(adapter._POOL, "pid", -1)  # as a forked child sees its parent's pool
    _, mask = t(batch)
    assert adapter._POOL["pool"] is not pool
    assert adapter._POOL["pid"] == os.getpid()
    assert mask.sum(dim=(-2, -1)).eq(128).all()
    clone = pickle.loads(pickle.dumps(t))  # nothing of the pool is pickled
    torch.manual_seed(3)
    expected = t(batch)[1]
    torch.manual_seed(3)
    assert torch.equal(clone(batch)[1], expected)


def test_a_pool_grown_for_more_threads_shuts_the_smaller_one_down():
    from occmask import _batch as adapter

    small = adapter.pool(1)
    workers = adapter._POOL["workers"]
    grown = adapter.pool(workers + 1)
    assert grown is not small
    assert adapter._POOL["workers"] == workers + 1
    with pytest.raises(RuntimeError, match="shutdown"):
        small.submit(int)  # no new work: its threads end once idle
    assert grown.submit(int, "7").result() == 7
    assert adapter.pool(1) is grown


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("fill", ["mean", "noise"])
def test_cuda_batches_get_the_cpu_masks_and_fills(fill):
    x = torch.randn(6, 4, 3, 32, 32)
    results = []
    for device in ("cpu", "cuda"):
        t = Occlude("perlin", 0.4, fill=fill, threads=3, return_mask=True)
        torch.manual_seed(2)
        y, mask = t(x.to(device))
        assert y.device.type == device
        assert mask.device.type == device
        results.append((y.cpu(), mask.cpu()))
    torch.testing.assert_close(results[0][0], results[1][0])
    assert torch.equal(results[0][1], results[1][1])


# ----------------------------------------------------------------------------- soft edges


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.uint8, torch.int16])
def test_feather_on_tensors_equals_numpy(dtype):
    mask = om.perlin((3, 16, 16), 0.4, rng=0)
    x = (torch.rand(3, 2, 16, 16, generator=torch.Generator().manual_seed(0)) * 100).to(dtype)
    got = occlude(x, mask, [10, 20], feather=2.5)
    assert got.dtype == dtype
    expected = om.occlude(x.numpy(), mask, [10, 20], feather=2.5)
    if dtype == torch.float16:  # torch blends in float32 where numpy's float16 goes through float64
        torch.testing.assert_close(got, torch.from_numpy(expected), rtol=1e-3, atol=0)
    else:
        assert torch.equal(got, torch.from_numpy(expected))
    out = torch.empty_like(x)
    assert occlude(x, torch.from_numpy(mask), [10, 20], feather=2.5, out=out) is out
    assert torch.equal(out, got)
    assert torch.equal(occlude(x, mask, [10, 20], feather=0.0), occlude(x, mask, [10, 20]))


def test_feather_is_differentiable_and_checked():
    mask = om.perlin((2, 16, 16), 0.5, rng=1)
    x = torch.ones(2, 1, 16, 16, requires_grad=True)
    fill = torch.zeros(1, requires_grad=True)
    occlude(x, mask, fill, feather=4.0).sum().backward()
    weights = torch.from_numpy(feather_weights(mask, 4.0))[:, None]
    torch.testing.assert_close(x.grad, 1 - weights.float())
    torch.testing.assert_close(fill.grad, weights.sum().float().reshape(1))
    with pytest.raises(ValueError, match="feather"):
        occlude(x, mask, 0.0, feather=-1)
    with pytest.raises(TypeError, match="boolean data"):
        occlude(torch.zeros(16, 16, dtype=torch.bool), mask[0], True, feather=1.0)
    with pytest.raises(ValueError, match="feather"):
        Occlude("perlin", 0.5, feather=float("inf"))


def test_occlude_transform_feathers_its_masks():
    batch = torch.rand(3, 2, 1, 16, 16)
    t = Occlude("triangles", 0.5, fill=0.0, feather=3.0, return_mask=True)
    assert "feather=3.0" in repr(t)
    hidden, mask = t(batch)
    assert torch.equal(hidden, occlude(batch, mask, 0.0, feather=3.0))
    assert torch.equal(hidden[~mask[:, :, None]], batch[~mask[:, :, None]])
    assert ((hidden[mask[:, :, None]] > 0) & (hidden[mask[:, :, None]] < batch[mask[:, :, None]])).any()


def test_module_apply_still_reaches_submodules():
    seen = []
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), Occlude("perlin", 0.5))
    assert model.apply(lambda module: seen.append(type(module).__name__)) is model
    assert seen == ["Linear", "Occlude", "Sequential"]
    with pytest.raises(TypeError, match="params"):
        Occlude("perlin", 0.5).apply(torch.ones(3, 8, 8))


def test_params_must_fit_the_data():
    t = Occlude("perlin", 0.5, layout="BCHW")
    x = torch.ones(4, 3, 16, 16)
    params = t.make_params(x)
    with pytest.raises(ValueError, match=r"params were made for 4 sample\(s\) of shape \(16, 16\)"):
        t.apply(torch.ones(2, 3, 16, 16), params)
    with pytest.raises(TypeError, match="params must be the dict of make_params"):
        t.apply(x, {"seeds": (1,)})
    with pytest.raises(ValueError, match="seeds must have one entry per sample of x"):
        t.make_params(x, seeds=[1, 2])
    with pytest.raises(ValueError, match="seed"):
        t.make_params(x, seeds=[1, 2, 3, -4])
    with pytest.raises(TypeError, match="got no argument"):
        t()
    skipped = t.make_params(x, seeds=[None, 5, None, 6])
    assert skipped["coverages"] == (None, 0.5, None, 0.5)
    y = t.apply(x, skipped)
    assert (y[0] == 1).all()
    assert (y[1] == 0).any()
    assert t.last_seeds == (None, 5, None, 6)


def _tv(name):
    """A stand-in for a tv_tensors class, recognised as torchvision's by its module."""
    return type(name, (torch.Tensor,), {"__module__": f"torchvision.tv_tensors._{name.lower()}"})


def test_structures_keep_their_form_and_tv_types():
    image_type, boxes_type = _tv("Image"), _tv("BoundingBoxes")
    image = torch.ones(3, 16, 16).as_subclass(image_type)
    boxes = torch.tensor([[1.0, 2.0, 3.0, 4.0]]).as_subclass(boxes_type)
    extra = torch.ones(3, 16, 16)  # a pure tensor beside an Image: passed through
    sample = {"a": [image, (boxes, 5)], "b": extra}
    out, mask = Occlude("perlin", 0.5, return_mask=True)(sample)
    assert type(out["a"][0]) is image_type
    assert (out["a"][0][:, mask] == 0).all()
    assert type(out["a"][1][0]) is boxes_type
    assert torch.equal(out["a"][1][0], boxes)
    assert out["a"][1][1] == 5
    assert out["b"] is extra
    with pytest.raises(ValueError, match=r"tv_tensors.Image must have 3 or 4 dimensions"):
        Occlude("perlin", 0.5)(torch.ones(16, 16).as_subclass(image_type))
    with pytest.raises(ValueError, match="must share their samples"):
        Occlude("perlin", 0.5)([image, torch.ones(3, 8, 8).as_subclass(image_type)])
    with pytest.raises(TypeError, match="nothing to occlude"):
        Occlude("perlin", 0.5)({"boxes": boxes})
