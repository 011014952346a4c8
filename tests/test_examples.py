"""Run every example script in quick mode and check that it writes its figure."""

import os
import pathlib
import subprocess
import sys

import pytest

EXAMPLES = sorted((pathlib.Path(__file__).parents[1] / "examples").glob("plot_*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_quick_and_saves_figure(script, tmp_path):
    """Check that an example finishes in quick mode and saves a non-empty PNG."""
    env = {
        **os.environ,
        "SKNORM_EXAMPLE_QUICK": "1",
        "SKNORM_EXAMPLE_OUTDIR": str(tmp_path),
        "MPLBACKEND": "Agg",
    }
    result = subprocess.run(
        [sys.executable, str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = list(tmp_path.glob("*.png"))
    assert len(figures) == 1, (figures, result.stdout[-2000:])
    assert figures[0].stat().st_size > 1000
