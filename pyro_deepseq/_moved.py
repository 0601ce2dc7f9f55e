"""Old module paths, and where each one went when the package was split into layers.

``import pyro_deepseq.alignment`` and the like fail with a message naming the new module, rather
than a bare ``ModuleNotFoundError``; an old command module also names the command that runs it.
The names exported by ``pyro_deepseq`` itself did not move.
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
    "inspect": "cli.inspect",
    "embed": "cli.embed",
    "align": "cli.align",
    "classify": "cli.classify",
    "sweep": "cli.sweep",
    "proteingym": "workflows.proteingym",
    "runs": "workflows.runs",
    "retries": "workflows.retries",
    "scoring.metrics": "evaluation.metrics",
    "scoring.classification": "evaluation.classification",
}
#: Old command modules: ``deepseq sweep`` is now ``deepseq sweep``.
COMMANDS = ("inspect", "embed", "align", "classify", "sweep", "proteingym")


class _MovedModules(MetaPathFinder):
    """Consulted last: only names no other finder knows reach it."""

    def find_spec(self, fullname, path, target=None):
        package, _, name = fullname.partition(".")
        if package == "pyro_deepseq" and name in MOVED:
            command = f"; run it as `deepseq {name}`" if name in COMMANDS else ""
            raise ModuleNotFoundError(
                f"{fullname} moved to pyro_deepseq.{MOVED[name]}: import it from there{command}",
                name=fullname,
            )
        return None


def install() -> None:
    """Add the finder once (re-imports of the package must not stack copies)."""
    if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
        sys.meta_path.append(_MovedModules())
