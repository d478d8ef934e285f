"""Shared test setup: every test sees the registry of families as it was at import."""

import pytest

from occmask.families import _family


@pytest.fixture(autouse=True)
def _restore_family_registry():
    """Families a test (or a docs example) registers are taken out again when it ends."""
    before = dict(_family._REGISTRY)
    yield
    if _family._REGISTRY != before:
        _family._REGISTRY.clear()
        _family._REGISTRY.update(before)
        _family._curve.cache_clear()
