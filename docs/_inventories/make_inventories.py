"""Write the small offline intersphinx inventories of ``docs/_inventories``.

The build machines have no internet, so Sphinx cannot download
``objects.inv`` from scikit-learn's and NumPy's sites. These inventories list
only the targets sknorm's docs refer to, with their real URLs (relative to the
base URL given in ``intersphinx_mapping``), so links point at the real
documentation. Add a name here when the docs start referring to it, then run::

    python docs/_inventories/make_inventories.py
"""

import pathlib
import zlib

HERE = pathlib.Path(__file__).parent

SKLEARN = {
    "py:class": [
        f"sklearn.{name}"
        for name in (
            "compose.TransformedTargetRegressor",
            "ensemble.HistGradientBoostingRegressor",
            "ensemble.HistGradientBoostingClassifier",
            "impute.SimpleImputer",
            "model_selection.GridSearchCV",
            "neural_network.MLPClassifier",
            "neural_network.MLPRegressor",
            "pipeline.Pipeline",
            "preprocessing.OneHotEncoder",
            "preprocessing.StandardScaler",
        )
    ],
    "py:function": [
        "sklearn.model_selection.cross_validate",
        "sklearn.pipeline.make_pipeline",
        "sklearn.set_config",
        "sklearn.utils.validation.validate_data",
    ],
    "py:module": ["sklearn", "sklearn.callback"],
}
# ``sklearn.callback`` is new in 1.9; its page is the module's API page.
SKLEARN_URIS = {
    "sklearn": "api/index.html",
    "sklearn.callback": "api/sklearn.callback.html",
    "sklearn.set_config": "modules/generated/sklearn.set_config.html#$",
}
# Labels and glossary terms used by the docstrings sknorm's estimators
# inherit from scikit-learn (``score``, ``set_output``, ``set_*_request``).
SKLEARN_LABELS = {
    "metadata_routing": ("metadata_routing.html#metadata-routing", "Metadata Routing"),
    "user_guide": ("user_guide.html#user-guide", "User Guide"),
    "r2_score": ("modules/model_evaluation.html#r2-score", "R² score"),
    "accuracy_score": (
        "modules/model_evaluation.html#accuracy-score",
        "Accuracy score",
    ),
    "df_output_transform": (
        "modules/df_output_transform.html#df-output-transform",
        "Pandas/Polars Output for Transformers with set_output API",
    ),
    "sphx_glr_auto_examples_miscellaneous_plot_set_output.py": (
        "auto_examples/miscellaneous/plot_set_output.html"
        "#sphx-glr-auto-examples-miscellaneous-plot-set-output-py",
        "Introducing the set_output API",
    ),
}
SKLEARN_TERMS = {
    "fit": "glossary.html#term-fit",
    "meta-estimator": "glossary.html#term-meta-estimator",
}

NUMPY = {
    "py:class": ["numpy.ndarray", "numpy.dtype", "numpy.random.Generator"],
    "py:function": ["numpy.random.default_rng", "numpy.errstate"],
    "py:module": ["numpy"],
}
NUMPY_URIS = {
    "numpy.ndarray": "reference/generated/numpy.ndarray.html#$",
    "numpy.dtype": "reference/generated/numpy.dtype.html#$",
    "numpy.random.Generator": "reference/random/generator.html#$",
    "numpy.random.default_rng": "reference/random/generator.html#$",
    "numpy.errstate": "reference/generated/numpy.errstate.html#$",
    "numpy": "reference/index.html#module-$",
}


def _sklearn_uri(name):
    return SKLEARN_URIS.get(name, f"modules/generated/{name}.html#$")


def write(path, project, version, entries, labels=(), terms=()):
    """Write a version-2 Sphinx inventory (the format ``objects.inv`` uses)."""
    lines = [
        f"{name} {role} 1 {uri} -" for role, names in entries for name, uri in names
    ]
    lines += [f"{label} std:label -1 {uri} {title}" for label, (uri, title) in labels]
    lines += [f"{term} std:term -1 {uri} -" for term, uri in terms]
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    ).encode()
    body = zlib.compress(("\n".join(sorted(lines)) + "\n").encode())
    path.write_bytes(header + body)


def main():
    """Write ``sklearn.inv`` and ``numpy.inv`` next to this script."""
    write(
        HERE / "sklearn.inv",
        "scikit-learn",
        "1.9",
        [
            (role, [(n, _sklearn_uri(n)) for n in names])
            for role, names in SKLEARN.items()
        ],
        SKLEARN_LABELS.items(),
        SKLEARN_TERMS.items(),
    )
    write(
        HERE / "numpy.inv",
        "NumPy",
        "2.4",
        [
            (
                role,
                [
                    (n, NUMPY_URIS.get(n, f"reference/generated/{n}.html#$"))
                    for n in names
                ],
            )
            for role, names in NUMPY.items()
        ],
    )


if __name__ == "__main__":
    main()
