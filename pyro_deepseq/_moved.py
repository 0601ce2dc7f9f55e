"""Old module paths from before the package was split into layers, and where each one went.

``import pyro_deepseq.alignment`` and the like fail with a message naming the new module, rather
than a bare ``ModuleNotFoundError``. The names exported by ``pyro_deepseq`` itself did not move.
"""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder

MOVED = {
    "alignment": "data.alignment",
    "fasta": "data.fasta",
    "weights": "data.weights",
    "mutations": "data.mutations",
    "variants": "data.variants",
    "synthetic": "data.synthetic",
    "independent": "models.independent",
    "networks": "models.networks",
    "meanfield": "models.meanfield",
    "objective": "models.objective",
    "training": "inference.training",
    "schedules": "inference.schedules",
    "checkpoint": "inference.checkpoint",
    "config": "inference.config",
    "presets": "inference.presets",
    "devices": "utils.devices",
    "files": "utils.files",
    "cache": "utils.cache",
    "cli": "utils.cli",
}


class _MovedModules(MetaPathFinder):
    """Consulted last: only names no other finder knows reach it."""

    def find_spec(self, fullname, path, target=None):
        package, _, name = fullname.partition(".")
        if package == "pyro_deepseq" and name in MOVED:
            raise ModuleNotFoundError(
                f"{fullname} moved to pyro_deepseq.{MOVED[name]}: import it from there",
                name=fullname,
            )
        return None


def install() -> None:
    """Add the finder once (re-imports of the package must not stack copies)."""
    if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
        sys.meta_path.append(_MovedModules())
