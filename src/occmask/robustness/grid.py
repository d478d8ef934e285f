"""The evaluation grid: a model scored on every (temporal mode, family, coverage) of the same samples.

Every sample gets its mask from :func:`occmask.robustness.cells.make_masks`, a
function of ``(seed, family, coverage, temporal, index)`` only, so two models or
two runs see identical occlusions. Masks are made on the CPU by the batch engine
(:class:`occmask._batch.MaskMaker`, the one ``Occlude`` uses), a cell a thread,
a few cells ahead of the model.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _validate
from ..apply import occlude
from ..calibrate import MATCHES
from ..describe import describe
from ..families import TEMPORAL
from .cells import OUTPUTS, Cell, Setting, make_mask, make_masks, occluded
from .metrics import RULES

if TYPE_CHECKING:
    from .report import Report
    from .shards import PartialReport

__all__ = ["evaluate"]

_SUM_TOLERANCE = 1e-3  # how far from 1 a row of probabilities may sum (float32 softmax outputs)

# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class _Source:
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
                x, y = _numpy(self.data[0][start:stop]), _numpy(self.data[1][start:stop])
            else:
                items = [self.data[i] for i in range(start, stop)]
                x = np.stack([_sample(self, _numpy(item[0]), start + k) for k, item in enumerate(items)])
                y = np.array([_label(item[1], start + k) for k, item in enumerate(items)])
            x = x.astype(np.float32, copy=False)
            yield start, (x if self.video else x[:, None]), y.astype(np.int64)


def _numpy(value: Any) -> np.ndarray:
    if type(value).__module__.split(".")[0] == "torch":
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _sample(source: _Source, x: np.ndarray, index: int) -> np.ndarray:
    expected = source.shape if source.video else source.shape[1:]
    if x.shape != expected:
        raise ValueError(f"data item {index} has x of shape {x.shape}; item 0 has {expected}")
    return x


def _label(y: Any, index: int) -> int:
    value = _numpy(y)
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


def _source(data: Any) -> _Source:
    if isinstance(data, tuple) and len(data) == 2:
        x, y = data
        if not hasattr(x, "shape") or not hasattr(y, "shape"):
            raise TypeError(
                f"data must be a pair (x, y) of arrays or tensors, got {type(x).__name__}, {type(y).__name__}"
            )
        shape, video = _check_x(x, "data x")
        n = int(x.shape[0])
        y_np = _numpy(y)
        if y_np.shape != (n,) or not np.issubdtype(y_np.dtype, np.integer):
            raise ValueError(
                f"data y must be {n} integer labels of shape ({n},), got {y_np.dtype} {y_np.shape}"
            )
        if n == 0:
            raise ValueError("data is empty: x has 0 samples")
        return _Source(data, n, shape, video, True)
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
        x0 = _numpy(first[0])
        shape, video = _check_x(x0[None], "data items' x (with a leading sample axis)")
        _label(first[1], 0)
        return _Source(data, n, shape, video, False)
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


def _raw(model: Any, x: np.ndarray, device: str, where: str) -> np.ndarray:
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


def _forward(model: Any, x: np.ndarray, setting: Setting, where: str) -> np.ndarray:
    """Log-probabilities ``(n, T, K)`` of float32 samples ``(n, T, C, H, W)``; ``where`` names them."""
    n, t = x.shape[:2]
    assert setting.output is not None  # resolved by the dry run
    return _log_probs(_raw(model, x, setting.device, where), setting.output, where).reshape(n, t, -1)


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


def _log_probs(out: np.ndarray, output: str, where: str) -> np.ndarray:
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


def _looks_like_probs(out: np.ndarray) -> bool:
    return bool(
        (out >= 0).all() and (out <= 1).all() and np.allclose(out.sum(axis=1), 1, atol=_SUM_TOLERANCE)
    )


def _check_labels(y: np.ndarray, k: int, start: int) -> None:
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


def _setting(**given: Any) -> Setting:
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


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def set_postfix_str(self, text: str) -> None:
        return None

    def update(self) -> None:
        return None


def _bar(progress: bool, total: int) -> Any:
    """A tqdm progress bar over cells, or a silent stand-in when hidden or tqdm is not installed."""
    if progress:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return _NoBar()
        return tqdm(total=total, desc="evaluate", unit="cell", leave=False)
    return _NoBar()


def _workers() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(8, cores - 1))


def _masks(
    setting: Setting, key: tuple[str, str, float], start: int, x: np.ndarray
) -> tuple[np.ndarray, dict]:
    """The masks of one batch in one cell and their per-frame descriptors."""
    masks, regions = make_masks(setting, key, start, x)
    described = [describe(m) for m in masks]
    fields = {
        "realised": np.stack([d.coverage for d in described]),
        "n_components": np.stack([d.n_components for d in described]),
        "largest_fraction": np.stack([d.largest_fraction for d in described]),
    }
    if regions is not None:
        region = np.stack(regions)
        total = region.sum(axis=(-2, -1))
        with np.errstate(invalid="ignore", divide="ignore"):
            fields["region_hidden"] = (region & masks).sum(axis=(-2, -1)) / np.where(total > 0, total, np.nan)
    return masks, fields


_DRY_RUN = 16  # samples scored clean before the grid (and to recognise probabilities)


def _dry_run(model: Any, setting: Setting, source: _Source) -> tuple[np.ndarray, Setting]:
    """Score the first samples clean and make sample 0's masks once per family and mode: every error
    before the grid. Returns the first samples' clean log-probabilities ``(n * T, K)`` and the setting
    with its ``output`` resolved."""
    _, x, y = next(source.batches(min(_DRY_RUN, source.n)))
    where = f"the clean samples 0..{len(y) - 1}"
    raw = _raw(model, x, setting.device, where)
    output = setting.output or ("probs" if _looks_like_probs(raw) else "logits")
    setting = replace(setting, output=output)
    probe = _log_probs(raw, output, where)
    k = probe.shape[-1]
    if source.indexable:
        _check_labels(_numpy(source.data[1]).astype(np.int64), k, 0)
    else:
        _check_labels(y, k, 0)
    coverage = next((c for c in setting.coverages if c > 0), None)
    x = x[:1]
    for temporal in setting.temporal:
        for family in setting.families:
            if coverage is not None:
                key = (temporal, family, coverage)
                occluded(setting, key, 0, x, make_mask(setting, family, coverage, temporal, 0, x[0])[None])
    if coverage is None:
        occlude(x[0], np.zeros((x.shape[1], *x.shape[-2:]), dtype=bool), setting.fill, layout="TCHW")
    return probe, setting


def evaluate(
    model: Any,
    data: Any,
    *,
    families: Sequence[str] | None = None,
    coverages: Sequence[float] = (0.0, 0.2, 0.4, 0.6),
    temporal: Sequence[str] = ("evolving",),
    fill: Any = 0.0,
    region: Callable[[np.ndarray], np.ndarray] | None = None,
    rules: Sequence[str] = ("mean_logprob",),
    match: str = "frame",
    params: Mapping[str, Mapping[str, Any]] | None = None,
    reference: str | None = None,
    n_boot: int = 1000,
    ece_bins: int = 15,
    seed: int = 0,
    batch_size: int = 256,
    device: str = "cpu",
    progress: bool = True,
    output: str | None = None,
    shard: tuple[int, int] | None = None,
) -> Report | PartialReport:
    """Score a classifier under every mask family and coverage, on identical masks.

    Parameters
    ----------
    model : callable
        An ``nn.Module`` or a function mapping a float32 batch ``(N, C, H, W)``
        to logits ``(N, K)`` (or probabilities, see ``output``), as a tensor or
        an array. It gets a torch tensor on ``device`` when torch is installed,
        else a NumPy array. A module is put in eval mode and moved to
        ``device`` (its training flag is restored afterwards).
    data : (x, y) or Dataset
        A pair of arrays or tensors, ``x`` images ``(N, C, H, W)`` or videos
        ``(N, T, C, H, W)`` and ``y`` integer labels ``(N,)``; or a torch-style
        Dataset (``len`` and ``[i]``) yielding ``(x, y)`` pairs, read batch by
        batch. Values are cast to float32 unchanged; occlusion sets hidden
        pixels to ``fill`` in those units.
    families : sequence of str, optional
        Mask families (names in ``occmask.FAMILIES``, user-registered ones
        included); default every registered family.
    coverages : sequence of float
        Coverages in [0, 1]; coverage 0 is the clean data, shared by all families.
    temporal : sequence of str
        Temporal modes of the masks: ``"evolving"``, ``"static"``, ``"independent"``.
    fill : scalar, sequence or ndarray
        Value of hidden pixels, as in :func:`occmask.occlude` (one number, one
        per channel, or an array broadcasting to a sample).
    region : callable, optional
        ``region(sample) -> bool mask`` for a sample ``(T, C, H, W)``, of shape
        ``(T, H, W)`` or ``(H, W)``: the coverage is then the share of the
        region hidden (passed to the families as ``region=``), and rows report
        the realised region share.
    rules : sequence of str
        How video predictions pool their frames' log-probabilities
        (``"sum_logprob"``, ``"mean_logprob"``, ``"mean_prob"``; see
        :data:`occmask.robustness.metrics.RULES`). Ignored for images.
    match : {"frame", "video", "expected"}
        Coverage matching, as in :func:`occmask.generate`.
    params : mapping, optional
        Family name -> parameters, e.g. ``{"perlin": {"scale": 8}}``.
    reference : str, optional
        The family every other is compared with; default ``"bernoulli"`` when
        it runs, else the first family.
    n_boot : int, default 1000
        Bootstrap resamples of the samples (shared by every condition, so
        comparisons are paired).
    ece_bins : int, default 15
        Equal-width confidence bins of the ECE.
    seed : int, default 0
        Root of the mask seeds and of the bootstrap resamples.
    batch_size : int, default 256
        Frames per forward pass (a batch holds ``batch_size // T`` videos, at least one).
    device : str, default "cpu"
        Where the model runs; batches are moved there one at a time. Any other
        device than ``"cpu"`` needs torch (``pip install 'occmask[torch]'``).
    progress : bool, default True
        Show a progress bar over cells (when tqdm is installed).
    output : {"logits", "probs", "logprobs"}, optional
        What the model returns. By default logits, unless the clean outputs of
        the first samples are rows of probabilities (in [0, 1], summing to 1),
        then probabilities. Non-finite outputs are refused with an error naming the cell.
    shard : (int, int), optional
        ``(index, count)``: evaluate only shard ``index`` of ``count``, a contiguous
        run of whole batches of the samples (see
        :func:`~occmask.robustness.shards.plan`), with the very masks, noise and
        batches those samples get in a single run, and return a
        :class:`~occmask.robustness.shards.PartialReport`;
        :func:`~occmask.robustness.merge` makes the report of every shard's part.
        By default, under an initialised ``torch.distributed`` process group,
        every rank evaluates shard ``(rank, world size)``
        (its model on its own ``device``), the parts are gathered and every rank
        returns the merged report; otherwise one process evaluates everything.

    Returns
    -------
    Report or PartialReport
        Rows of metrics with 95% intervals, paired comparisons and the masks'
        descriptors; with ``shard``, the partial report of that shard.

    Raises
    ------
    ValueError, TypeError
        Before any work, naming the argument: empty data or data of the wrong
        rank, labels outside the model's classes, a model output that is not
        a real ``(N, K)`` array or tensor or not finite, an unknown family,
        mode, rule, parameter or device, a bad fill, a shard that is not a pair
        ``(index, count)`` with ``0 <= index < count``.

    Examples
    --------
    >>> import numpy as np
    >>> from occmask.robustness import evaluate
    >>> x = np.random.default_rng(0).random((20, 1, 16, 16), dtype=np.float32)
    >>> y = (x[:, 0, :8].mean((1, 2)) > x[:, 0, 8:].mean((1, 2))).astype(int)
    >>> def model(batch):  # top half brighter than bottom half -> class 1
    ...     top, bottom = batch[:, 0, :8].mean((1, 2)), batch[:, 0, 8:].mean((1, 2))
    ...     return 20 * np.stack([bottom - top, top - bottom], axis=1)
    >>> r = evaluate(model, (x, y), families=["bernoulli", "perlin"], coverages=[0, 0.5],
    ...              n_boot=100, progress=False)
    >>> [(row["family"], row["coverage"], row["accuracy"]) for row in r.rows][:2]
    [('bernoulli', 0.0, 1.0), ('bernoulli', 0.5, 0.65)]
    """
    from .shards import check_shard, combine, gather, process_group

    started = time.perf_counter()
    given = {
        "families": families,
        "coverages": coverages,
        "temporal": temporal,
        "fill": fill,
        "region": region,
        "rules": rules,
        "match": match,
        "params": params,
        "reference": reference,
        "n_boot": n_boot,
        "ece_bins": ece_bins,
        "seed": seed,
        "batch_size": batch_size,
        "device": device,
        "progress": progress,
        "output": output,
    }
    if shard is not None:
        return _part(model, data, given, check_shard(shard))
    ranks = process_group()
    if ranks is None:
        part = _part(model, data, given, (0, 1))
        return combine([part], part.setting, started)
    given["progress"] = progress and ranks[0] == 0  # one bar, on rank 0
    parts = gather(lambda found: _part(model, data, given, found), ranks)
    return combine(parts, parts[0].setting, started)


def _part(model: Any, data: Any, given: dict[str, Any], shard: tuple[int, int]) -> PartialReport:
    """Check the arguments of :func:`evaluate` and run the grid on the samples of ``shard``."""
    from concurrent.futures import ThreadPoolExecutor

    from .shards import PartialReport, plan, signature

    started = time.perf_counter()
    timings = {"masks": 0.0, "model": 0.0}

    @contextlib.contextmanager
    def clock(stage: str) -> Iterator[None]:
        begin = time.perf_counter()
        yield
        timings[stage] += time.perf_counter() - begin

    setting = _setting(**given)
    source = _source(data)
    if not callable(model):
        raise TypeError(f"model must be callable (an nn.Module or a function), got {type(model).__name__}")
    training = getattr(model, "training", None)
    if hasattr(model, "eval") and hasattr(model, "to"):
        model.eval()
        model.to(setting.device)
    try:
        probe, setting = _dry_run(model, setting, source)
        k = probe.shape[-1]
        t, _, h, w = source.shape
        grid = [(tm, f, c) for tm in setting.temporal for f in setting.families for c in setting.coverages]
        hidden = [key for key in grid if key[2] > 0]
        per_batch = max(1, setting.batch_size // t)
        first, last = plan(source.n, per_batch, shard)
        n = last - first
        logp = {key: np.empty((n, t, k), np.float32) for key in hidden}
        fields: dict[tuple, dict[str, np.ndarray]] = {key: {} for key in hidden}
        clean = np.empty((n, t, k), np.float32)
        labels = np.empty(n, np.int64)
        n_batches = math.ceil(n / per_batch)
        workers = _workers()
        with (
            ThreadPoolExecutor(max_workers=workers) as pool,
            _bar(setting.progress, len(hidden) * n_batches) as bar,
        ):
            for start, x, y in source.batches(per_batch, first, last):
                _check_labels(y, k, start)
                stop = start + len(y)
                rows = slice(start - first, stop - first)
                labels[rows] = y
                with clock("model"):
                    clean[rows] = _forward(model, x, setting, f"the clean samples {start}..{stop - 1}")
                todo = iter(hidden)
                pending: deque = deque()
                for key in todo:
                    pending.append((key, pool.submit(_masks, setting, key, start, x)))
                    if len(pending) > workers:
                        break
                while pending:
                    key, future = pending.popleft()
                    nxt = next(todo, None)
                    if nxt is not None:
                        pending.append((nxt, pool.submit(_masks, setting, nxt, start, x)))
                    with clock("masks"):  # waiting for the pool, then applying
                        masks, found = future.result()
                        seen = occluded(setting, key, start, x, masks)
                    with clock("model"):
                        where = "cell ({}, {}, coverage {:g}), samples {}..{}".format(*key, start, stop - 1)
                        logp[key][rows] = _forward(model, seen, setting, where)
                    for name, values in found.items():
                        fields[key].setdefault(name, np.empty((n, t), values.dtype))[rows] = values
                    bar.set_postfix_str("{} {} {:g}".format(*key))
                    bar.update()
    finally:
        if training is not None and hasattr(model, "train"):
            model.train(training)
    cells = []
    for temporal, family, coverage in grid:
        found = fields[(temporal, family, coverage)] if coverage > 0 else {}
        if not found:  # coverage 0 (the clean predictions, no mask) or an empty shard
            zeros = np.zeros((n, t))
            found = {"realised": zeros, "n_components": zeros.astype(np.int64), "largest_fraction": zeros}
            if setting.region is not None:
                found["region_hidden"] = zeros
        cells.append(
            Cell(
                temporal,
                family,
                coverage,
                logp=logp.get((temporal, family, coverage), clean),
                realised=found["realised"],
                n_components=found["n_components"],
                largest_fraction=found["largest_fraction"],
                region_hidden=found.get("region_hidden"),
            )
        )
    timings["grid"] = time.perf_counter() - started
    return PartialReport(
        setting, shard, source.n, first, last, labels, cells, source.video, (t, h, w), k, signature(setting),
        probe, {key: round(value, 4) for key, value in timings.items()},
    )  # fmt: skip
