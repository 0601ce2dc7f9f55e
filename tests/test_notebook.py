"""The tutorial notebook runs from top to bottom on the public API (so it never rots)."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from .conftest import SHARED, needs_shared

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "tutorial.ipynb"


@needs_shared
def test_tutorial_notebook_runs(tmp_path):
    # the notebook reads ../../shared/data, as it does from docs/ in a checkout
    (tmp_path / "shared").symlink_to(SHARED.parent)
    work = tmp_path / "repo" / "docs"
    work.mkdir(parents=True)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3").execute(cwd=str(work))
    images = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert len(images) == 4  # curves, latent space, landscape, predicted vs measured
    assert (work / "runs" / "tutorial" / "model.pt").is_file()
