"""What :func:`occmask.robustness.evaluate` takes in, checked: the data (arrays, pairs or a
dataset), the model's outputs (logits, probabilities or log-probabilities, finite, of the
right shape) and the arguments of the grid, each refused with a message naming it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _validate
from ..calibrate import MATCHES
from ..families import TEMPORAL
from .cells import OUTPUTS, Setting
from .metrics import RULES

__all__ = [
    "Source",
    "as_numpy",
    "check_labels",
    "checked_setting",
    "forward",
    "log_probs",
    "looks_like_probs",
    "raw_outputs",
    "source_of",
]

_SUM_TOLERANCE = 1e-3  # how far from 1 a row of probabilities may sum (float32 softmax outputs)

# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Source:
    """Samples as float32 ``(n, T, C, H, W)`` batches, from arrays or a Dataset, streamed."""

    data: Any
    n: int
    shape: tuple[int, int, int, int]  # T, C, H, W of one sample
    video: bool
    indexable: bool  # (x, y) arrays rather than a Dataset

    def batches(
        self, size: int, first: int = 0, last: int | None = None
    ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Batches of ``size`` samples from ``first`` on, up to ``last`` (default: the end)."""
        end = self.n if last is None else last
        for start in range(first, end, size):
            stop = min(end, start + size)
            if self.indexable:
                x, y = as_numpy(self.data[0][start:stop]), as_numpy(self.data[1][start:stop])
            else:
                items = [self.data[i] for i in range(start, stop)]
                x = np.stack([_sample(self, as_numpy(item[0]), start + k) for k, item in enumerate(items)])
                y = np.array([_label(item[1], start + k) for k, item in enumerate(items)])
            x = x.astype(np.float32, copy=False)
            yield start, (x if self.video else x[:, None]), y.astype(np.int64)


def as_numpy(value: Any) -> np.ndarray:
    if type(value).__module__.split(".")[0] == "torch":
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _sample(source: Source, x: np.ndarray, index: int) -> np.ndarray:
    expected = source.shape if source.video else source.shape[1:]
    if x.shape != expected:
        raise ValueError(f"data item {index} has x of shape {x.shape}; item 0 has {expected}")
    return x


def _label(y: Any, index: int) -> int:
    value = as_numpy(y)
    if value.size != 1 or not np.issubdtype(value.dtype, np.integer):
        raise TypeError(f"data item {index} has label {y!r}; labels must be integers")
    return int(value.reshape(()))


def _check_x(x: np.ndarray | Any, what: str) -> tuple[tuple[int, int, int, int], bool]:
    shape = tuple(x.shape)
    if len(shape) not in (4, 5) or min(shape[1:], default=0) < 1:
        raise ValueError(
            f"{what} must be images (N, C, H, W) or videos (N, T, C, H, W) with non-empty axes, "
            f"got shape {shape}"
        )
    kind = getattr(x, "dtype", None)
    if kind is not None and str(kind).replace("torch.", "") in ("bool", "complex64", "complex128"):
        raise TypeError(f"{what} must hold real numbers, got dtype {kind}")
    video = len(shape) == 5
    t_c_h_w = shape[1:] if video else (1, *shape[1:])
    return (t_c_h_w[0], t_c_h_w[1], t_c_h_w[2], t_c_h_w[3]), video


def source_of(data: Any) -> Source:
    if isinstance(data, tuple) and len(data) == 2:
        x, y = data
        if not hasattr(x, "shape") or not hasattr(y, "shape"):
            raise TypeError(
                f"data must be a pair (x, y) of arrays or tensors, got {type(x).__name__}, {type(y).__name__}"
            )
        shape, video = _check_x(x, "data x")
        n = int(x.shape[0])
        y_np = as_numpy(y)
        if y_np.shape != (n,) or not np.issubdtype(y_np.dtype, np.integer):
            raise ValueError(
                f"data y must be {n} integer labels of shape ({n},), got {y_np.dtype} {y_np.shape}"
            )
        if n == 0:
            raise ValueError("data is empty: x has 0 samples")
        return Source(data, n, shape, video, True)
    if isinstance(data, (Mapping, str, bytes)):
        raise TypeError(
            "data must be a pair (x, y) of arrays/tensors or a Dataset yielding (x, y) pairs by integer "
            f"index, got {type(data).__name__}"
        )
    if hasattr(data, "__getitem__") and hasattr(data, "__len__"):
        n = len(data)
        if n == 0:
            raise ValueError("data is empty: the dataset has length 0")
        first = data[0]
        if not (isinstance(first, (tuple, list)) and len(first) == 2):
            raise TypeError(f"data items must be pairs (x, y), item 0 is {type(first).__name__}")
        x0 = as_numpy(first[0])
        shape, video = _check_x(x0[None], "data items' x (with a leading sample axis)")
        _label(first[1], 0)
        return Source(data, n, shape, video, False)
    raise TypeError(
        "data must be a pair (x, y) of arrays/tensors or a Dataset yielding (x, y), "
        f"got {type(data).__name__}"
    )


