"""Moving MNIST: one digit gliding over a larger canvas and bouncing off the walls.

Follows Srivastava, Mansimov and Salakhutdinov (2015), "Unsupervised Learning of
Video Representations using LSTMs": a 28x28 digit starts at a random position on
a 64x64 canvas with a random direction and constant speed; when a step would
carry it past a wall, the position is reflected back inside and that velocity
component changes sign. The digit is always fully inside the canvas.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CANVAS", "DIGIT", "bounce", "ink", "render", "trajectories"]

CANVAS = 64
DIGIT = 28


def ink(sample: np.ndarray) -> np.ndarray:
    """The digit's ink in a video scaled to [0, 1]: the pixels at least half white, per frame.

    Parameters
    ----------
    sample : ndarray, shape (T, C, H, W)
        One video, values in [0, 1].

    Returns
    -------
    ndarray of bool, shape (T, H, W)

    Examples
    --------
    >>> import numpy as np
    >>> v = np.zeros((2, 1, 4, 4), np.float32); v[:, 0, 1, 1:3] = [0.4, 0.9]
    >>> ink(v).sum(axis=(1, 2)).tolist()
    [1, 1]
    """
    return sample.max(axis=-3) >= 0.5


def bounce(start: np.ndarray, velocity: np.ndarray, frames: int, limit: float) -> np.ndarray:
    """Move points with constant velocity inside ``[0, limit]``, reflecting off the walls.

    When a step carries a coordinate past a wall, it is mirrored back inside
    and that velocity component changes sign, so the speed never changes.

    Parameters
    ----------
    start : ndarray, shape (n, 2)
        Positions at frame 0, inside ``[0, limit]``.
    velocity : ndarray, shape (n, 2)
        Displacement per frame; each component below ``limit`` in magnitude.
    frames : int
        Number of positions to return.
    limit : float
        Largest allowed coordinate.

    Returns
    -------
    ndarray of float, shape (n, frames, 2)

    Examples
    --------
    >>> import numpy as np
    >>> bounce(np.array([[1.0, 34.0]]), np.array([[-3.0, 3.0]]), 3, 36.0)[0].tolist()
    [[1.0, 34.0], [2.0, 35.0], [5.0, 32.0]]
    """
    position = np.array(start, dtype=np.float64)
    velocity = np.array(velocity, dtype=np.float64)
    if (position < 0).any() or (position > limit).any():
        raise ValueError(f"start must lie in [0, {limit}]")
    if (np.abs(velocity) >= limit).any():
        raise ValueError(f"velocity components must be smaller than limit ({limit}) in magnitude")
    out = np.empty((position.shape[0], frames, 2))
    for t in range(frames):
        out[:, t] = position
        position += velocity
        low, high = position < 0, position > limit
        position[low] = -position[low]
        position[high] = 2 * limit - position[high]
        velocity[low | high] *= -1
    return out


def trajectories(
    n: int,
    frames: int,
    rng: np.random.Generator,
    *,
    canvas: int = CANVAS,
    digit: int = DIGIT,
    speed: tuple[float, float] = (2.0, 5.0),
) -> np.ndarray:
    """Top-left corners of ``n`` bouncing digits over ``frames`` time steps.

    Parameters
    ----------
    n : int
        Number of trajectories.
    frames : int
        Number of time steps (frames), at least 1.
    rng : numpy.random.Generator
        Source of start positions, directions and speeds.
    canvas, digit : int
        Canvas and digit side lengths in pixels; positions lie in
        ``[0, canvas - digit]``.
    speed : (float, float)
        Range of the constant speed in pixels per frame; the upper end must be
        below ``canvas - digit`` so one reflection per step suffices.

    Returns
    -------
    ndarray of int64, shape (n, frames, 2)
        Integer (row, column) of the digit's top-left corner per frame.

    Examples
    --------
    >>> import numpy as np
    >>> p = trajectories(3, 10, np.random.default_rng(0))
    >>> p.shape, int(p.min()) >= 0, int(p.max()) <= 64 - 28
    ((3, 10, 2), True, True)
    """
    limit = canvas - digit
    if limit <= 0:
        raise ValueError(f"canvas ({canvas}) must be larger than digit ({digit})")
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    if not 0 <= speed[0] <= speed[1] < limit:
        raise ValueError(f"speed must be a range within [0, {limit}), got {speed}")
    start = rng.uniform(0, limit, size=(n, 2))
    angle = rng.uniform(0, 2 * np.pi, size=n)
    velocity = rng.uniform(*speed, size=n)[:, None] * np.stack([np.sin(angle), np.cos(angle)], axis=1)
    return np.rint(bounce(start, velocity, frames, limit)).astype(np.int64)


def render(digits: np.ndarray, corners: np.ndarray, *, canvas: int = CANVAS) -> np.ndarray:
    """Paste each digit on a blank canvas at its per-frame positions.

    Parameters
    ----------
    digits : ndarray, shape (n, h, w)
        One image per video (any dtype; the canvas takes the same dtype).
    corners : ndarray of int, shape (n, frames, 2)
        Top-left corner (row, column) per frame, as from :func:`trajectories`.
    canvas : int
        Side length of the square canvas.

    Returns
    -------
    ndarray, shape (n, frames, canvas, canvas)

    Examples
    --------
    >>> import numpy as np
    >>> digit = np.ones((1, 28, 28), dtype=np.uint8)
    >>> video = render(digit, np.array([[[0, 0], [36, 36]]]))
    >>> video.shape, int(video[0, 0, :28, :28].sum()), int(video[0, 1, 36:, 36:].sum())
    ((1, 2, 64, 64), 784, 784)
    """
    n, h, w = digits.shape
    if corners.shape[0] != n or corners.ndim != 3 or corners.shape[2] != 2:
        raise ValueError(f"corners must have shape ({n}, frames, 2), got {corners.shape}")
    if (
        corners.min(initial=0) < 0
        or corners[..., 0].max(initial=0) > canvas - h
        or corners[..., 1].max(initial=0) > canvas - w
    ):
        raise ValueError(f"corners must keep the {h}x{w} digit inside the {canvas}x{canvas} canvas")
    frames = corners.shape[1]
    video = np.zeros((n, frames, canvas, canvas), dtype=digits.dtype)
    rows = corners[..., 0, None] + np.arange(h)  # (n, frames, h)
    cols = corners[..., 1, None] + np.arange(w)  # (n, frames, w)
    i = np.arange(n)[:, None, None, None]
    t = np.arange(frames)[None, :, None, None]
    video[i, t, rows[..., :, None], cols[..., None, :]] = digits[:, None]
    return video
