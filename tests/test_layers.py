"""The package's imports point one way: commands → workflows → API → scoring/inference → models
→ data.

A module may import from its own subpackage or from a lower layer, never from a higher layer or a
sibling subpackage of its own layer. A new module must be given a layer here.
"""

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pyro_deepseq"

LAYERS = {
    "errors": -1,
    "_moved": -1,
    "utils": 0,
    "data": 1,
    "models": 2,
    "inference": 3,
    "scoring": 3,
    "evaluation": 3,  # metrics and classification of scores
    "plots": 4,  # every figure
    "api": 5,
    "workflows": 6,  # the sweep's runs and retries, ProteinGym's benchmark
    "cli": 7,
    "fit": 8,  # shims: python -m pyro_deepseq.fit, .predict
    "predict": 8,
    "__main__": 8,
}


def _unit(module: str) -> str:
    """The layer's unit of a dotted module name under the package: its first component."""
    return module.split(".")[0]


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, first component) of each module this file imports from the package."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    package = list(parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            if node.module:
                found.append((node.lineno, ".".join([*base, node.module])))
            else:
                found += [(node.lineno, ".".join([*base, alias.name])) for alias in node.names]
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names = (
                [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            )
            for name in names:
                if name and name.startswith("pyro_deepseq."):
                    found.append((node.lineno, name.removeprefix("pyro_deepseq.")))
    return found


def test_every_module_has_a_layer():
    units = {
        _unit(".".join(p.relative_to(PACKAGE).with_suffix("").parts)) for p in PACKAGE.rglob("*.py")
    }
    assert units - {"__init__"} <= set(LAYERS), units - set(LAYERS)


def test_imports_point_down():
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        here = _unit(".".join(path.relative_to(PACKAGE).with_suffix("").parts))
        if here == "__init__":
            continue  # the package's front door re-exports from every layer
        for line, target in _imports(path):
            there = _unit(target)
            if there != here and LAYERS[there] >= LAYERS[here]:
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} imports {target}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("pyro_deepseq.alignment", "pyro_deepseq.data.alignment"),
        ("pyro_deepseq.sweep", "pyro_deepseq.cli.sweep: import it from there; run it as `deepseq"),
        ("pyro_deepseq.scoring.metrics", "pyro_deepseq.evaluation.metrics"),
    ],
)
def test_an_old_module_path_names_the_new_one(old, new):
    with pytest.raises(ModuleNotFoundError, match=re.escape(f"{old} moved to {new}")):
        importlib.import_module(old)


def test_fit_and_predict_still_run_as_modules():
    for command in ("fit", "predict"):
        result = subprocess.run(
            [sys.executable, "-m", f"pyro_deepseq.{command}", "--help"],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        assert f"python -m pyro_deepseq.{command}" in result.stdout


def test_the_top_level_stays_small():
    modules = [p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"]
    assert len(modules) <= 12, sorted(modules)


def test_the_workflows_call_the_library_not_the_commands():
    for path in (PACKAGE / "workflows").glob("*.py"):
        targets = [target for _, target in _imports(path)]
        assert not [t for t in targets if _unit(t) == "cli"], path.name
        assert "._fit(" not in path.read_text() and "._predict(" not in path.read_text()
