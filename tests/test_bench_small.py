"""The small-tables benchmark on its scikit-learn datasets: finite scores per model."""

import math
import pathlib
import runpy
import sys

import pytest

pytest.importorskip("pandas")

BENCH = pathlib.Path(__file__).parents[1] / "benchmarks" / "bench_small.py"


def test_one_split_prints_a_row_per_dataset(capsys, monkeypatch):
    argv = [str(BENCH), "--splits", "1", "--datasets", "wine", "diabetes"]
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setattr(sys, "path", list(sys.path))
    runpy.run_path(str(BENCH), run_name="__main__")
    printed = capsys.readouterr().out.splitlines()
    for name in ("wine", "diabetes"):
        row = next(line for line in printed if line.startswith(name))
        scores = [float(value) for value in row.split()[3:]]
        assert len(scores) == 4  # sknorm, one_network, sk_mlp, hgb
        assert all(math.isfinite(score) for score in scores)
    assert any(line.startswith("sk_mlp") and "W/T/L" in line for line in printed)
