"""The quality benchmark's quick run: a row per dataset with finite scores."""

import json
import math
import pathlib
import runpy
import sys

import pytest

pytest.importorskip("pandas")
pytest.importorskip("pvlib")

BENCH = pathlib.Path(__file__).parents[1] / "benchmarks" / "bench_quality.py"


def test_quick_run_prints_a_row_per_dataset(tmp_path, capsys, monkeypatch):
    out = tmp_path / "quick.json"
    argv = [str(BENCH), "--quick", "--seeds", "0", "--json", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setattr(sys, "path", list(sys.path))
    runpy.run_path(str(BENCH), run_name="__main__")
    printed = capsys.readouterr().out
    for name in ("greensboro_ghi", "digits"):
        row = next(line for line in printed.splitlines() if line.startswith(name))
        score = float(row.split()[5])
        assert math.isfinite(score)
    results = json.loads(out.read_text())["results"]
    assert set(results) == {"greensboro_ghi", "digits"}
    for entry in results.values():
        assert set(entry["models"]) == {"sknorm", "sk_mlp", "hgb"}
        for per_seed in entry["models"].values():
            assert math.isfinite(per_seed["0"]["score"])
