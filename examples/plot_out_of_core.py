"""
Out-of-core training with partial_fit and Dask-ML
=================================================

When the training rows do not fit in memory, they can be streamed in chunks:
each ``partial_fit`` call sees one chunk, and only about one chunk is in
memory at a time. This example generates weather-like data chunk by chunk as
a lazy Dask array (the generator of ``benchmarks/bench_speed.py``: 8 features
on very different scales, temperature in K, pressure in Pa, humidity 0-1, ...;
the target is an irradiance in W/m²), then

1. fits the :class:`~sknorm.Standardizer` by ``partial_fit`` over the chunks
   (one pass; its statistics equal a fit on all rows),
2. trains :class:`~sknorm.MLPRegressor` with Dask-ML's
   :class:`~dask_ml.wrappers.Incremental` wrapper, one pass over the chunks
   per ``partial_fit`` call, in a new random chunk order every pass,
3. compares the test R² after every pass with an in-memory
   ``make_pipeline(Standardizer(), MLPRegressor())`` fit for the same number
   of epochs.

At full size the data are 69 MiB, small enough for the in-memory comparison
on a small CI machine; a truly larger-than-memory dataset runs the same
streaming code, only the comparison would then need a subsample. On a Dask
cluster, create a ``distributed.Client`` first and leave out the synchronous
scheduler setting below.

Needs ``dask[array]`` and ``dask-ml`` (``pip install "sknorm[examples]"``).
``SKNORM_EXAMPLE_QUICK=1`` uses fewer rows (what CI runs).
"""

# %%
import copy
import os
import pathlib
import time
import tracemalloc
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.pipeline import make_pipeline

from sknorm import MLPRegressor, Standardizer
from sknorm.datasets import WEATHER_FEATURES, make_weather

try:
    import dask
    import dask.array as da
    from dask_ml.wrappers import Incremental
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "This example needs dask[array] and dask-ml. Install them with: "
        'pip install "sknorm[examples]"'
    ) from exc

QUICK = os.environ.get("SKNORM_EXAMPLE_QUICK", "") not in ("", "0")
OUT = (
    pathlib.Path(
        os.environ.get("SKNORM_EXAMPLE_OUTDIR") or pathlib.Path(__file__).parent
    )
    / "out_of_core.png"
)
warnings.filterwarnings("ignore", category=ConvergenceWarning)

N_TRAIN, CHUNK, N_TEST, PASSES = (
    (40_000, 5_000, 10_000, 3) if QUICK else (1_000_000, 100_000, 100_000, 5)
)
SEED = 0

# %%
# Weather-like rows (``sknorm.datasets.make_weather``: 8 features on their
# natural scales, irradiance as the target), generated chunk by chunk: every
# chunk has its own seed, so any chunk can be (re)computed alone, in any
# order, on any worker, and always gives the same rows.


def weather_rows(seed, n_rows):
    """Return an (n_rows, 9) array: the 8 features, then y."""
    X_rows, y_rows = make_weather(n_rows, random_state=seed)
    return np.column_stack([X_rows, y_rows])


def weather_chunk(block_id=None, block_info=None):
    n_rows = block_info[None]["chunk-shape"][0]
    return weather_rows([SEED, block_id[0]], n_rows)


n_chunks = N_TRAIN // CHUNK
data = da.map_blocks(
    weather_chunk,
    chunks=((CHUNK,) * n_chunks, (len(WEATHER_FEATURES) + 1,)),
    dtype=np.float64,
)
X, y = data[:, :-1], data[:, -1]
# The test rows come from a generator no training chunk uses.
test = weather_rows([SEED, 10**9], N_TEST)
X_test, y_test = test[:, :-1], test[:, -1]

mib = 2**20
print(
    f"training data: {N_TRAIN:,} rows x {len(WEATHER_FEATURES)} features = "
    f"{X.nbytes / mib:.1f} MiB (+ y {y.nbytes / mib:.1f} MiB), in {n_chunks} chunks "
    f"of {CHUNK:,} rows = {X.nbytes / n_chunks / mib:.1f} MiB each"
)
columns = zip(WEATHER_FEATURES, X_test.mean(axis=0), X_test.std(axis=0), strict=True)
for name, mean, std in columns:
    print(f"  {name:29s} {mean:10.4g} +/- {std:.3g}")

# %%
# Step 1: the Standardizer's statistics, one chunk at a time. Its
# ``partial_fit`` merges chunks exactly (Chan et al.'s pairwise update), so
# the result equals a fit on all rows. It is a plain loop over the blocks:
# ``Incremental`` refuses estimators without a ``score`` method, such as
# transformers.
#
# The synchronous scheduler computes one chunk at a time. Dask's default
# thread pool would generate chunks ahead of the (slower) ``partial_fit``
# calls and hold them all: at full size, one pass then peaked at 82 MiB of
# traced memory instead of 18 MiB.

