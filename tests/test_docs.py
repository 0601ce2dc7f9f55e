"""The documentation builds in strict mode, and its Python examples run as written.

Examples run in a fresh folder beside a link to ``../shared/data`` (as from a checkout), with
training capped at 30 steps and scoring at 2 samples: what is checked is that every call still
exists and fits together, not the accuracy, which the results pages report.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pyro_deepseq import api

from .conftest import SHARED, needs_shared

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FOUND = [
    (page, number, code)
    for page in PAGES
    for number, code in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), re.S))
]
EXAMPLES = [pytest.param(*example, id=f"{example[0].name}-{example[1]}") for example in FOUND]


@pytest.mark.skipif(shutil.which("mkdocs") is None, reason="mkdocs is in the docs extra")
def test_docs_build_in_strict_mode(tmp_path):
    built = subprocess.run(
        ["mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "site" / "api" / "index.html").is_file()


def test_the_examples_are_found():
    assert {page.name for page, _, _ in FOUND} >= {"README.md", "index.md", "guide.md"}


@needs_shared
@pytest.mark.parametrize(("page", "number", "code"), EXAMPLES)
def test_example_runs(page, number, code, tmp_path, monkeypatch):
    (tmp_path / "shared").symlink_to(SHARED.parent)
    work = tmp_path / "repo"
    work.mkdir()
    monkeypatch.chdir(work)
    fit, options = api.DeepSequence.fit, api.ScoringOptions.of.__func__

    def short_fit(self, steps=None, progress=True, **settings):
        return fit(self, min(steps or self.train_config.steps, 30), progress=False, **settings)

    def few_samples(cls, given):
        return options(cls, {**given, "samples": min(given.get("samples", 500), 2)})

    monkeypatch.setattr(api.DeepSequence, "fit", short_fit)
    monkeypatch.setattr(api.ScoringOptions, "of", classmethod(few_samples))
    monkeypatch.setattr(sys, "argv", [str(page)])
    exec(compile(code, f"{page.name} example {number}", "exec"), {"__name__": "__example__"})
