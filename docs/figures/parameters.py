"""Parameter figures: each family's parameters swept at one coverage and seed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

import occmask as om

from .common import SEED, count, figure, grid, ranks, save_png


def _sweep(
    name: str,
    param: str,
    values: Sequence,
    labels: Sequence[str] | None = None,
    coverage: float = 0.4,
    side: int = 96,
    **fixed,
) -> Path:
    masks = [om.generate(name, (side, side), coverage, rng=SEED, **fixed, **{param: v}) for v in values]
    labels = labels or [f"{param}={v}" for v in values]
    return save_png(
        grid([masks], col_labels=labels, captions=[[count(m) for m in masks]]), f"{name}_{param}.png"
    )


def _frames(
    name: str,
    param: str,
    values: Sequence,
    frames: Sequence[int],
    coverage: float = 0.4,
    labels: Sequence[str] | None = None,
    filename: str | None = None,
    **fixed,
) -> Path:
    rows = [
        list(
            om.generate(
                name, (max(frames) + 1, 64, 64), coverage, rng=SEED, **fixed, **({param: v} if param else v)
            )[list(frames)]
        )
        for v in values
    ]
    labels = labels or [f"{param}={v}" for v in values]
    img = grid(rows, col_labels=[f"frame {t}" for t in frames], row_labels=labels)
    return save_png(img, filename or f"{name}_{param}.png")


@figure
def perlin_params() -> list[Path]:
    return [
        _sweep("perlin", "scale", (4, 8, 16, 32)),
        _sweep("perlin", "octaves", (1, 2, 3, 6)),
        _sweep("perlin", "persistence", (0.25, 0.5, 0.75, 1.0)),
        _sweep("perlin", "basis", ("perlin", "simplex"), labels=['basis="perlin"', 'basis="simplex"']),
        _frames("perlin", "time_scale", (3, 12, 48), (0, 3, 6, 9, 12)),
        perlin_periodic(),
    ]


def perlin_periodic() -> Path:
    masks = [np.tile(om.perlin((64, 64), 0.4, rng=SEED, periodic=p), (2, 2)) for p in (False, True)]
    img = grid([masks], col_labels=["periodic=False, 2x2 copies", "periodic=True, 2x2 copies"])
    return save_png(img, "perlin_periodic.png")


@figure
def cgol_params() -> list[Path]:
    return [
        _sweep("cgol", "density", (0.1, 0.2, 0.35, 0.6)),
        _sweep("cgol", "burn_in", (0, 3, 24, 200)),
        _sweep("cgol", "memory", (1, 2, 8, 32)),
        _sweep("cgol", "decay", (0.0, 0.5, 1.0, 4.0)),
        _frames("cgol", "step", (1, 4), (0, 1, 2, 3, 4)),
        cgol_life(),
    ]


def cgol_life() -> Path:
    """What the cgol field is made of: live cells, the distance field grown from them, its cuts."""
    side = 96
    f = om.field("cgol", (side, side), rng=SEED)
    alive = f < 1  # distance 0 (the tie-break adds less than 1): the cells alive at the last generation
    panels = [alive, ranks(f), om.cut(f, 0.1), om.cut(f, 0.3)]
    labels = ["live cells (field < 1)", "priority field", "cut at 0.1", "cut at 0.3"]
    return save_png(grid([panels], col_labels=labels, size=12), "cgol_life.png", colors=32)


@figure
def triangles_params() -> list[Path]:
    return [
        _sweep(
            "triangles",
            "size",
            (4.0, 8.0, (8.0, 24.0), 32.0),
            labels=["size=4", "size=8", "size=(8, 24)", "size=32"],
        ),
        _sweep("triangles", "aspect", (1.0, 2.0, 4.0, 8.0)),
        _frames(
            "triangles",
            "",
            ({"speed": 0.0, "spin": 0.0}, {"speed": 1.0, "spin": 0.05}, {"speed": 3.0, "spin": 0.2}),
            (0, 3, 6, 9, 12),
            labels=["speed=0, spin=0", "speed=1, spin=0.05", "speed=3, spin=0.2"],
            filename="triangles_motion.png",
        ),
    ]
