"""The tiny-fits benchmark on the suite's digits (bundled with scikit-learn)."""

import math
import pathlib
import runpy
import sys

import pytest

pytest.importorskip("pandas")

BENCH = pathlib.Path(__file__).parents[1] / "benchmarks" / "bench_tiny.py"


def test_one_draw_prints_a_row_per_size(capsys, monkeypatch):
    argv = [str(BENCH), "--datasets", "digits", "--sizes", "20", "--draws", "1"]
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setattr(sys, "path", list(sys.path))
    runpy.run_path(str(BENCH), run_name="__main__")
    printed = capsys.readouterr().out.splitlines()
    row = next(line for line in printed if line.startswith("digits"))
    scores = [float(value) for value in row.split()[2:]]
    assert len(scores) == 3  # sknorm, previous, sk_mlp
    assert all(math.isfinite(score) for score in scores)
    assert scores[0] != scores[1]  # 20 rows: the 'auto' values differ
    assert any(line.startswith("sknorm - previous") for line in printed)
