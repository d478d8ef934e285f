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
    "--quiet",
]
MODES = ["--temporal", "evolving", "static"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    pytest.importorskip("mlxtend")
    out = tmp_path_factory.mktemp("study")
    assert main(["study", "--out", str(out), *TINY, *MODES]) == 0
    return out


def test_tiny_study_writes_every_output(tiny_run, capsys):
    from occmask.study.plots import FIGURES

    expected = {"results.csv", "run.json", "report.md", "video.gif", *(f"{name}.png" for name in FIGURES)}
    assert expected <= {p.name for p in tiny_run.iterdir()}
    assert all((tiny_run / name).stat().st_size > 0 for name in expected)
    info = json.loads((tiny_run / "run.json").read_text())
    assert info["config"]["videos"] == 8 and info["seeds"]["root"] == 0
    assert set(info["outputs"]) == expected
    assert info["environment"]["versions"]["torch"] and info["timings_s"]["total"] > 0
    report = (tiny_run / "report.md").read_text()
    assert "CC BY-SA 3.0" in report and "What the data says" in report
    for name in expected - {"results.csv", "run.json", "report.md"}:
        assert f"]({name})" in report


def test_results_csv_has_one_row_per_condition(tiny_run):
    with open(tiny_run / "results.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * len(om.FAMILIES) * 2 * 4  # temporal x families x coverages x (frame + 3 rules)
    for row in rows:
        for metric in ("accuracy", "nll", "brier", "ece"):
            assert float(row[f"{metric}_lo"]) <= float(row[f"{metric}_hi"])
        for metric in ("accuracy", "nll", "brier"):  # means lie inside their percentile interval
            assert (
                float(row[f"{metric}_lo"]) - 1e-9 <= float(row[metric]) <= float(row[f"{metric}_hi"]) + 1e-9
            )
    clean = [r for r in rows if r["coverage"] == "0"]
    assert len({r["accuracy"] for r in clean if r["level"] == "frame"}) == 1  # nothing hidden: identical


@pytest.mark.parametrize(
    "args, message",
    [
        (["--families", "bernoulli", "blobs"], "families: unknown value"),
        (["--coverages", "0.2", "1.5"], "coverages must be numbers in [0, 1], got 1.5"),
        (["--coverages", "half"], "invalid float value: 'half'"),
        (["--temporal", "sometimes"], "temporal: unknown value"),
        (["--videos", "1"], "videos must be an integer >= 2"),
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
    assert info.value.code == 2 and "COMMAND" in capsys.readouterr().err


def test_unknown_study_option_shows_the_study_usage(capsys):
    with pytest.raises(SystemExit) as info:
        main(["study", "--bogus"])
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert "usage: occmask study" in err and "unrecognized arguments: --bogus" in err


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out == f"occmask {om.__version__}\n"


def test_python_dash_m_runs_the_command():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "occmask", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == f"occmask {om.__version__}\n"
    done = subprocess.run(
        [sys.executable, "-m", "occmask", "study", "--bogus"], capture_output=True, text=True
    )
    assert done.returncode == 2 and "usage: occmask study" in done.stderr
