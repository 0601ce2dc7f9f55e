"""The package's imports point one way: commands → API → scoring/inference → models → data.

A module may import from its own subpackage or from a lower layer, never from a higher layer or a
sibling subpackage of its own layer. A new module must be given a layer here.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "pyro_deepseq"

LAYERS = {
    "errors": -1,
    "_moved": -1,
    "utils": 0,
    "data": 1,
    "models": 2,
    "inference": 3,
    "scoring": 3,
    "api": 4,
    "plots": 3,
    "fit": 5,
    "predict": 5,
    "inspect": 5,
    "embed": 5,
    "align": 5,
    "proteingym": 5,
    "classify": 5,
    "retries": 5,  # the sweep's rules for trying a job again
    "runs": 4,  # what a sweep trains and scores
    "sweep": 6,  # runs the other commands
    "__main__": 5,
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
