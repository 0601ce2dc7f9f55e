"""The exploration notebook runs from top to bottom on the public API (so it never rots)."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from .conftest import needs_shared

NOTEBOOK = Path(__file__).resolve().parents[1] / "experiments" / "explore.ipynb"


@needs_shared
def test_explore_notebook_runs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3").execute(cwd=str(NOTEBOOK.parent))
    images = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert len(images) == 4  # curves, latent space, landscape, predicted vs measured
