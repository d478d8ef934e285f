"""The classifiers: small CNNs trained on clean Moving MNIST frames.

Two deliberately ordinary architectures, nothing in them knows about occlusion:

- ``"globalpool"``: three convolutions with batch normalisation and pooling, a
  global max pool (the digit may sit anywhere on the canvas) and one linear layer;
- ``"flatten"``: the same convolutions, then a 2 x 2 max pool, flatten and one
  linear layer, like the blog post's conv + pool + flatten + linear network: the
  classifier sees where on the canvas the evidence is.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from .config import ARCHS

__all__ = ["History", "Stacked", "build_cnn", "layer_table", "log_probs", "train"]


def build_cnn(n_classes: int = 10, *, arch: str = "globalpool", seed: int | None = None) -> nn.Sequential:
    """Build one of the study's CNNs for one-channel 64 x 64 frames.

    Parameters
    ----------
    n_classes : int, default 10
        Number of output classes.
    arch : {"globalpool", "flatten"}
        See :data:`occmask.study.config.ARCHS`; ``"globalpool"`` takes frames of any size, ``"flatten"``
        64 x 64 frames.
    seed : int, optional
        Seed for the initial weights (drawn without touching torch's global
        random state); None uses the global state.

    Returns
    -------
    torch.nn.Sequential
        Maps ``(B, 1, H, W)`` frames with values in [0, 1] to ``(B, n_classes)`` logits.

    Examples
    --------
    >>> import torch
    >>> build_cnn(seed=0)(torch.zeros(2, 1, 64, 64)).shape
    torch.Size([2, 10])
    >>> build_cnn(arch="flatten", seed=0)(torch.zeros(2, 1, 64, 64)).shape
    torch.Size([2, 10])
    """
    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {list(ARCHS)}, got {arch!r}")

    def block(c_in: int, c_out: int, kernel: int, stride: int = 1) -> list[nn.Module]:
        conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False)
        return [conv, nn.BatchNorm2d(c_out), nn.ReLU()]

    with torch.random.fork_rng(devices=[], enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        features = [*block(1, 16, 5, stride=2), nn.MaxPool2d(2), *block(16, 32, 3), nn.MaxPool2d(2)]
        features += block(32, 64, 3)
        if arch == "flatten":  # where the evidence lies on the canvas reaches the classifier
            head = [nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 4 * 4, n_classes)]
        else:
            head = [nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(64, n_classes)]
    # channels-last weights make oneDNN's CPU convolutions and poolings about 1.6x faster on these
    # small frames; inputs stay (B, C, H, W) and Flatten reads them in that logical order
    model = nn.Sequential(*features, *head)
    return model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # not in torch's stubs


@dataclass
class History:
    """Per-epoch training record: mean train loss/accuracy and validation loss/accuracy."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)


