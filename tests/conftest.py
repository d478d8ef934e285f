"""Shared test setup: every test sees the registry of families as it was at import."""

import pytest

from occmask.families import _registry


@pytest.fixture(autouse=True)
def _restore_family_registry():
    """Families a test (or a docs example) registers are taken out again when it ends."""
    before = dict(_registry._REGISTRY)
    yield
    if _registry._REGISTRY != before:
        _registry._REGISTRY.clear()
        _registry._REGISTRY.update(before)
        _registry._curve.cache_clear()
