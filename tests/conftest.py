"""Shared test setup: the registry of families as it was at import, and files of the repository.

The suite also runs beside an installed wheel, from a copy of ``tests/`` alone: a
test marked ``@pytest.mark.repo_files("docs/api.md", ...)`` is skipped where those
files of the source repository are absent.
"""

from pathlib import Path

import pytest

from occmask.families import _engine, _family

ROOT = Path(__file__).resolve().parents[1]


def pytest_report_header(config):
    import occmask

    return f"occmask {occmask.__version__} imported from {Path(occmask.__file__).parent}"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "repo_files(*paths): reads files of the source repository; skipped where they are absent"
    )


def pytest_runtest_setup(item):
    for marker in item.iter_markers("repo_files"):
        missing = [path for path in marker.args if not (ROOT / path).exists()]
        if missing:
            pytest.skip(f"files of the source repository are absent here: {', '.join(missing)}")


@pytest.fixture(autouse=True)
def _restore_family_registry():
    """Families a test (or a docs example) registers are taken out again when it ends."""
    before = dict(_family._REGISTRY)
    yield
    if before != _family._REGISTRY:
        _family._REGISTRY.clear()
        _family._REGISTRY.update(before)
        _engine._curve.cache_clear()