def _as_input(frames: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 frames (B, H, W) -> float tensor (B, 1, H, W) in [0, 1]."""
    return torch.from_numpy(frames).to(device).unsqueeze(1).float().div_(255.0)


@torch.inference_mode()
def log_probs(
    model: nn.Module,
    frames: np.ndarray,
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 128,
) -> np.ndarray:
    """Per-frame class log-probabilities of clean frames (validation during training).

    Occluded test videos are scored by :func:`occmask.robustness.evaluate`.

    Parameters
    ----------
    model : torch.nn.Module
        Classifier returning logits.
    frames : ndarray of uint8, shape (..., H, W)
        Frames in any leading layout (e.g. videos ``(N, T, H, W)``).
    device : str or torch.device
        Where to run the model.
    batch_size : int
        Frames per forward pass.

    Returns
    -------
    ndarray of float32, shape (..., n_classes)

    Examples
    --------
    >>> import numpy as np
    >>> lp = log_probs(build_cnn().eval(), np.zeros((2, 3, 64, 64), np.uint8))
    >>> lp.shape, bool(np.allclose(np.exp(lp).sum(-1), 1, atol=1e-5))
    ((2, 3, 10), True)
    """
    device = torch.device(device)
    lead = frames.shape[:-2]
    flat = frames.reshape(-1, *frames.shape[-2:])
    model.eval()
    chunks = []
    for start in range(0, flat.shape[0], batch_size):
        x = _as_input(flat[start : start + batch_size], device)
        chunks.append(F.log_softmax(model(x), dim=1).float().cpu().numpy())
    return np.concatenate(chunks).reshape(*lead, -1)


def _evaluate(
    model: nn.Module, frames: np.ndarray, labels: np.ndarray, device: torch.device
) -> tuple[float, float]:
    lp = log_probs(model, frames, device=device)
    loss = -float(np.mean(lp[np.arange(labels.size), labels]))
    return loss, float(np.mean(lp.argmax(1) == labels))


def train(
    model: nn.Module,
    sample_frames: Callable[[int], np.ndarray],
    labels: np.ndarray,
    val_frames: np.ndarray,
    val_labels: np.ndarray,
    *,
    epochs: int,
    seed: int,
    device: str | torch.device = "cpu",
    batch_size: int = 64,
    lr: float = 2e-3,
    progress: bool = True,
) -> History:
    """Train ``model`` with Adam and a cosine learning-rate schedule.

    Parameters
    ----------
    model : torch.nn.Module
        Classifier returning logits; trained in place.
    sample_frames : callable
        ``sample_frames(epoch)`` returns fresh uint8 frames ``(n, H, W)``, one
        per training label (new positions every epoch).
    labels : ndarray of int, shape (n,)
        Class of each training frame.
    val_frames, val_labels : ndarray
        Fixed validation frames ``(m, H, W)`` and their classes.
    epochs : int
        Passes over the training digits.
    seed : int
        Seeds the batch order.
    device : str or torch.device
        Where to train.
    batch_size : int
        Frames per step.
    lr : float
        Peak learning rate.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    History
        Per-epoch train/validation loss and accuracy.

    Examples
    --------
    >>> import numpy as np
    >>> frames = np.zeros((8, 64, 64), np.uint8)
    >>> h = train(build_cnn(), lambda epoch: frames, np.arange(8) % 2, frames, np.arange(8) % 2,
    ...           epochs=1, seed=0, progress=False)
    >>> len(h.val_acc)
    1
    """
    device = torch.device(device)
    model.to(device)
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = math.ceil(labels.size / batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=max(1, epochs * steps_per_epoch))
    y_all = torch.from_numpy(labels).to(device)
    history = History()
    bar = tqdm(total=epochs * steps_per_epoch, desc="train", unit="batch", disable=not progress, leave=False)
    for epoch in range(epochs):
        model.train()
        x_all = sample_frames(epoch)
        order = torch.randperm(labels.size, generator=generator).numpy()
        total_loss = total_correct = 0.0
        for start in range(0, labels.size, batch_size):
            idx = order[start : start + batch_size]
            logits = model(_as_input(x_all[idx], device))
            loss = F.cross_entropy(logits, y_all[idx])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            total_loss += float(loss.detach()) * idx.size
            total_correct += float((logits.argmax(1) == y_all[idx]).sum())
            bar.update()
        history.train_loss.append(total_loss / labels.size)
        history.train_acc.append(total_correct / labels.size)
        val_loss, val_acc = _evaluate(model, val_frames, val_labels, device)
        history.val_loss.append(val_loss)
        history.val_acc.append(val_acc)
        bar.set_postfix(epoch=epoch + 1, val_acc=f"{val_acc:.3f}")
    bar.close()
    return history


class Stacked(nn.Module):
    """Several classifiers run on the same batch, their logits side by side: ``(B, M * K)``.

    Scoring the stack once scores every member on the same occluded frames, so each
    mask is made and applied once for all models; :func:`occmask.study.run.split`
    takes each member's block back out.

    Examples
    --------
    >>> import torch
    >>> Stacked([build_cnn(seed=0), build_cnn(seed=1)])(torch.zeros(2, 1, 64, 64)).shape
    torch.Size([2, 20])
    """

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([member(x) for member in self.members], dim=1)


def layer_table(model: nn.Module, shape: tuple[int, ...] = (1, 1, 64, 64)) -> list[dict]:
    """Each layer of a sequential model: its name, output shape and parameter count.

    Examples
    --------
    >>> rows = layer_table(build_cnn(arch="flatten", seed=0))
    >>> rows[0]["output"], rows[-1]["output"], sum(r["parameters"] for r in rows)
    ((16, 32, 32), (10,), 33914)
    """
    rows = []
    x = torch.zeros(shape)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for layer in model.children():
            x = layer(x)
            rows.append(
                {
                    "layer": repr(layer),
                    "output": tuple(x.shape[1:]),
                    "parameters": sum(p.numel() for p in layer.parameters()),
                }
            )
    model.train(was_training)
    return rows
