"""The wheel: built with ``python -m build``, installed into a fresh venv."""

import email
import os
import shutil
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("build")

SMOKE = """
import importlib.metadata, sys
import numpy as np
import sknorm
from sklearn.pipeline import make_pipeline
assert sknorm.__file__.startswith(sys.prefix), sknorm.__file__
X = np.random.default_rng(0).normal(size=(60, 3))
model = make_pipeline(sknorm.Standardizer(), sknorm.MLPRegressor(max_iter=5))
assert model.fit(X, X.sum(axis=1)).predict(X).shape == (60,)
assert sknorm.__version__ == importlib.metadata.version("sknorm")
print(sknorm.__version__)
"""


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """Build the sdist and, from it, the wheel (as ``python -m build`` does)."""
    out = tmp_path_factory.mktemp("dist")
    src = tmp_path_factory.mktemp("src") / "sknorm"
    # Build from a copy: the build leaves sknorm.egg-info and build/ behind.
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".*", "*.egg-info"))
    cmd = [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out)]
    subprocess.run([*cmd, str(src)], check=True, capture_output=True)
    return out


def _wheel(dist):
    (wheel,) = dist.glob("sknorm-*.whl")
    return wheel


def test_wheel_holds_only_the_package(dist):
    names = zipfile.ZipFile(_wheel(dist)).namelist()
    outside = [n for n in names if not n.startswith(("sknorm/", "sknorm-"))]
    assert outside == []
    assert "sknorm/nn/__init__.py" in names
    assert not [n for n in names if n.endswith((".png", ".ipynb")) or "test" in n]
    assert len(list(dist.glob("sknorm-*.tar.gz"))) == 1


def test_wheel_metadata(dist):
    import sknorm

    with zipfile.ZipFile(_wheel(dist)) as zf:
        (meta,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        msg = email.message_from_string(zf.read(meta).decode("utf-8"))
    assert msg["Version"] == sknorm.__version__
    assert "Programming Language :: Python :: 3" in msg.get_all("Classifier")
    # No Project-URL until the project has public addresses (pyproject.toml).
    assert msg.get_all("Project-URL") is None
    assert msg["Description-Content-Type"] == "text/markdown"
    assert msg.get_payload().strip() == (ROOT / "README.md").read_text().strip()
    assert "onnx" in msg.get_all("Provides-Extra")


def test_wheel_installs_in_a_fresh_venv(dist, tmp_path):
    """Install with --no-deps --no-index; dependencies come from this Python.

    Not ``--system-site-packages``: that would also run the ``.pth`` hook of a
    development (editable) install of sknorm, whose import finder shadows the
    wheel. A ``.pth`` listing this Python's site-packages gives the
    dependencies without running the hooks inside them.
    """
    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env)
    python = env / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install"]
    flags = ["--no-deps", "--no-index", "--quiet", "--disable-pip-version-check"]
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([*pip, *flags, str(_wheel(dist))], check=True, env=clean)
    # After the install: pip must not see the development install's metadata.
    code = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = subprocess.run([python, "-c", code], capture_output=True, text=True)
    deps = "\n".join(site.getsitepackages())
    (Path(purelib.stdout.strip()) / "_deps.pth").write_text(deps + "\n")
    # Run outside the checkout so that `import sknorm` finds the installed copy.
    out = subprocess.run(
        [python, "-c", SMOKE], cwd=tmp_path, env=clean, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == importlib_version(dist)


def importlib_version(dist):
    return _wheel(dist).name.split("-")[1]
