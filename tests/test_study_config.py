"""Study settings: presets, overrides and clear errors that name the argument."""

import pytest

import occmask as om

pytest.importorskip("occmask.study")
from occmask.study.config import GRIDS, PRESETS, Stream, make_config, stream


def test_presets_and_overrides():
    quick = make_config()
    assert quick.preset == "quick"
    assert quick.families == tuple(om.FAMILIES)
    assert quick.coverages == GRIDS["quick"]
    assert quick.seeds == 3
    assert quick.temporal == ("evolving",)
    assert quick.archs == ("globalpool", "flatten")
    assert quick.fills == (0.0, 1.0)
    assert max(quick.coverages[1.0]) <= min(v for v in quick.coverages[0.0] if v > 0)  # white: far lower
    assert quick.ink_shares == (0.25, 0.5, 0.75)
    assert make_config(ink_shares=[0.5, 0.25, 0.5]).ink_shares == (0.25, 0.5)
    assert make_config(ink_shares=[]).ink_shares == ()  # no ink-matched arm
    assert make_config("full").videos is None  # every test digit
    full = make_config("full", videos=50, seed=3)
    assert full.ink_shares == (0.25, 0.5, 0.75)
    assert full.frames == 4
    assert full.temporal == ("evolving", "independent")
    assert full.videos == 50
    assert full.seed == 3
    assert full.seeds == 5
    assert set(PRESETS) == {"quick", "full"}


def test_coverages_are_sorted_and_deduplicated_and_focus_snaps_to_grid():
    c = make_config(coverages=[0.5, 0, 0.25, 0.5], focus=0.45)
    assert c.coverages == {0.0: (0.0, 0.25, 0.5), 1.0: (0.0, 0.25, 0.5)}  # one grid for every fill
    assert c.focus_coverage() == 0.5


def test_a_grid_per_fill():
    c = make_config(coverages={1: [0.1, 0, 0.01], 0: [0, 0.4], 0.5: [0.2]}, focus=0.3)
    assert c.coverages == {0.0: (0.0, 0.4), 1.0: (0.0, 0.01, 0.1)}  # the fills' grids, in fill order
    assert c.focus_coverage() == 0.4
    assert c.focus_coverage(1.0) == 0.01
    assert make_config(fills=[0.5], coverages={0.5: [0, 0.3]}).coverages == {0.5: (0.0, 0.3)}
    assert make_config(coverages={0: [0, 0.4]}, fills=[0]).as_dict()["coverages"] == {"0": [0.0, 0.4]}
    with pytest.raises(ValueError, match=r"coverages has no grid for fill\(s\) \[1.0\]"):
        make_config(coverages={0: [0, 0.4]})
    with pytest.raises(ValueError, match=r"coverages of fill 1 must be numbers in \[0, 1\], got 2"):
        make_config(coverages={0: [0], 1: [2]})


def test_reference_is_bernoulli_when_present():
    assert make_config(families=["perlin", "bernoulli"]).reference == "bernoulli"
    assert make_config(families=["perlin", "cgol"]).reference == "perlin"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"families": ["perlin", "blobs"]}, r"families: unknown value\(s\) \['blobs'\]"),
        ({"families": []}, "families must name at least one"),
        ({"coverages": [0.2, 1.5]}, r"coverages must be numbers in \[0, 1\], got 1.5"),
        ({"coverages": [-0.1]}, "coverages must be numbers"),
        ({"coverages": [float("nan")]}, "coverages must be numbers"),
        ({"ink_shares": [0.0]}, r"ink_shares must be numbers in \(0, 1\], got 0.0"),
        ({"ink_shares": [0.5, 1.2]}, r"ink_shares must be numbers in \(0, 1\], got 1.2"),
        ({"ink_shares": [float("nan")]}, "ink_shares must be numbers"),
        ({"ink_shares": [True]}, "ink_shares must be numbers"),
        ({"temporal": ["sometimes"]}, "temporal: unknown"),
        ({"videos": 1}, "videos must be an integer >= 2"),
        ({"frames": 0}, "frames must be an integer >= 1"),
        ({"epochs": 2.5}, "epochs must be an integer"),
        ({"seed": -1}, "seed must be an integer >= 0"),
        ({"seeds": 0}, "seeds must be an integer >= 1"),
        ({"archs": ["resnet"]}, r"archs: unknown value\(s\) \['resnet'\]"),
        ({"fills": [1.5]}, r"fills must be numbers in \[0, 1\]"),
        ({"device": "tpu"}, "device: unknown"),
        ({"rule": "max"}, "rule: unknown"),
        ({"mnist_dir": "/no/such/folder"}, "mnist_dir '/no/such/folder' is not a folder"),
        ({"colour": "red"}, r"unknown setting\(s\) \['colour'\]"),
    ],
)
def test_bad_settings_name_the_argument(overrides, message):
    with pytest.raises(ValueError, match=message):
        make_config(**overrides)


def test_unknown_preset():
    with pytest.raises(ValueError, match="preset must be one of"):
        make_config("huge")


def test_seed_streams_are_independent_of_the_grid():
    a, b = make_config(coverages=[0.5]), make_config(coverages=[0.1, 0.5], families=["perlin"])
    sa, sb = stream(a, Stream.MASK, 500000, 3), stream(b, Stream.MASK, 500000, 3)
    assert (sa.generate_state(4) == sb.generate_state(4)).all()
    assert (stream(a, Stream.MASK, 500000, 4).generate_state(4) != sa.generate_state(4)).any()
    assert (
        stream(make_config(seed=1), Stream.MASK, 500000, 3).generate_state(4) != sa.generate_state(4)
    ).any()
