"""The inspect command, called in-process as a user would call it."""

import json

import numpy as np
import pandas as pd
import pytest

from pyro_deepseq.cli.inspect import main

from .conftest import BLAT, BLAT_DMS, needs_shared, write


@needs_shared
def test_json_report_on_blat_with_mutations(capsys):
    assert main([str(BLAT), "--json", "--mutations", str(BLAT_DMS), "--score-column", "2500"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["num_records"] == 8403
    assert report["num_sequences"] == 8355
    assert report["num_dropped"] == 48
    assert report["num_positions"] == 253
    assert (report["first_position"], report["last_position"]) == (29, 283)
    assert abs(report["neff"] - 2605.0) < 1
    assert (report["num_mutants"], report["num_scoreable"]) == (4997, 4807)
    assert report["unscoreable"] == {"position not a focus column": 190}
    assert report["site_independent_spearman"] > 0.59
    assert report["seconds"] >= 0


@needs_shared
def test_text_report_names_what_matters(capsys):
    assert main([str(BLAT)]) == 0
    out = capsys.readouterr().out
    assert "8,403" in out and "8,355" in out and "2,605.0" in out
    assert "positions 29–283, except 56, 238" in out


def test_weights_out_writes_and_never_overwrites(tmp_path, capsys):
    path = write(tmp_path / "a.a2m", ">P/1-3\nACD\n>s1\nACD\n>s2\nWWW\n")
    out = tmp_path / "weights.csv"
    assert main([str(path), "--weights-out", str(out)]) == 0
    table = pd.read_csv(out)
    assert table["header"].tolist() == ["P/1-3", "s1", "s2"]
    assert table["weight"].tolist() == [0.5, 0.5, 1.0]
    out.write_text("the user's own file")
    assert main([str(path), "--weights-out", str(out)]) == 1
    assert "exists; pass --force" in capsys.readouterr().err
    assert out.read_text() == "the user's own file"
    assert main([str(path), "--weights-out", str(out), "--force"]) == 0
    assert main([str(path), "--weights-out", str(tmp_path / "w.npy")]) == 0
    assert np.load(tmp_path / "w.npy").tolist() == [0.5, 0.5, 1.0]


def test_user_mistakes_exit_1_without_traceback(tmp_path, capsys):
    assert main([str(tmp_path / "missing.a2m")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "alignment file not found" in err
    assert "Traceback" not in err
    path = write(tmp_path / "a.a2m", ">P/1-3\nACD\n>s1\nACD\n")
    assert main([str(path), "--theta", "2"]) == 1
    assert "theta must lie strictly between 0 and 1" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--alphabet", "klingon", "x.a2m"])
    assert exit_.value.code == 2


def test_warnings_are_shown_as_one_line(tmp_path, capsys):
    path = write(tmp_path / "a.fasta", ">P\nACD\n>s1\nACD\n")
    assert main([str(path), "--json"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: ") and "no /START-END" in err
