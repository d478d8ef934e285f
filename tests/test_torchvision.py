"""Occlude in real torchvision v2 pipelines: Compose, tv_tensors, (image, label), dicts, DataLoader.

Skipped where torchvision is absent (occmask never needs it). Tested with torchvision 0.28.0.
"""

import importlib.util
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import occmask as om  # noqa: E402
from occmask.calibrate import target_count  # noqa: E402
from occmask.torch import Occlude  # noqa: E402


def _import_torchvision():
    """torchvision's v2 transforms and tv_tensors, or a skip.

    PyPI's torchvision wheel is built against CUDA torch: beside the CPU torch its compiled
    operators do not load, and its ``import`` fails when it registers their fake (meta)
    kernels with ``torch.library.register_fake``. The v2 transforms and tv_tensors are pure
    Python and need none of them, so where the plain import fails it is retried with
    ``register_fake`` made a no-op for the duration of the import (a test-only shim: nothing
    here calls the compiled operators).
    """
    if importlib.util.find_spec("torchvision") is None:
        pytest.skip("torchvision is not installed", allow_module_level=True)
    try:
        import torchvision
    except RuntimeError:
        for name in [name for name in sys.modules if name.startswith("torchvision")]:
            del sys.modules[name]
        real = torch.library.register_fake
        torch.library.register_fake = lambda *args, **kwargs: lambda fn: fn
        try:
            import torchvision  # noqa: F401
        finally:
            torch.library.register_fake = real
    from torchvision import tv_tensors
    from torchvision.transforms import v2

    return v2, tv_tensors


v2, tv_tensors = _import_torchvision()

H = W = 32


def hidden_count(x, fill=0.0):
    """Hidden pixels per frame of an (..., C, H, W) tensor filled with ``fill`` (data of ones)."""
    return (x == fill).all(dim=-3).sum(dim=(-2, -1))


def test_compose_with_crops_and_flips_on_image_and_label():
    pipeline = v2.Compose(
        [
            v2.RandomResizedCrop((H, W), antialias=True),
            v2.RandomHorizontalFlip(p=1.0),
            Occlude("perlin", 0.3, scale=6.0),
        ]
    )
    image = tv_tensors.Image(torch.ones(3, 48, 40))
    torch.manual_seed(0)
    out_image, label = pipeline(image, 7)  # two arguments, as v2 transforms take them
    assert type(out_image) is tv_tensors.Image
    assert out_image.shape == (3, H, W)
    assert label == 7
    assert int(hidden_count(out_image)) == target_count(0.3, H * W)
    torch.manual_seed(0)
    pair = pipeline((image, torch.tensor(3)))  # one tuple
    assert isinstance(pair, tuple)
    assert torch.equal(pair[0], out_image)
    assert int(pair[1]) == 3


def test_detection_dict_boxes_masks_and_labels_are_untouched():
    image = tv_tensors.Image(torch.ones(3, H, W))
    boxes = tv_tensors.BoundingBoxes(
        [[2.0, 3.0, 20.0, 25.0], [0.0, 0.0, 31.0, 31.0]], format="XYXY", canvas_size=(H, W)
    )
    seg = tv_tensors.Mask(torch.ones(2, H, W, dtype=torch.uint8))
    sample = {"image": image, "boxes": boxes, "masks": seg, "labels": torch.tensor([1, 2])}
    out = v2.Compose([v2.RandomHorizontalFlip(p=1.0), Occlude("rectangles", 0.4)])(sample)
    assert set(out) == set(sample)
    assert type(out["image"]) is tv_tensors.Image
    assert int(hidden_count(out["image"])) == target_count(0.4, H * W)
    flipped = v2.RandomHorizontalFlip(p=1.0)(sample)
    assert type(out["boxes"]) is tv_tensors.BoundingBoxes
    assert torch.equal(out["boxes"], flipped["boxes"])
    assert out["boxes"].format == boxes.format
    assert out["boxes"].canvas_size == (H, W)
    assert type(out["masks"]) is tv_tensors.Mask
    assert (out["masks"] == 1).all()
    assert torch.equal(out["labels"], torch.tensor([1, 2]))


def test_ignore_index_marks_the_hidden_pixels_of_a_segmentation_mask():
    image = tv_tensors.Image(torch.ones(3, H, W))
    target = tv_tensors.Mask(torch.randint(0, 5, (H, W)))
    t = Occlude("perlin", 0.5, ignore_index=255, return_mask=True)
    (out_image, out_target), mask = t((image, target))
    assert type(out_target) is tv_tensors.Mask
    assert out_target.dtype == target.dtype
    assert (out_target[mask] == 255).all()
    assert torch.equal(out_target[~mask], target[~mask])
    assert int(hidden_count(out_image)) == int(mask.sum())
    assert (out_image[:, mask] == 0).all()


