"""Fourier masks: FMix's low-frequency noise (Harris et al. 2020, "FMix: Enhancing Mixed Sample
Data Augmentation", github.com/ecs-vlc/FMix).

The field is the inverse FFT of a random spectrum: every frequency bin gets a
complex Gaussian coefficient scaled by ``1 / max(f, 1/n)^decay``, where ``f`` is
the bin's frequency in cycles per pixel and ``n`` the canvas' longer side (as in
FMix). A large ``decay`` leaves only the lowest frequencies: a few smooth blobs;
a small one gives finer, rougher detail. The field is periodic on the canvas, so
it is stationary by construction. A video draws one 3-D spectrum over
(time, height, width) in which a temporal frequency of ``ft`` cycles per frame
counts as ``ft * time_scale`` cycles per pixel, so blobs change smoothly in time,
more slowly for a larger ``time_scale``; the video is periodic in time too (its
last frame flows into its first).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import _validate
from ._docs import shared_parameters
from ._engine import generate
from ._family import Family, signature_defaults, whole_field

__all__ = ["fourier"]


@shared_parameters
def fourier(
    shape: tuple[int, ...],
    coverage: float,
    *,
    rng: Any = None,
    match: str = "frame",
    temporal: str = "evolving",
    region: np.ndarray | None = None,
    decay: float = 3.0,
    time_scale: float = 0.25,
) -> np.ndarray:
    """FMix-style low-frequency Fourier occlusion mask at an exact coverage.

    Parameters
    ----------
    %(shape)s
    %(coverage)s
    %(rng)s
    %(match)s
    %(temporal)s
        ``"evolving"``: one 3-D spectrum, blobs change smoothly from frame to
        frame; ``"independent"``: a new 2-D spectrum per frame.
    decay : float, default 3.0
        Exponent of the amplitude's decay with frequency, ``1 / f^decay`` (FMix's
        ``decay_power``, default 3), in [0, 10]. Larger: smoother, larger blobs.
    time_scale : float, default 0.25
        How slowly an evolving mask changes (> 0): a temporal frequency of ``ft``
        cycles per frame is weighted like ``ft * time_scale`` cycles per pixel.
    %(region)s

    Returns
    -------
    ndarray of bool, shape ``shape``

    Examples
    --------
    >>> import occmask as om
    >>> m = om.fourier((8, 64, 64), coverage=0.3, rng=0)
    >>> m.shape, int(m[0].sum())
    ((8, 64, 64), 1229)
    """
    return generate("fourier", **locals())


def _check(params: dict[str, Any]) -> dict[str, Any]:
    params["decay"] = _validate.number("decay", params["decay"], low=0.0, high=10.0)
    params["time_scale"] = _validate.number(
        "time_scale", params["time_scale"], low=0.0, high=1e6, low_open=True
    )
    return params


_CHUNK_PIXELS = 1 << 18  # pixels of the real inverse FFTs' buffer (1 MiB)
_CACHED_BINS = 1 << 20  # spectra of up to this many bins keep their amplitude (4 MiB) from call to call


def _amplitude_frames(
    shape: tuple[int, int, int], decay: float, time_scale: float, first: int, stop: int
) -> np.ndarray:
    """Amplitude of every bin of frames ``first`` to ``stop - 1`` of an ``rfftn`` spectrum of
    ``shape`` (T, H, W): float32 (stop - first, H, W // 2 + 1). ``T = 1`` is a 2-D spectrum (no time
    axis)."""
    n_t, n_h, n_w = shape
    ft = np.fft.fftfreq(n_t) * time_scale
    fy = np.fft.fftfreq(n_h)[:, None]
    fx = np.fft.rfftfreq(n_w)[None, :]
    amplitude = np.empty((stop - first, n_h, n_w // 2 + 1), np.float32)
    for t in range(first, stop):  # a frame at a time: the float64 temporaries stay the size of one frame
        freq = np.sqrt(ft[t] * ft[t] + fy * fy + fx * fx)
        amplitude[t - first] = 1.0 / np.maximum(freq, 1.0 / max(n_h, n_w)) ** decay
    return amplitude


@functools.lru_cache(maxsize=64)
def spectrum_amplitude(shape: tuple[int, int, int], decay: float, time_scale: float) -> np.ndarray:
    """:func:`_amplitude_frames` of every frame, read-only and cached (for small spectra)."""
    amplitude = _amplitude_frames(shape, decay, time_scale, 0, shape[0])
    amplitude.flags.writeable = False
    return amplitude


def _amplitude_of(
    shape: tuple[int, int, int], decay: float, time_scale: float
) -> Callable[[int, int], np.ndarray]:
    """``amplitude(first, stop)``: frames ``first`` to ``stop - 1`` of the amplitude of a spectrum of
    ``shape`` (every frame of a 2-D spectrum's one frame), cached whole for small spectra and made
    frame by frame for large ones, whose amplitude would weigh half their spectrum."""
    if shape[0] == 1 or shape[0] * shape[1] * (shape[2] // 2 + 1) <= _CACHED_BINS:
        whole = spectrum_amplitude(shape, decay, time_scale)
        return lambda first, stop: whole if shape[0] == 1 else whole[first:stop]
    return functools.partial(_amplitude_frames, shape, decay, time_scale)


def _blocks(
    shape: tuple[int, int, int],
    rng: np.random.Generator,
    temporal: str,
    need: int | None,
    frames: int,
    *,
    decay: float,
    time_scale: float,
) -> Iterator[np.ndarray]:
    """The Fourier field, ``frames`` frames at a time (:attr:`occmask.Family.blocks`): a 2-D spectrum
    per frame, drawn and inverted block by block, or, when evolving, the one 3-D spectrum whole."""
    n_t, n_h, n_w = shape
    if temporal == "evolving":  # one 3-D spectrum over (time, height, width): one block
        amplitude = _amplitude_of(shape, decay, time_scale)
        spectrum = _draw(rng, amplitude, np.empty((n_t, n_h, n_w // 2 + 1), np.complex64))
        yield _inverse(spectrum, n_w, axes=(0, 1) if n_t > 1 else (1,))  # one frame: time's FFT is 1
        return
    amplitude = _amplitude_of((1, n_h, n_w), decay, time_scale)
    buffer = np.empty((min(frames, n_t), n_h, n_w // 2 + 1), np.complex64)
    for first in range(0, n_t, frames):
        yield _inverse(_draw(rng, amplitude, buffer[: min(frames, n_t - first)]), n_w, axes=(1,))


def _draw(
    rng: np.random.Generator, amplitude: Callable[[int, int], np.ndarray], spectrum: np.ndarray
) -> np.ndarray:
    """Fill ``spectrum`` (T, H, bins) complex64 with FMix's coefficients: independent Gaussian real
    and imaginary parts per bin, scaled by the amplitude (``amplitude(first, stop)``, see
    :func:`_amplitude_of`).

    The parts come from two float32 uniforms per bin by Box and Muller's transform (1958), numpy's
    vectorised log, sin and cos being several times faster than its Gaussian sampler. The uniforms
    are drawn frame by frame (a frame's radii, then its angles), so neither the chunks below nor
    the blocks change the stream.
    """
    n_t = spectrum.shape[0]
    chunk = max(1, min(n_t, _CHUNK_PIXELS // spectrum[0].size))
    uniforms = np.empty((chunk, 2, *spectrum.shape[1:]), np.float32)
    cosines = np.empty((chunk, *spectrum.shape[1:]), np.float32)  # contiguous: numpy's SIMD loops
    for t in range(0, n_t, chunk):
        stop = min(n_t, t + chunk)
        radius, angle = uniforms[: stop - t, 0], uniforms[: stop - t, 1]
        rng.random(dtype=np.float32, out=uniforms[: stop - t])
        np.subtract(np.float32(1.0), radius, out=radius)  # in (0, 1]
        np.log(radius, out=radius)
        np.multiply(radius, np.float32(-2.0), out=radius)
        np.sqrt(radius, out=radius)
        np.multiply(radius, amplitude(t, stop), out=radius)
        np.multiply(angle, np.float32(2.0 * np.pi), out=angle)
        np.cos(angle, out=cosines[: stop - t])
        np.sin(angle, out=angle)
        np.multiply(radius, cosines[: stop - t], out=spectrum.real[t:stop])
        np.multiply(radius, angle, out=spectrum.imag[t:stop])
    return spectrum


def _inverse(spectrum: np.ndarray, n_w: int, axes: tuple[int, ...]) -> np.ndarray:
    """The real field (T, H, ``n_w``) float32 of a half spectrum (T, H, bins), in its own memory.

    irfftn's steps, in place: inverse FFTs over ``axes`` (time when evolving, height), then the
    real inverse FFT over width, a few frames at a time through a buffer of at most
    ``_CHUNK_PIXELS``, into the spectrum's memory: frame t of the field ends before frame t of the
    spectrum does, so frames t to u of the field only cover frames already done. (numpy's FFTs
    run in single precision into single-precision out arrays.)
    """
    n_t, n_h = spectrum.shape[:2]
    for axis in axes:
        np.fft.ifft(spectrum, axis=axis, out=spectrum)
    field = spectrum.reshape(-1).view(np.float32)[: n_t * n_h * n_w].reshape(n_t, n_h, n_w)
    chunk = max(1, min(n_t, _CHUNK_PIXELS // (n_h * n_w)))
    frames = np.empty((chunk, n_h, n_w), np.float32)
    for t in range(0, n_t, chunk):
        stop = min(n_t, t + chunk)
        np.fft.irfft(spectrum[t:stop], n=n_w, axis=2, out=frames[: stop - t])
        field[t:stop] = frames[: stop - t]
    return field


_field = whole_field(_blocks)


FAMILY = Family(
    name="fourier",
    summary="FMix low-frequency noise: smooth blobs from a 1/f^decay spectrum",
    defaults=signature_defaults(fourier),  # the public function's keyword defaults
    check=_check,
    field=_field,
    colour="#56B4E9",
    blocks=_blocks,
)