# --------------------------------------------------------------------------- model


def _torch(device: str) -> Any:
    """torch, or None when it is not installed and not needed (the model runs on NumPy on the CPU)."""
    try:
        import torch
    except ImportError:
        if device != "cpu":
            raise ModuleNotFoundError(
                f"device={device!r} needs torch: pip install 'occmask[torch]' (on the base install, "
                "evaluate passes NumPy arrays to the model on the CPU)"
            ) from None
        return None
    return torch


def raw_outputs(model: Any, x: np.ndarray, device: str, where: str) -> np.ndarray:
    """The model's checked outputs ``(n * T, K)`` for float32 samples ``(n, T, C, H, W)``."""
    n, t = x.shape[:2]
    flat = np.ascontiguousarray(x).reshape(n * t, *x.shape[2:])
    torch = _torch(device)
    if torch is None:
        out = model(flat)
    else:
        with torch.inference_mode():
            out = model(torch.from_numpy(flat).to(device, non_blocking=True))
    return _output(out, n * t, where)


def forward(model: Any, x: np.ndarray, setting: Setting, where: str) -> np.ndarray:
    """Log-probabilities ``(n, T, K)`` of float32 samples ``(n, T, C, H, W)``; ``where`` names them."""
    n, t = x.shape[:2]
    assert setting.output is not None  # resolved by the dry run
    return log_probs(raw_outputs(model, x, setting.device, where), setting.output, where).reshape(n, t, -1)


def _output(out: Any, n: int, where: str) -> np.ndarray:
    """A model's output as a float64 array ``(n, K)``, or an error saying what it returned."""
    torch = sys.modules.get("torch")  # a tensor exists only once torch is imported
    if torch is not None and isinstance(out, torch.Tensor):  # subclasses too
        out = out.detach().float().cpu().numpy()
    elif hasattr(out, "__array__") and not isinstance(out, np.ndarray):  # other array libraries
        out = np.asarray(out)
    kind = getattr(out, "dtype", None)
    if not isinstance(out, np.ndarray) or kind is None or kind.kind not in "fiu":
        what = f"{type(out).__name__}" + (f" of dtype {kind}" if kind is not None else "")
        raise TypeError(
            f"model must return logits (N, K) as a torch.Tensor or numpy.ndarray of real numbers; on {where} "
            f"it returned a {what}"
        )
    if out.ndim != 2 or out.shape[0] != n or out.shape[1] < 2:
        raise ValueError(
            f"model must map a batch (N, C, H, W) to logits (N, K) with K >= 2; for N = {n} on {where} it "
            f"returned shape {tuple(out.shape)}"
        )
    return out.astype(np.float64)


def log_probs(out: np.ndarray, output: str, where: str) -> np.ndarray:
    """Normalised float32 log-probabilities of checked outputs of kind ``output`` (see ``OUTPUTS``)."""
    bad = ~np.isfinite(out) if output != "logprobs" else np.isnan(out) | (out == np.inf)
    if bad.any():
        row = int(np.flatnonzero(bad.any(axis=1))[0])
        raise ValueError(
            f"model returned non-finite {output} on {where} (row {row}: {out[row].tolist()[:6]}); every "
            f"output must be a finite number" + ("" if output != "logprobs" else " or -inf")
        )
    if output == "probs":
        total = out.sum(axis=1)
        if (out < 0).any() or (out > 1).any() or not np.allclose(total, 1, atol=_SUM_TOLERANCE):
            worst = float(total[np.argmax(np.abs(total - 1))])
            raise ValueError(
                f"output='probs' needs rows of probabilities in [0, 1] summing to 1; on {where} a row sums "
                f"to {worst:.6g} (min {out.min():.3g}, max {out.max():.3g})"
            )
        with np.errstate(divide="ignore"):
            out = np.log(out)
    elif output == "logprobs":
        total = np.exp(out).sum(axis=1)
        if (out > 0).any() or not np.allclose(total, 1, atol=_SUM_TOLERANCE):
            raise ValueError(
                f"output='logprobs' needs rows of log-probabilities whose exponentials sum to 1; on {where} "
                f"one sums to {float(total[np.argmax(np.abs(total - 1))]):.6g}"
            )
    top = out.max(axis=1, keepdims=True)
    logp = out - top - np.log(np.exp(out - top).sum(axis=1, keepdims=True))
    return logp.astype(np.float32)


