"""The benchmarks (benchmarks/: harness, baselines, rows, run.py) run and check their outputs, on tiny sizes.

No timing is asserted: each row function validates both sides (exact coverage,
labels against scipy, occlusion against np.where) before it measures, so
running it with one short repetition exercises those checks.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
if not (BENCHMARKS / "run.py").exists():
    pytest.skip("the benchmarks are not part of an installed package", allow_module_level=True)
sys.path.insert(0, str(BENCHMARKS))

import baselines  # noqa: E402
import harness as bench  # noqa: E402
import rows as table_rows  # noqa: E402

TINY = bench.Config(repeat=1, min_time=0.0, cold_repeat=1, loader_samples=bench.LOADER_BATCH)
SHAPES = [(3, 16, 16), (24, 24)]
NEEDS = {
    "perlin_rows": ("pyfastnoiselite",),
    "triangles_rows": ("skimage",),
    "rectangles_rows": ("kornia", "albumentations"),
    "describe_rows": ("cc3d",),
}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("measure", table_rows.SHAPED_ROWS, ids=lambda f: f.__name__)
def test_row_checks_outputs_and_measures(measure, shape):
    for module in NEEDS.get(measure.__name__, ()):
        pytest.importorskip(module)
    rows = measure(shape, TINY)
    assert rows
    for row in rows:
        assert row.occmask_s > 0
        assert row.baseline_s > 0
        assert row.speedup > 0
        assert row.workload == bench.workload(shape)
    assert bench.table(rows).count("\n") == len(rows) + 1


def test_numpy_cut_is_exact_with_ties():
    field = np.zeros((2, 4, 4), dtype=np.float32)
    field[1, 0, :2] = -1.0
    mask = baselines.numpy_cut(field, 5)
    assert mask.reshape(2, -1).sum(axis=1).tolist() == [5, 5]
    assert mask[0].ravel()[:5].all()
    assert mask[1, 0, :2].all()


def test_life_baseline_moves_a_glider():
    baselines.check_life()


def test_cold_start_and_transform_rows():
    rows = table_rows.cold_start_rows(TINY, families=["bernoulli"])
    assert [row.target.kind for row in rows] == ["speedup", "seconds"]
    assert all(row.occmask_s > 0 for row in rows)
    rows = table_rows.transform_rows(TINY, families=["bernoulli"])
    assert len(rows) == 1
    assert rows[0].note.startswith("not available") or rows[0].occmask_s > 0


def test_pixel_rows_hold_large_shapes_to_the_time_per_pixel_of_small_ones():
    shapes = {(16, 16): None, (32, 32): (16, 16)}
    rows = table_rows.pixel_rows(TINY, families=["bernoulli"], shapes=shapes)
    assert [row.workload for row in rows] == ["image 16x16", "image 32x32"]
    assert rows[0].target is None
    assert rows[0].baseline_s is None
    assert rows[1].baseline_s == pytest.approx(rows[0].occmask_s * 4)
    assert all("ns/pixel" in row.note for row in rows)


def test_report_goes_into_the_docs_page(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(f"intro\n{bench.BENCH_START}\nold\n{bench.BENCH_END}\noutro\n")
    bench.put_in_page("# title\n\nmachine line\n\n| a |\n", page)
    assert (
        page.read_text()
        == f"intro\n{bench.BENCH_START}\n\nmachine line\n\n| a |\n\n{bench.BENCH_END}\noutro\n"
    )


def test_report_names_missed_rows():
    rows = [
        bench.Row("a", "V", "b", 2.0, 1.0, bench.Target.faster(2)),
        bench.Row("c", "-", "-", 0.5, None, bench.Target.at_most(0.4)),
        bench.Row("d", "V", "e", 1.0, 1.0, None),
    ]
    assert [row.met for row in rows] == [False, False, None]
    info = {
        "mode": "quick",
        "date": "today",
        "config": {"repeat": 1},
        "machine": bench.machine(),
        "versions": {"occmask": "0"},
    }
    text = bench.report(rows, info)
    assert "a (V) vs b: 0.50x, target >= 2x faster" in text
    assert "c (-) vs -: 500 ms" in text


def test_transform_table_runs(tmp_path):
    """benchmarks/transform.py measures through the same DataLoader harness as the rows."""
    pytest.importorskip("torch")
    code = (
        "import json, transform; from harness import Config; "
        "cfg = Config(repeat=1, min_time=0.0, loader_repeat=1, loader_samples=16); "
        "print(json.dumps(transform.measure('bernoulli', cfg)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=BENCHMARKS, capture_output=True, text=True, check=True, timeout=300
    )
    times = json.loads(done.stdout)
    assert set(times) == {"worker", "generate", "transform"}
    assert all(t > 0 for t in times.values())


def test_robustness_benchmark_runs_and_reports_the_share():
    pytest.importorskip("torch")
    import robustness as module  # benchmarks/robustness.py

    model, (x, y) = module.workloads(quick=True)["images 28x28"]
    found = module.measure(model, (x[:8], y[:8]), repeat=1)
    assert 0 <= found["masks"] <= found["grid"]
    assert 0 < found["model"] <= found["grid"]
    assert found["share"] == found["masks"] / found["grid"]


def test_thread_rows_check_the_masks_and_measure():
    pytest.importorskip("torch")
    import transform  # benchmarks/transform.py

    rows = transform.thread_rows(TINY, families=["bernoulli", "cgol"], shape=(4, 3, 1, 16, 16))
    assert len(rows) >= 2
    assert all(row.occmask_s > 0 and row.baseline_s > 0 for row in rows)
    assert rows[0].target.text == ">= 1.7x faster"
    assert rows[1].task.startswith("Occlude('cgol')")
    for row in rows:  # each with the machine's ceiling measured in the same rounds
        ceiling = re.fullmatch(r"1 thread \(ceiling in the same rounds: (\d+\.\d\d)x\)", row.baseline)
        assert ceiling, row.baseline
        assert float(ceiling.group(1)) > 0, row.baseline


def test_batch_rows_check_the_occlusion_and_measure():
    for module in ("torch", "kornia", "albumentations"):
        pytest.importorskip(module)
    import transform  # benchmarks/transform.py

    rows = transform.batch_rows(TINY, families=["perlin"], shape=(4, 3, 32, 32))
    assert [row.target.text if row.target else None for row in rows] == [">= its images/s", None, "<= 30 us"]
    assert all(row.occmask_s > 0 and row.baseline_s > 0 for row in rows[:2])
    assert rows[2].baseline_s > 0
    assert rows[0].occmask_s == rows[1].occmask_s
    assert rows[0].rate
    assert rows[1].rate

    (row, *_) = table_rows.evaluation_rows(bench.Config(repeat=1))
    assert row.target.text == "masks <= 20% of it"
    assert row.speedup == row.baseline_s / row.occmask_s


def test_an_overhead_below_the_timing_noise_gets_no_value_and_no_verdict(monkeypatch):
    for module in ("torch", "kornia", "albumentations"):
        pytest.importorskip(module)
    import transform  # benchmarks/transform.py

    def timed(fns, cfg):  # the whole transform measured faster than its kernels alone: noise
        return {name: [2e-3, 3e-3] if name == "kernels" else [1e-3, 1e-3] for name in fns}

    monkeypatch.setattr(transform, "_cpu_seconds", timed)
    overhead = transform.batch_rows(TINY, families=["perlin"], shape=(4, 3, 32, 32))[2]
    assert overhead.occmask_s is None
    assert overhead.met is None
    assert overhead.note == "below the timing noise (median difference -375.0 us)"
    assert "| below the timing noise (median difference -375.0 us) |" in bench.table([overhead])


def test_memory_and_cold_compile_rows():
    rows = table_rows.memory_rows(TINY, families=["perlin"], shape=(2, 32, 32))
    assert [row.task.split(", ")[-1] for row in rows] == [
        "match='frame'",
        "match='video'",
        "match='expected'",
    ]
    assert all(row.memory and row.occmask_s >= row.baseline_s == 2 * 32 * 32 for row in rows)
    assert all(float(row.note.split("x")[0]) == round(row.occmask_s / row.baseline_s, 1) for row in rows)
    assert [row.target is None for row in rows] == [False, False, True]
    assert "MiB" in bench.table(rows)
    rows = table_rows.cold_compile_rows(TINY, names=["bernoulli"])
    assert len(rows) == 1
    assert rows[0].occmask_s > 0
    assert rows[0].baseline_s > 0


def test_pipeline_rows_check_both_sides_and_measure():
    pytest.importorskip("albumentations")
    rows = table_rows.pipeline_rows(TINY)
    assert [row.workload for row in rows] == ["image 224x224", "V 8x224x224", "image 224x224"]
    assert [row.target.text for row in rows] == [">= 1x faster", ">= 1.5x faster", ">= 1x faster"]
    assert all(row.occmask_s > 0 and row.baseline_s > 0 for row in rows)


def test_only_runs_one_group_and_refuses_the_docs(tmp_path):
    import run  # benchmarks/run.py

    assert set(run.GROUPS) == {"pipelines"}
    with pytest.raises(SystemExit):
        run.main(["--quick", "--only", "pipelines", "--docs", "--out", str(tmp_path)])
