"""The fuzzer's recipes: hypothesis strategies and the scripts they become.

A recipe (data, estimator parameters, call sequence) is turned into a short
Python script, which ``tests/test_fuzz.py`` runs and checks; when an example
fails, that script is the reproducer hypothesis prints.
"""

import numpy as np
from hypothesis import strategies as st


# --------------------------------------------------------------- reprs
def _r(value):
    """Python source for a parameter value (np.inf instead of inf)."""
    if isinstance(value, float):
        if value == np.inf:
            return "np.inf"
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_r(k)}: {_r(v)}" for k, v in value.items()) + "}"
    if isinstance(value, tuple):
        return "(" + "".join(f"{_r(v)}, " for v in value).rstrip(" ") + ")"
    return repr(value)


def _kwargs(params):
    return ", ".join(f"{k}={_r(v)}" for k, v in params.items())


# ------------------------------------------------------------- strategies
SCALES = [1e-12, 1e-6, 1e-3, 1.0, 1.0, 1.0, 1e3, 1e6, 1e12]
OFFSETS = [0.0, 0.0, 1.0, -1e3, 1e8, 1e12]


def _small_then_large(lo, small_hi, hi):
    return st.one_of(st.integers(lo, small_hi), st.integers(lo, hi))


@st.composite
def data_recipes(draw, kind):
    """What ``_data_code`` turns into X, y, sample_weight and chunks."""
    n_rows = draw(st.one_of(st.integers(2, 12), st.integers(1, 300)))
    dtype = draw(
        st.sampled_from(
            ["float64", "float64", "float32", "float32", "float16", "int64", "bool"]
        )
    )
    if dtype == "float16":  # mostly within float16's range (65504)
        scale = draw(st.sampled_from([1e-3, 1.0, 10.0, 1e3, 3e4, 1e6]))
        offset = draw(st.sampled_from([0.0, 1.0, -1e3, 3e4]))
    else:
        scale = draw(st.sampled_from(SCALES))
        offset = draw(st.sampled_from(OFFSETS))
    recipe = {
        "seed": draw(st.integers(0, 2**16)),
        "n_rows": n_rows,
        "n_cols": draw(_small_then_large(1, 4, 30)),
        "dtype": dtype,
        "scale": scale,
        "offset": offset,
        "const_cols": draw(st.sampled_from([0, 0, 1, 2, 100])),  # 100: all
        "nan": draw(
            st.sampled_from([False] * (4 if kind == "standardizer" else 9))
            | st.just(True)
        ),
        "container": draw(
            st.sampled_from(["numpy", "numpy", "pandas", "polars", "csr", "csc"])
        ),
        "weights": draw(
            st.sampled_from(
                [
                    None,
                    None,
                    None,
                    "random",
                    "int",
                    "zero_tail",
                    "zero_head",
                    "one_nonzero",
                    "huge",
                    "tiny",
                ]
            )
        ),
        "n_chunks": draw(st.integers(1, 4)),
    }
    if kind == "regressor":
        recipe["y"] = draw(
            st.sampled_from(
                [
                    "signal",
                    "signal",
                    "noise",
                    "constant",
                    "poisson",
                    "poisson",
                    "two_outputs",
                ]
            )
        )
        recipe["y_scale"] = draw(st.sampled_from(SCALES))
        recipe["y_offset"] = draw(st.sampled_from(OFFSETS))
    elif kind == "classifier":
        recipe["n_classes"] = draw(st.integers(2, 4))
        recipe["labels"] = draw(
            st.sampled_from(["int", "int", "str", "bool", "float", "multilabel"])
        )
        recipe["imbalance"] = draw(st.booleans())
    return recipe