def looks_like_probs(out: np.ndarray) -> bool:
    return bool(
        (out >= 0).all() and (out <= 1).all() and np.allclose(out.sum(axis=1), 1, atol=_SUM_TOLERANCE)
    )


def check_labels(y: np.ndarray, k: int, start: int) -> None:
    bad = np.flatnonzero((y < 0) | (y >= k))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"labels must be in [0, {k}) for a model with {k} outputs; "
            f"sample {start + i} has label {int(y[i])}"
        )


# --------------------------------------------------------------------------- arguments


def _names(name: str, values: Any, allowed: Sequence[str]) -> tuple[str, ...]:
    values = (values,) if isinstance(values, str) else tuple(values)
    if not values:
        raise ValueError(f"{name} must name at least one of {list(allowed)}")
    return tuple(dict.fromkeys(_validate.choice(name, v, allowed) for v in values))


def _coverages(values: Any) -> tuple[float, ...]:
    if isinstance(values, (str, bytes, Mapping)) or not (np.ndim(values) == 0 or hasattr(values, "__iter__")):
        raise TypeError(f"coverages must be a number or a sequence of numbers in [0, 1], got {values!r}")
    values = (values,) if np.ndim(values) == 0 else tuple(np.asarray(values, dtype=object).ravel())
    if not values:
        raise ValueError("coverages must hold at least one value in [0, 1]")
    return tuple(sorted({_validate.coverage(v, "coverages") for v in values}))


def _params(params: Any, families: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    from ..families import FAMILIES

    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise TypeError(f"params must map family names to parameter dicts, got {type(params).__name__}")
    out = {}
    for family, given in params.items():
        if family not in families:
            raise ValueError(f"params names family {family!r}, which is not in families {list(families)}")
        FAMILIES[family].params(dict(given))  # raises naming the parameter
        out[family] = dict(given)
    return out


def _device(device: Any) -> str:
    if isinstance(device, str) and device == "cpu":
        return "cpu"
    torch = _torch(str(device))
    try:
        checked = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(
            f"device must name a torch device such as 'cpu' or 'cuda', got {device!r}"
        ) from error
    if checked.type == "meta":
        raise ValueError("device 'meta' holds no data; use 'cpu' or an accelerator such as 'cuda'")
    try:
        torch.empty(0, device=checked)
    except (RuntimeError, AssertionError, NotImplementedError) as error:
        raise ValueError(
            f"device {device!r} is not available in this torch build or machine ({error}); use 'cpu' or one "
            f"that torch can allocate on"
        ) from None
    return str(checked)


def checked_setting(**given: Any) -> Setting:
    from ..families import FAMILIES

    families = (
        tuple(FAMILIES)
        if given["families"] is None
        else _names("families", given["families"], tuple(FAMILIES))
    )
    reference = given["reference"]
    if reference is None:
        reference = "bernoulli" if "bernoulli" in families else families[0]
    if reference not in families:
        raise ValueError(f"reference {reference!r} must be one of families {list(families)}")
    region = given["region"]
    if region is not None and not callable(region):
        raise TypeError(
            f"region must be a callable mapping a sample (T, C, H, W) to a bool mask, got {region!r}"
        )
    return Setting(
        families=families,
        coverages=_coverages(given["coverages"]),
        temporal=_names("temporal", given["temporal"], TEMPORAL),
        fill=given["fill"],
        region=region,
        rules=_names("rules", given["rules"], tuple(RULES)),
        match=_validate.choice("match", given["match"], MATCHES),
        params=_params(given["params"], families),
        reference=reference,
        n_boot=_validate.integer("n_boot", given["n_boot"], low=10),
        ece_bins=_validate.integer("ece_bins", given["ece_bins"], low=1),
        seed=_validate.integer("seed", given["seed"], low=0),
        batch_size=_validate.integer("batch_size", given["batch_size"], low=1),
        device=_device(given["device"]),
        progress=bool(given["progress"]),
        output=None if given["output"] is None else _validate.choice("output", given["output"], OUTPUTS),
    )


# --------------------------------------------------------------------------- the grid