@pytest.mark.parametrize("batched", [False, True])
def test_videos_need_no_layout(batched):
    shape = (2, 4, 1, H, W) if batched else (4, 1, H, W)
    video = tv_tensors.Video(torch.ones(shape))
    out, mask = Occlude("cgol", 0.25, return_mask=True)(video)
    assert type(out) is tv_tensors.Video
    assert mask.shape == (*shape[:-3], H, W)
    assert (hidden_count(out) == target_count(0.25, H * W)).all()
    assert torch.equal(out[..., 0, :, :] == 0, mask)
    if batched:
        assert not torch.equal(mask[0], mask[1])  # one mask per sample


def test_image_batches_get_one_mask_per_sample():
    images = tv_tensors.Image(torch.ones(3, 3, H, W))
    out, mask = Occlude("bernoulli", 0.5, return_mask=True)(images)
    assert type(out) is tv_tensors.Image
    assert mask.shape == (3, H, W)
    assert len({bytes(m.numpy()) for m in mask}) == 3


def test_pure_tensors_follow_v2s_rule():
    first, second = torch.ones(3, H, W), torch.ones(3, H, W)
    a, b = Occlude("perlin", 0.5)((first, second))  # the first pure tensor is the image
    assert (a == 0).any()
    assert torch.equal(b, second)
    image = tv_tensors.Image(torch.ones(3, H, W))
    plain, out_image = Occlude("perlin", 0.5)([first, image])  # with an Image, pure tensors pass
    assert torch.equal(plain, first)
    assert (out_image == 0).any()


def test_make_params_and_apply_replay_a_structure():
    sample = {"image": tv_tensors.Image(torch.rand(3, H, W)), "label": 4}
    t = Occlude("triangles", (0.2, 0.6), return_mask=True)
    params = t.make_params(sample)
    assert set(params) == {"seeds", "coverages", "shape"}
    assert params["shape"] == (H, W)
    (first, mask), (again, mask2) = t.apply(sample, params), t.apply(sample, params)
    assert torch.equal(first["image"], again["image"])
    assert torch.equal(mask, mask2)
    assert first["label"] == 4
    assert int(mask.sum()) == target_count(params["coverages"][0], H * W)


def test_no_image_or_a_pil_image_is_refused():
    boxes = tv_tensors.BoundingBoxes([[0, 0, 4, 4]], format="XYXY", canvas_size=(H, W))
    with pytest.raises(TypeError, match="nothing to occlude"):
        Occlude("perlin", 0.5)({"boxes": boxes, "label": 1})
    pil = pytest.importorskip("PIL.Image")
    with pytest.raises(TypeError, match=r"PIL image.*ToImage"):
        Occlude("perlin", 0.5)(pil.new("RGB", (W, H)))


class Pairs(torch.utils.data.Dataset):
    def __init__(self, transform):
        self.transform = transform

    def __len__(self):
        return 8

    def __getitem__(self, index):
        return self.transform(tv_tensors.Image(torch.ones(3, 40, 40)), index)


@pytest.mark.filterwarnings("ignore:This DataLoader will create:UserWarning")
def test_dataloader_with_workers():
    om.warmup()  # compile once in the parent, before forking
    pipeline = v2.Compose([v2.RandomResizedCrop((H, W), antialias=True), Occlude("perlin", 0.4)])
    loader = torch.utils.data.DataLoader(Pairs(pipeline), batch_size=4, num_workers=2)
    torch.manual_seed(1)
    batches = list(loader)
    images = torch.cat([b[0] for b in batches])
    labels = torch.cat([b[1] for b in batches])
    assert torch.equal(labels, torch.arange(8))
    hidden = (images == 0).all(dim=1)
    assert (hidden.sum(dim=(1, 2)) == target_count(0.4, H * W)).all()
    assert len({bytes(m.numpy()) for m in hidden}) == 8  # every sample its own mask
    torch.manual_seed(1)
    again = torch.cat([b[0] for b in loader])
    assert torch.equal(images, again)


def test_classic_compose_too():
    transforms = pytest.importorskip("torchvision.transforms")
    x = torch.ones(3, 4, 1, 16, 16)
    for compose in (transforms.Compose, v2.Compose):
        y = compose([Occlude("perlin", 0.5)])(x)
        assert (y == 0).float().mean().item() == 0.5
    np.testing.assert_equal(v2.Compose([Occlude("perlin", 0.5, p=0.0)])(x).numpy(), x.numpy())