def _data_code(recipe, kind):
    """Lines of Python that build X, y, sw and chunks from ``recipe``."""
    n, p = recipe["n_rows"], recipe["n_cols"]
    dtype = recipe["dtype"]
    lines = [
        f"rng = np.random.default_rng({recipe['seed']})",
        f"X = rng.standard_normal(({n}, {p})) * {recipe['scale']!r} "
        f"+ {recipe['offset']!r}",
    ]
    n_const = min(recipe["const_cols"], p)
    if n_const:
        lines.append(f"X[:, :{n_const}] = X[0, :{n_const}]  # constant columns")
    if kind == "regressor":
        shape = f"({n}, 2)" if recipe["y"] == "two_outputs" else f"{n}"
        ys, yo = recipe["y_scale"], recipe["y_offset"]
        if recipe["y"] == "signal":
            lines.append(
                f"y = np.tanh((X - X.mean(0)) / (X.std(0) + 1e-300)).sum(1) * {ys!r}"
                f" + {yo!r}"
            )
        elif recipe["y"] == "constant":
            lines.append(f"y = np.full({n}, {ys!r})")
        elif recipe["y"] == "poisson":
            lines.append(f"y = rng.poisson(1.0, {n}) * {ys!r}")
        else:
            lines.append(f"y = rng.standard_normal({shape}) * {ys!r} + {yo!r}")
    else:
        k = recipe.get("n_classes", 2)
        if recipe.get("imbalance"):
            lines.append(f"y = np.minimum(rng.geometric(0.7, {n}) - 1, {k - 1})")
        else:
            lines.append(f"y = rng.integers(0, {k}, {n})")
        labels = recipe.get("labels")
        if labels == "str":
            lines.append("y = np.array(['a', 'b', 'c', 'd'])[y]")
        elif labels == "bool":
            lines.append("y = y % 2 == 1")
        elif labels == "float":
            lines.append("y = y * 0.5 - 1.0")
        elif labels == "multilabel":
            lines.append(f"y = rng.integers(0, 2, ({n}, {k}))")
    if recipe["nan"]:
        lines.append(f"X[rng.random(({n}, {p})) < 0.1] = np.nan")
    if dtype == "bool":
        lines.append(f"X = X > {recipe['offset']!r}")
    elif dtype == "int64":
        lines.append("X = np.round(np.nan_to_num(X)).astype(np.int64)")
    elif dtype != "float64":
        lines.append(f"X = X.astype(np.{dtype})")
    weights = {
        None: "sw = None",
        "random": f"sw = rng.random({n})",
        "int": f"sw = rng.integers(0, 3, {n}).astype(float)",
        "zero_tail": f"sw = np.ones({n}); sw[-max(1, {n} // 4):] = 0.0",
        "zero_head": f"sw = np.ones({n}); sw[:{n} // 2] = 0.0",
        "one_nonzero": f"sw = np.zeros({n}); sw[{n} // 2] = 2.0",
        "huge": f"sw = np.full({n}, 1e300)",
        "tiny": f"sw = np.full({n}, 1e-300)",
    }[recipe["weights"]]
    lines.append(weights)
    if recipe["container"] == "pandas":
        lines.append(f"X = pd.DataFrame(X, columns=[f'c{{j}}' for j in range({p})])")
    elif recipe["container"] == "polars":
        lines.append(f"X = pl.from_numpy(X, schema=[f'c{{j}}' for j in range({p})])")
    elif recipe["container"] in ("csr", "csc"):
        if dtype == "float16":  # scipy.sparse has no float16
            lines.append("X = X.astype(np.float32)")
        lines.append(f"X = sp.{recipe['container']}_matrix(X)")
    k = recipe["n_chunks"]
    lines.append(
        f"chunks = [(int(c[0]), int(c[-1]) + 1) for c in "
        f"np.array_split(np.arange({n}), {k}) if len(c)]"
    )
    return lines


# MLP parameters: (name, strategy). Each example draws a random subset.
_FLOAT_LR = st.one_of(
    st.sampled_from([1e-6, 1e-3, 0.02, 0.3, 1.0, 10.0]),
    st.floats(1e-6, 10.0, allow_nan=False, allow_infinity=False),
)
MLP_PARAMS = {
    "hidden_layer_sizes": st.lists(st.integers(1, 8), min_size=0, max_size=3).map(
        tuple
    ),
    "activation": st.sampled_from(
        ["identity", "logistic", "tanh", "relu", "leaky_relu"]
    ),
    "solver": st.sampled_from(["sgd", "adam", "lbfgs"]),
    "alpha": st.sampled_from([0.0, 1e-4, 0.1, 10.0]),
    "batch_size": st.one_of(st.just("auto"), st.integers(1, 64), st.just(1000)),
    "learning_rate": st.sampled_from(["constant", "invscaling", "adaptive", "cosine"]),
    "learning_rate_init": _FLOAT_LR,
    "power_t": st.sampled_from([0.0, 0.5, 2.0]),
    "max_iter": st.integers(1, 8),
    "shuffle": st.booleans(),
    "random_state": st.integers(0, 3),
    "tol": st.sampled_from([0.0, 1e-4, 0.1, 10.0]),
    "momentum": st.sampled_from([0.0, 0.5, 0.9, 1.0]),
    "nesterovs_momentum": st.booleans(),
    "early_stopping": st.sampled_from([True, False, "auto"]),
    "validation_fraction": st.sampled_from([0.0, 0.1, 0.3, 0.9, 0.99]),
    "beta_1": st.sampled_from([0.0, 0.5, 0.9, 0.999999]),
    "beta_2": st.sampled_from([0.0, 0.5, 0.999, 0.999999]),
    "epsilon": st.sampled_from([1e-300, 1e-8, 1e-3, 1.0]),
    "n_iter_no_change": st.one_of(st.integers(1, 4), st.just(np.inf)),
    "max_fun": st.sampled_from([1, 5, 15000]),
    "batch_norm": st.sampled_from(["before", "after", None, "auto"]),
    "bn_affine": st.booleans(),
    "bn_momentum": st.sampled_from([0.0, 0.1, 0.5, 1.0]),
    "bn_epsilon": st.sampled_from([1e-300, 1e-12, 1e-5, 0.1, 10.0]),
    "bn_stats": st.sampled_from(["population", "running"]),
    "dropout": st.sampled_from([0.0, 0.1, 0.5, 0.9, "auto"]),
    "weight_decay": st.sampled_from([0.0, 1e-2, 1.0, 100.0, "auto"]),
    "weight_init": st.sampled_from(["glorot", "he"]),
    "validation_split": st.sampled_from(["random", "last"]),
    "bn_input": st.booleans(),
    "warm_start": st.booleans(),
}
REGRESSOR_PARAMS = {
    "loss": st.sampled_from(["squared_error", "poisson"]),
    "standardize_target": st.booleans(),
}
_CLASS_WEIGHT_VALUES = st.sampled_from([0.0, 0.5, 1.0, 10.0])
STANDARDIZER_PARAMS = {
    "copy": st.booleans(),
    "with_mean": st.booleans(),
    "with_std": st.booleans(),
    "method": st.sampled_from(["standard", "standard", "robust"]),
    "clip": st.sampled_from([None, None, 1e-3, 1.0, 3.0, 1e6]),
}


