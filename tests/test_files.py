"""Atomic writes: the old file survives a write that fails, and no temporary file is left."""

import pytest

from pyro_deepseq.utils.files import atomic_write


def test_atomic_write_replaces_on_success_and_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "sub" / "model.pt"
    with atomic_write(path) as temporary:
        temporary.write_text("first")
    assert path.read_text() == "first"
    with pytest.raises(RuntimeError), atomic_write(path) as temporary:
        temporary.write_text("half of the sec")
        raise RuntimeError("interrupted")
    assert path.read_text() == "first"
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.pt"]
