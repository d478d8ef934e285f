"""The ``occmask`` command: a tiny end-to-end study, determinism and clear errors."""

import csv
import json

import pytest

import occmask as om
from occmask.cli import main

TINY = [
    "--videos",
    "8",
    "--frames",
    "2",
    "--epochs",
    "1",
    "--coverages",
    "0",
    "0.5",
    "--bootstrap",
    "20",
    "--seeds",
    "2",
    "--quiet",
]
MODES = ["--temporal", "evolving", "static", "--ink-shares", "0.5"]


OVERFLOWS: list[str] = []  # figures of the tiny run whose texts reach past the saved figure's edges


def _checked_savefig(savefig):
    """``Figure.savefig`` that first records a figure whose drawn artists reach past its edges."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    def save(fig, fname, *args, **kwargs):
        renderer = FigureCanvasAgg(fig).get_renderer()
        fig.draw(renderer)
        drawn, size = fig.get_tightbbox(renderer), fig.bbox_inches  # inches; texts, ticks, titles, legends
        if drawn.x0 < -0.01 or drawn.y0 < -0.01 or drawn.x1 > size.x1 + 0.01 or drawn.y1 > size.y1 + 0.01:
            OVERFLOWS.append(f"{fname}: drawn {drawn.bounds}, figure {size.bounds}")
        return savefig(fig, fname, *args, **kwargs)

    return save


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    pytest.importorskip("mlxtend")
    from matplotlib.figure import Figure

    out = tmp_path_factory.mktemp("study")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Figure, "savefig", _checked_savefig(Figure.savefig))
        assert main(["study", "--out", str(out), *TINY, *MODES]) == 0
    return out


def test_every_figure_text_lies_inside_the_saved_figure(tiny_run):
    assert not OVERFLOWS


def test_tiny_study_writes_every_output(tiny_run):
    from occmask.study.plots import FIGURES

    tables = {"results.csv", "decisions.csv", "claims.csv", "calibration.csv", "geometry.csv", "run.json",
              "report.md"}  # fmt: skip
    expected = tables | {f"{name}.png" for name in FIGURES} | {"animation.gif"}
    assert expected | {"digest.md"} <= {p.name for p in tiny_run.iterdir()}
    assert all((tiny_run / name).stat().st_size > 0 for name in expected)
    info = json.loads((tiny_run / "run.json").read_text())
    assert info["config"]["videos"] == 8
    assert info["config"]["seeds"] == 2
    assert set(info["outputs"]) == expected
    assert set(info["training"]) == {f"{a} seed {s}" for a in ("globalpool", "flatten") for s in (0, 1)}
    assert info["environment"]["versions"]["torch"]
    assert info["timings_s"]["total"] > 0
    report = (tiny_run / "report.md").read_text()
    assert "CC BY-SA 3.0" in report
    assert "The blog's claims" in report
    assert "Matched share of the digit's ink" in report
    assert "What holds for every seed and both architectures" in report
    assert "geometry explained" in report
    for name in expected - tables:
        assert f"]({name})" in report
    assert "| setting |" in report
    assert "| globalpool, fill 0, evolving, frame |" in report
    assert "| `Linear(in_features=1024, out_features=10, bias=True)` | 10 | 10,250 |" in report  # layer table
    from PIL import Image

    with Image.open(tiny_run / "animation.gif") as gif:
        assert gif.n_frames == 2  # one per video frame


def test_results_csv_has_one_row_per_condition(tiny_run):
    with open(tiny_run / "results.csv") as fh:
        rows = list(csv.DictReader(fh))
    # (2 archs x 2 seeds x 2 fills) reports x temporal x families x coverages x (frame + 3 rules), then the
    # ink-matched arm: one temporal mode, one share
    canvas = [r for r in rows if r["arm"] == "canvas"]
    ink = [r for r in rows if r["arm"] == "ink"]
    assert len(canvas) == 8 * 2 * len(om.FAMILIES) * 2 * 4
    assert len(rows) == len(canvas) + len(ink)
    assert len(ink) == 4 * 1 * len(om.FAMILIES) * 1 * 4  # fill 0 only
    models = {(a, s) for a in ("globalpool", "flatten") for s in ("0", "1")}
    assert {(r["arch"], r["seed"], r["fill"]) for r in canvas} == {
        (*m, f) for m in models for f in ("0", "1")
    }
    assert {(r["arch"], r["seed"], r["fill"]) for r in ink} == {(*m, "0") for m in models}  # ink deleted
    assert {(r["temporal"], r["coverage"]) for r in ink} == {("evolving", "0.5")}
    for r in ink:  # each frame hides floor(0.5 * ink + 0.5) of its ink pixels: 0.5 up to rounding
        if r["level"] == "frame":
            assert abs(float(r["region_hidden"]) - 0.5) < 0.01, r
    for row in rows:
        for metric in ("accuracy", "nll", "brier", "ece"):
            assert float(row[f"{metric}_lo"]) <= float(row[f"{metric}_hi"])
        for metric in ("accuracy", "nll", "brier"):  # means lie inside their percentile interval
            assert (
                float(row[f"{metric}_lo"]) - 1e-9 <= float(row[metric]) <= float(row[f"{metric}_hi"]) + 1e-9
            )
    clean = [r for r in rows if r["coverage"] == "0" and (r["arch"], r["seed"]) == ("flatten", "1")]
    assert len({r["accuracy"] for r in clean if r["level"] == "frame"}) == 1  # nothing hidden: identical


def test_each_training_seed_draws_its_own_masks_shared_by_its_architectures(tiny_run):
    with open(tiny_run / "results.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["level"] == "frame" and float(r["coverage"]) > 0]
    masks: dict[tuple, set] = {}  # each cell's masks, seen through their descriptors, per seed
    for r in rows:
        key = (r["arm"], r["fill"], r["temporal"], r["family"], r["coverage"], r["seed"])
        masks.setdefault(key, set()).add((r["n_components"], r["largest_fraction"], r["realised_coverage"]))
    assert all(len(seen) == 1 for seen in masks.values())  # both architectures of a seed: the same masks
    cells = [key[:-1] for key in masks if key[-1] == "0"]
    differ = sum(masks[(*cell, "0")] != masks[(*cell, "1")] for cell in cells)
    assert differ >= 0.9 * len(cells), (differ, len(cells))  # seed 1 drew other masks than seed 0


def test_claims_csv_has_every_claim_in_every_setting_and_coverage(tiny_run):
    with open(tiny_run / "claims.csv") as fh:
        rows = list(csv.DictReader(fh))
    settings = {(r["arm"], r["arch"], r["fill"], r["temporal"], r["level"], r["rule"]) for r in rows}
    # archs x (frame + 3 rules) x (fills x temporal modes canvas-matched; fill 0, one mode ink-matched)
    assert len(settings) == 2 * 4 * (2 * 2 + 1)
    claims = {r["claim"] for r in rows}
    assert "acc_perlin" in claims
    assert "gap_perlin" in claims
    assert not any(c.startswith("ece") for c in claims)
    accuracy = {c for c in claims if c.startswith(("acc", "cgol"))}
    for setting in settings:
        mine = [
            r
            for r in rows
            if (r["arm"], r["arch"], r["fill"], r["temporal"], r["level"], r["rule"]) == setting
        ]
        tested = claims - accuracy if setting[5] == "sum_logprob" else claims  # sum = mean_logprob's argmax
        assert sorted((r["claim"], r["coverage"]) for r in mine) == sorted(
            (c, cov) for c in tested for cov in ("0.5", "area")
        )
    expected = {"acc": "lower", "cgo": "higher", "nll": "higher", "bri": "higher", "gap": "higher"}
    for r in rows:
        wanted = expected[r["claim"][:3]]
        if r["verdict"] in ("at chance", "at ceiling", "not separable"):
            assert r["status"] == r["verdict"]
            assert (r["verdict"] == "not separable") == (r["p_holm"] != "nan")
        else:
            assert r["status"] == ("supported" if r["verdict"] == wanted else "contradicted")
            assert float(r["p_holm"]) < 0.05
        assert float(r["lo"]) <= float(r["value"]) <= float(r["hi"])


def test_coverages_per_fill_on_the_command_line():
    from occmask.cli import _coverage_item, _grid_argument, build_parser

    args = build_parser().parse_args(["study", "--coverages", "0:0,0.2,0.4", "1:0,0.01"])
    assert _grid_argument(args.coverages) == {0.0: (0.0, 0.2, 0.4), 1.0: (0.0, 0.01)}
    assert _grid_argument([_coverage_item("0"), _coverage_item("0.5")]) == [0.0, 0.5]
    with pytest.raises(ValueError, match="not both"):
        _grid_argument([_coverage_item("0"), _coverage_item("1:0,0.01")])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--families", "bernoulli", "blobs"], "families: unknown value"),
        (["--coverages", "0.2", "1.5"], "coverages must be numbers in [0, 1], got 1.5"),
        (["--coverages", "half"], "invalid coverage 'half'"),
        (["--coverages", "1:0,x"], "invalid coverage '1:0,x'"),
        (["--coverages", "0:0,0.2"], "coverages has no grid for fill(s) [1.0]"),
        (["--coverages", "0", "1:0,0.1"], "not both"),
        (["--temporal", "sometimes"], "temporal: unknown value"),
        (["--videos", "1"], "videos must be an integer >= 2"),
        (["--seeds", "0"], "seeds must be an integer >= 1"),
        (["--archs", "resnet"], "archs: unknown value"),
        (["--fills", "2"], "fills must be numbers in [0, 1]"),
        (["--mnist-dir", "/no/such/folder"], "mnist_dir '/no/such/folder' is not a folder"),
        (["--preset", "huge"], "invalid choice: 'huge'"),
    ],
)
def test_bad_arguments_exit_with_a_clear_message(args, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(["study", *args])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_malformed_mnist_folder(tmp_path, capsys):
    pytest.importorskip("torch")
    for name in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        (tmp_path / name).write_bytes(b"\x00\x00\x08\x01garbage")
    assert main(["study", "--out", str(tmp_path / "out"), "--mnist-dir", str(tmp_path), "--quiet"]) == 1
    assert "is not a valid IDX file" in capsys.readouterr().err


def test_too_many_videos(tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("mlxtend")
    assert main(["study", "--out", str(tmp_path), "--videos", "5000", "--quiet"]) == 1
    assert "videos must be at most 1000" in capsys.readouterr().err


@pytest.fixture(scope="module")
def idx_folder(tmp_path_factory):
    """A small MNIST-like IDX folder: class k is a bar at row 4 + 2k, with noise."""
    import numpy as np

    from occmask.study.data import write_idx

    folder = tmp_path_factory.mktemp("idx")
    rng = np.random.default_rng(0)
    for split, n in (("train", 200), ("t10k", 20)):
        labels = np.arange(n) % 10
        images = rng.integers(0, 30, (n, 28, 28), dtype=np.uint8)
        images[np.arange(n), 4 + 2 * labels, 4:24] = 255
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels.astype(np.uint8))
    return folder


def test_study_on_an_idx_folder_is_reproducible(idx_folder, tmp_path):
    pytest.importorskip("torch")
    args = [
        "--mnist-dir",
        str(idx_folder),
        "--families",
        "bernoulli",
        "perlin",
        "--temporal",
        "static",
        "--archs",
        "globalpool",
        "--fills",
        "0",
        *TINY,
    ]
    assert main(["study", "--out", str(tmp_path / "a"), *args]) == 0
    assert main(["study", "--out", str(tmp_path / "b"), *args]) == 0
    info = json.loads((tmp_path / "a" / "run.json").read_text())
    assert info["data"] == {
        "source": f"MNIST IDX files in {idx_folder}",
        "train": 180,
        "validation": 20,
        "test_videos": 8,
    }
    assert (tmp_path / "a" / "results.csv").read_text() == (tmp_path / "b" / "results.csv").read_text()
    assert main(["study", "--out", str(tmp_path / "c"), *args, "--seed", "1"]) == 0
    assert (tmp_path / "c" / "results.csv").read_text() != (tmp_path / "a" / "results.csv").read_text()


def test_cuda_without_a_gpu(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert main(["study", "--out", str(tmp_path), "--device", "cuda", "--quiet"]) == 1
    assert "torch.cuda.is_available() is False" in capsys.readouterr().err


def test_a_subcommand_is_required(capsys):
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def test_unknown_study_option_shows_the_study_usage(capsys):
    with pytest.raises(SystemExit) as info:
        main(["study", "--bogus"])
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert "usage: occmask study" in err
    assert "unrecognized arguments: --bogus" in err


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"occmask {om.__version__}\n"


def test_python_dash_m_runs_the_command():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "occmask", "--version"], capture_output=True, text=True)
    assert done.returncode == 0
    assert done.stdout == f"occmask {om.__version__}\n"
    done = subprocess.run(
        [sys.executable, "-m", "occmask", "study", "--bogus"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "usage: occmask study" in done.stderr