def _class_labels(recipe):
    k = recipe["n_classes"]
    return {
        "int": list(range(k)),
        "str": ["a", "b", "c", "d"][:k],
        "bool": [False, True],
        "float": [i * 0.5 - 1.0 for i in range(k)],
    }.get(recipe["labels"])


@st.composite
def param_sets(draw, kind, recipe, min_size=0, max_size=None):
    """A random subset of the estimator's parameters with random values."""
    if kind == "standardizer":
        space = STANDARDIZER_PARAMS
    else:
        space = dict(MLP_PARAMS)
        if kind == "regressor":
            space.update(REGRESSOR_PARAMS)
        else:
            labels = _class_labels(recipe)
            choices = [None, "balanced"]
            if labels is not None:
                choices.append(
                    st.fixed_dictionaries(
                        {}, optional=dict.fromkeys(labels, _CLASS_WEIGHT_VALUES)
                    )
                )
            space["class_weight"] = st.one_of(
                *(
                    c if isinstance(c, st.SearchStrategy) else st.just(c)
                    for c in choices
                )
            )
            space["label_smoothing"] = st.sampled_from(["auto", 0.0, 0.1, 0.9])
    names = draw(
        st.lists(
            st.sampled_from(sorted(space)),
            unique=True,
            min_size=min_size,
            max_size=max_size or len(space),
        )
    )
    return {name: draw(space[name]) for name in sorted(names)}


MLP_STEPS = [
    "fit",
    "fit",
    "partial_fit",
    "set_params_fit",
    "warm_refit",
    "pickle",
    "recompute_bn",
    "to_sklearn",
    "same_seed",
]
STANDARDIZER_STEPS = ["fit", "fit", "partial_fit", "set_params_fit", "pickle"]


@st.composite
def cases(draw, kind):
    recipe = draw(data_recipes(kind))
    params = draw(param_sets(kind, recipe))
    if kind != "standardizer":
        # Keep every example fast whatever the subset drew.
        params.setdefault("hidden_layer_sizes", draw(MLP_PARAMS["hidden_layer_sizes"]))
        params.setdefault("max_iter", draw(MLP_PARAMS["max_iter"]))
        params.setdefault("random_state", draw(MLP_PARAMS["random_state"]))
    names = MLP_STEPS if kind != "standardizer" else STANDARDIZER_STEPS
    first = draw(st.sampled_from(["fit", "fit", "partial_fit", "set_params_fit"]))
    steps = []
    for name in [first, *draw(st.lists(st.sampled_from(names), max_size=3))]:
        if name in ("set_params_fit", "warm_refit"):
            new = draw(param_sets(kind, recipe, min_size=1, max_size=3))
            if name == "warm_refit":
                new["warm_start"] = True
            steps.append((name, new))
        else:
            steps.append((name, None))
    return {"recipe": recipe, "params": params, "steps": steps}


# ----------------------------------------------------------- step scripts
def _step_code(kind, name, arg):
    """Python source of one call of the sequence."""
    if name == "fit":
        return ["est.fit(X, y, sample_weight=sw)"]
    if name == "partial_fit":
        rows = "X[a:b], y[a:b], sample_weight=None if sw is None else sw[a:b]"
        if kind == "classifier":
            return [
                "for i, (a, b) in enumerate(chunks):",
                f"    est.partial_fit({rows}, "
                "classes=np.unique(y) if i == 0 and y.ndim == 1 else None)",
            ]
        return ["for a, b in chunks:", f"    est.partial_fit({rows})"]
    if name in ("set_params_fit", "warm_refit"):
        return [f"est.set_params({_kwargs(arg)})", "est.fit(X, y, sample_weight=sw)"]
    if name == "pickle":
        return ["est = pickle.loads(pickle.dumps(est))"]
    if name == "recompute_bn":
        return ["est.recompute_bn_statistics(X, sample_weight=sw)"]
    if name == "to_sklearn":
        return ["sk = est.to_sklearn()"]
    if name == "same_seed":
        return [
            "est_a = clone(est).fit(X, y, sample_weight=sw)",
            "est_b = clone(est).fit(X, y, sample_weight=sw)",
        ]
    raise AssertionError(name)
