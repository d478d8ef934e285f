"""The documentation's figures, one module per group; importing the package registers them all.

``FIGURES`` maps a figure's name to a function that draws it and returns the paths it wrote.
"""

from . import dataloader, geometry, overview, parameters, region  # noqa: F401  (each module registers its figures)
from .common import FIGURES

__all__ = ["FIGURES"]