dask.config.set(scheduler="synchronous")
start = time.perf_counter()
tracemalloc.start()
scaler = Standardizer()
for block in X.blocks:
    scaler.partial_fit(block.compute())
X_std = X.map_blocks(scaler.transform, dtype=X.dtype)

# %%
# Step 2: the network, one pass over the chunks per ``partial_fit`` call.
# A ``RandomState`` instance (rather than an int) gives every pass a new chunk
# order. The test R² is computed by scikit-learn on NumPy predictions:
# Dask-ML's own r2 scorer fails on Dask arrays with recent Dask versions
# (dask/dask-ml#1012).

# One protocol on both sides (partial_fit has no validation split): the
# "auto" early stopping and dropout of fit are switched off.
params = {
    "hidden_layer_sizes": (64, 64),
    # partial_fit builds one network with BN before the activation; fit would
    # average three ("auto"): the same network on both sides.
    "batch_norm": "before",
    "early_stopping": False,
    "dropout": 0.0,
    "random_state": 0,
}
inc = Incremental(
    MLPRegressor(**params), shuffle_blocks=True, random_state=np.random.RandomState(0)
)
X_test_std = scaler.transform(X_test)
r2_per_pass = []
for n_pass in range(1, PASSES + 1):
    inc.partial_fit(X_std, y)
    r2_per_pass.append(r2_score(y_test, inc.predict(X_test_std)))
    print(
        f"pass {n_pass}: test R2 = {r2_per_pass[-1]:.4f} "
        f"({time.perf_counter() - start:.1f} s so far)"
    )
model = inc.estimator_

# %%
# After ``partial_fit``, batch normalization predicts with running averages of
# its batch statistics; a full ``fit`` recomputes them over all training rows
# ("precise BN"). :meth:`~sknorm.MLPRegressor.recompute_bn_statistics` needs
# its rows in memory at once, so here it gets one chunk, a large random sample
# of the stream.

precise = copy.deepcopy(model).recompute_bn_statistics(X_std.blocks[0].compute())
r2_precise = r2_score(y_test, precise.predict(X_test_std))
_, stream_peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
stream_seconds = time.perf_counter() - start
print(
    f"streaming: {stream_seconds:.1f} s, peak traced memory {stream_peak / mib:.1f} "
    f"MiB; the model saw {model.t_:,} rows in {model.n_iter_} partial_fit calls"
)
print(
    f"test R2 with running BN statistics {r2_per_pass[-1]:.4f}, recomputed "
    f"on one chunk {r2_precise:.4f}"
)

# %%
# Step 3: the same pipeline fitted in memory, for the same number of epochs.
# This needs all rows at once (and a standardized copy of them).

start = time.perf_counter()
tracemalloc.start()
X_all, y_all = X.compute(), y.compute()
reference = make_pipeline(Standardizer(), MLPRegressor(max_iter=PASSES, **params))
reference.fit(X_all, y_all)
_, memory_peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
memory_seconds = time.perf_counter() - start
r2_memory = reference.score(X_test, y_test)
print(
    f"in memory: {memory_seconds:.1f} s, peak traced memory {memory_peak / mib:.1f} "
    f"MiB, test R2 = {r2_memory:.4f}"
)
print(
    f"largest gap between the scalers: mean "
    f"{np.max(np.abs(scaler.mean_ / reference[0].mean_ - 1)):.1e}, scale "
    f"{np.max(np.abs(scaler.scale_ / reference[0].scale_ - 1)):.1e} (relative)"
)
print(f"streamed minus in-memory test R2: {r2_per_pass[-1] - r2_memory:+.4f}")
assert np.allclose(scaler.mean_, reference[0].mean_, rtol=1e-10)
assert np.allclose(scaler.scale_, reference[0].scale_, rtol=1e-10)

# %%
# Plot: test R² after every pass over the chunks, against the in-memory fit.

fig, ax = plt.subplots(figsize=(6, 4))
passes = np.arange(1, PASSES + 1)
ax.plot(passes, r2_per_pass, "o-", label="Incremental: partial_fit per chunk")
ax.plot(
    PASSES, r2_precise, "s", color="C1", label="BN statistics recomputed on a chunk"
)
ax.axhline(
    r2_memory, color="k", ls="--", label=f"in memory: fit with max_iter={PASSES}"
)
ax.set_xticks(passes)
ax.set_xlabel(f"passes over {n_chunks} chunks of {CHUNK:,} rows")
ax.set_ylabel("test R²")
ax.set_title(
    f"{N_TRAIN:,} rows in chunks of {X.nbytes / n_chunks / mib:.1f} MiB\n"
    f"peak traced memory: {stream_peak / mib:.0f} MiB streamed, "
    f"{memory_peak / mib:.0f} MiB in memory",
    fontsize=10,
)
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize=8)
fig.tight_layout()
fig.savefig(OUT, dpi=80)
print(f"saved {OUT}")
