"""Moving MNIST: digits stay on the canvas, bounce off the walls, and are reproducible."""

import numpy as np
import pytest

from occmask.study.moving import CANVAS, DIGIT, bounce, render, trajectories


def test_bounce_by_hand():
    path = bounce(np.array([[1.0, 34.0]]), np.array([[-3.0, 3.0]]), 5, 36.0)[0]
    # row: 1 -> -2 mirrored to 2 (now moving down) -> 5 -> 8 -> 11
    # col: 34 -> 37 mirrored to 35 (now moving up) -> 32 -> 29 -> 26
    np.testing.assert_allclose(path, [[1, 34], [2, 35], [5, 32], [8, 29], [11, 26]])


def test_bounce_keeps_speed_and_stays_inside():
    rng = np.random.default_rng(0)
    start = rng.uniform(0, 36, (50, 2))
    velocity = rng.uniform(-5, 5, (50, 2))
    path = bounce(start, velocity, 200, 36.0)
    assert path.min() >= 0
    assert path.max() <= 36
    step = np.abs(np.diff(path, axis=1))
    # away from walls each step moves by |v|; a reflected step is shorter, never longer
    assert (step <= np.abs(velocity)[:, None] + 1e-9).all()
    free = (path[:, 1:] > 5) & (path[:, 1:] < 31) & (path[:, :-1] > 5) & (path[:, :-1] < 31)
    np.testing.assert_allclose(step[free], np.broadcast_to(np.abs(velocity)[:, None], step.shape)[free])


def test_bounce_reverses_direction_at_each_wall():
    path = bounce(np.array([[0.0, 0.0]]), np.array([[4.0, 0.0]]), 40, 36.0)[0, :, 0]
    direction = np.sign(np.diff(path))
    turns = np.flatnonzero(np.diff(direction) != 0)
    assert len(turns) >= 3
    assert path.max() <= 36
    assert path.min() >= 0


def test_bounce_validates():
    with pytest.raises(ValueError, match="start"):
        bounce(np.array([[-1.0, 0.0]]), np.zeros((1, 2)), 3, 36.0)
    with pytest.raises(ValueError, match="velocity"):
        bounce(np.zeros((1, 2)), np.array([[40.0, 0.0]]), 3, 36.0)


def test_videos_keep_the_whole_digit_on_the_canvas():
    rng = np.random.default_rng(1)
    digits = rng.integers(1, 256, (20, DIGIT, DIGIT), dtype=np.uint8)  # ink everywhere, edges included
    corners = trajectories(20, 30, rng)
    assert corners.min() >= 0
    assert corners.max() <= CANVAS - DIGIT
    video = render(digits, corners)
    assert video.shape == (20, 30, CANVAS, CANVAS)
    sums = video.reshape(20, 30, -1).astype(np.int64).sum(-1)
    expected = digits.reshape(20, -1).astype(np.int64).sum(-1)
    np.testing.assert_array_equal(sums, np.broadcast_to(expected[:, None], sums.shape))
    r, c = corners[3, 7]
    np.testing.assert_array_equal(video[3, 7, r : r + DIGIT, c : c + DIGIT], digits[3])


def test_trajectories_are_reproducible_and_move():
    a = trajectories(8, 10, np.random.default_rng(5))
    b = trajectories(8, 10, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    speed = np.linalg.norm(np.diff(a, axis=1), axis=-1)
    assert (speed.max(axis=1) >= 2).all()
    assert speed.max() <= 5 * np.sqrt(2) + 1


def test_render_and_trajectories_validate():
    with pytest.raises(ValueError, match="inside"):
        render(np.ones((1, DIGIT, DIGIT)), np.array([[[CANVAS - DIGIT + 1, 0]]]))
    with pytest.raises(ValueError, match="corners must have shape"):
        render(np.ones((2, DIGIT, DIGIT)), np.zeros((1, 3, 2), np.int64))
    with pytest.raises(ValueError, match="speed"):
        trajectories(1, 3, np.random.default_rng(0), speed=(1.0, 40.0))
    with pytest.raises(ValueError, match="frames"):
        trajectories(1, 0, np.random.default_rng(0))
