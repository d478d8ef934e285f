"""What every figure module shares: colours, the seed, panel grids, savers and the figure registry."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

import occmask as om

HERE = Path(__file__).resolve().parents[1]  # docs/
OUT = HERE / "images"
#: The seed of every gallery figure (a different seed gives different masks, same look).
SEED = 7
FAMILY_NAMES = tuple(om.FAMILIES)  # in display order
FAMILY_COLORS = {name: family.colour for name, family in om.FAMILIES.items()}

INK = (30, 30, 36)  # hidden pixels
PAPER = (255, 255, 255)  # visible pixels and background
EDGE = (150, 150, 150)  # the frame drawn around every canvas
TEXT = (40, 40, 40)
LARGEST = (230, 110, 20)  # the largest component in component figures
OTHERS = [
    (120, 140, 170),
    (150, 175, 130),
    (175, 140, 160),
    (120, 165, 170),
    (170, 160, 120),
    (140, 130, 180),
]
DPI = 72


# --------------------------------------------------------------------------- helpers


def _font(size: int):
    from matplotlib import font_manager
    from PIL import ImageFont

    return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), size)


def _rgb(panel: np.ndarray) -> np.ndarray:
    """A bool mask (dark = hidden), a float image in [0, 1] (grey) or an RGB uint8 image."""
    panel = np.asarray(panel)
    if panel.dtype == np.bool_:
        out = np.empty((*panel.shape, 3), np.uint8)
        out[...] = PAPER
        out[panel] = INK
        return out
    if panel.ndim == 2:
        grey = np.clip(np.round(panel * 255), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    return panel.astype(np.uint8)


def grid(
    rows: Sequence[Sequence[np.ndarray]],
    *,
    scale: int = 2,
    col_labels: Sequence[str] | None = None,
    row_labels: Sequence[str] | None = None,
    captions: Sequence[Sequence[str]] | None = None,
    gap: int = 10,
    size: int = 14,
):
    """Lay out mask panels in a grid with labels; returns a Pillow RGB image."""
    from PIL import Image, ImageDraw

    font, small = _font(size), _font(size - 2)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    cell_h = max(p.shape[0] for r in rows for p in r) * scale + 2
    cell_w = max(p.shape[1] for r in rows for p in r) * scale + 2
    left = gap + (max(probe.textlength(t, font=font) for t in row_labels) + gap if row_labels else 0)
    left = int(left)
    top = gap + (size + 6 if col_labels else 0)
    cap_lines = max((c.count("\n") + 1 for r in captions for c in r), default=0) if captions else 0
    cap_h = cap_lines * (size + 2) + 4 if cap_lines else 0
    width = left + n_cols * (cell_w + gap)
    height = top + n_rows * (cell_h + cap_h + gap)
    img = Image.new("RGB", (width, height), PAPER)
    draw = ImageDraw.Draw(img)
    for c, label in enumerate(col_labels or ()):
        x = left + c * (cell_w + gap) + cell_w / 2
        draw.text((x, gap), label, fill=TEXT, font=font, anchor="mt")
    for r, row in enumerate(rows):
        y0 = top + r * (cell_h + cap_h + gap)
        if row_labels:
            draw.text((gap, y0 + cell_h / 2), row_labels[r], fill=TEXT, font=font, anchor="lm")
        for c, panel in enumerate(row):
            x0 = left + c * (cell_w + gap)
            rgb = _rgb(panel)
            big = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
            draw.rectangle([x0, y0, x0 + big.shape[1] + 1, y0 + big.shape[0] + 1], outline=EDGE)
            img.paste(Image.fromarray(big), (x0 + 1, y0 + 1))
            if captions and captions[r][c]:
                draw.multiline_text(
                    (x0 + cell_w / 2, y0 + cell_h + 4),
                    captions[r][c],
                    fill=TEXT,
                    font=small,
                    anchor="ma",
                    align="center",
                    spacing=2,
                )
    return img


def save_png(img, name: str, colors: int = 16) -> Path:
    """Save a Pillow image as a palette PNG (few colours, no dithering)."""
    from PIL import Image

    path = OUT / name
    path.parent.mkdir(parents=True, exist_ok=True)
    img.convert("RGB").quantize(
        colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    ).save(path, optimize=True)
    return path


def save_fig(fig, name: str, colors: int = 48) -> Path:
    """Save a matplotlib figure as a small palette PNG."""
    import matplotlib.pyplot as plt
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    buf.seek(0)
    return save_png(Image.open(buf), name, colors=colors)


def save_gif(frames: Sequence, name: str, ms: int = 140) -> Path:
    """Save Pillow RGB frames as a looping GIF with one shared palette."""
    from PIL import Image

    path = OUT / name
    first = frames[0].quantize(colors=16, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    rest = [f.quantize(palette=first, dither=Image.Dither.NONE) for f in frames[1:]]
    first.save(path, save_all=True, append_images=rest, duration=ms, loop=0, optimize=False, disposal=1)
    return path


def plt_setup():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.size": 10,
            "axes.titlesize": 10,
            "axes.labelsize": 10,
            "legend.fontsize": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "figure.facecolor": "white",
            "svg.hashsalt": "occmask",
            "path.simplify": True,
        }
    )
    return plt


def ranks(values: np.ndarray) -> np.ndarray:
    """Field values as ranks in [0, 1] (only the order of a field matters to the cut)."""
    flat = values.ravel()
    out = np.empty(flat.size)
    out[np.argsort(flat, kind="stable")] = np.arange(flat.size)
    return (out / max(flat.size - 1, 1)).reshape(values.shape)


def components_rgb(mask: np.ndarray, connectivity: int = 4, only_largest: bool = False) -> np.ndarray:
    """Colour a mask's components: the largest orange, the others muted (or grey)."""
    labels, n = om.label(mask, connectivity)
    out = np.empty((*mask.shape, 3), np.uint8)
    out[...] = PAPER
    if n == 0:
        return out
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    palette = np.array(
        [PAPER] + [(110, 110, 116) if only_largest else OTHERS[i % len(OTHERS)] for i in range(n)], np.uint8
    )
    palette[int(np.argmax(sizes))] = LARGEST
    return palette[labels]


def count(mask: np.ndarray) -> str:
    d = om.describe(mask)
    return f"{int(d.n_components[0]):,} comp., largest {d.largest_fraction[0]:.0%}"


# --------------------------------------------------------------------------- registry

FIGURES: dict[str, Callable[[], list[Path]]] = {}


def figure(fn: Callable[[], list[Path] | Path]) -> Callable[[], list[Path]]:
    def run() -> list[Path]:
        out = fn()
        return out if isinstance(out, list) else [out]

    FIGURES[fn.__name__] = run
    return run
