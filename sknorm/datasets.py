"""Weather data for examples and tests: pvlib's Greensboro TMY3 file, and a generator.

pvlib ships NREL's typical-meteorological-year file for Greensboro Piedmont
Triad International airport (``723170TYA.CSV``: 8760 hourly rows). Its columns
live on wildly different scales (pressure near 1000 mbar, visibility in
thousands of metres, cloud cover in tenths), which is what sknorm is for.
pvlib is an optional dependency: ``pip install "sknorm[examples]"``.

Caveat: TMY solar values are partly modeled, and the months come from different
years (1980-2003), so hours at month boundaries are not continuous.

:func:`make_weather` generates weather-like rows of any number, for speed
benchmarks and streaming examples; it needs only NumPy.
"""

import pathlib

import numpy as np

__all__ = [
    "WEATHER_FEATURES",
    "load_greensboro_ghi",
    "load_greensboro_temperature_change",
    "make_weather",
    "split_by_week",
]

_GHI_FEATURES = [
    "ETR (W/m^2)",
    "TotCld (tenths)",
    "OpqCld (tenths)",
    "Dry-bulb (C)",
    "Dew-point (C)",
    "RHum (%)",
    "Pressure (mbar)",
    "Wdir (degrees)",
    "Wspd (m/s)",
    "Hvis (m)",
    "CeilHgt (m)",
    "Pwat (cm)",
    "Lprecip depth (mm)",
]
_WEATHER = [
    "Dry-bulb (C)",
    "Dew-point (C)",
    "RHum (%)",
    "Pressure (mbar)",
    "Wdir (degrees)",
    "Wspd (m/s)",
    "TotCld (tenths)",
    "OpqCld (tenths)",
    "Hvis (m)",
    "CeilHgt (m)",
    "GHI (W/m^2)",
    "ETR (W/m^2)",
]


def _read_tmy3():
    try:
        import pvlib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The Greensboro weather data ships with pvlib, which is not installed. "
            'Install it with: pip install "sknorm[examples]"'
        ) from exc
    path = pathlib.Path(pvlib.__file__).parent / "data" / "723170TYA.CSV"
    df, _ = pvlib.iotools.read_tmy3(path, map_variables=False)
    return df


def load_greensboro_ghi():
    """Load task T1: daytime global horizontal irradiance from weather.

    Rows with extraterrestrial radiation ``ETR > 0`` (4751 daytime hours);
    the target is ``GHI (W/m^2)`` (std about 267 W/m^2); the 13 features are
    weather and sun-geometry columns on very different scales. Illuminance
    columns are excluded, since they are derived from irradiance.

    Returns
    -------
    X : pandas.DataFrame of shape (4751, 13)
        Features, in file order (hourly, January to December).
    y : pandas.Series of shape (4751,)
        GHI in W/m^2.

    Examples
    --------
    >>> from sknorm.datasets import load_greensboro_ghi
    >>> X, y = load_greensboro_ghi()  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (4751, 13)
    """
    df = _read_tmy3()
    day = df[df["ETR (W/m^2)"] > 0]
    return day[_GHI_FEATURES].astype(float), day["GHI (W/m^2)"].astype(float)


def load_greensboro_temperature_change():
    """Load task T2: the 3-hour change of dry-bulb temperature.

    The target is ``T(t + 3h) - T(t)`` (std about 3.2 degrees C); the 16
    features are the current weather, irradiance and the sine/cosine of the
    hour of day and the day of year. Pairs that cross a month boundary are
    dropped, because TMY months come from different years.

    Returns
    -------
    X : pandas.DataFrame of shape (n_samples, 16)
        Features.
    y : pandas.Series of shape (n_samples,)
        Temperature change in degrees C.

    Examples
    --------
    >>> from sknorm.datasets import load_greensboro_temperature_change
    >>> X, y = load_greensboro_temperature_change()  # doctest: +SKIP
    >>> X.shape[1]  # doctest: +SKIP
    16
    """
    df = _read_tmy3()
    X = df[_WEATHER].astype(float).copy()
    hour = df.index.hour.to_numpy()
    day = df.index.day_of_year.to_numpy()
    X["sin_hour"] = np.sin(2 * np.pi * hour / 24)
    X["cos_hour"] = np.cos(2 * np.pi * hour / 24)
    X["sin_day"] = np.sin(2 * np.pi * day / 365)
    X["cos_day"] = np.cos(2 * np.pi * day / 365)
    temperature = df["Dry-bulb (C)"].to_numpy(dtype=float)
    month = df.index.month.to_numpy()
    y = temperature[3:] - temperature[:-3]
    same_month = month[3:] == month[:-3]
    X = X.iloc[:-3][same_month]
    target = df["Dry-bulb (C)"].iloc[:-3][same_month].rename("dT 3h (C)")
    target[:] = y[same_month]
    return X, target


def split_by_week(X, y, *, test_size=0.25, random_state=0):
    """Split hourly rows into train and test sets of whole calendar weeks.

    Neighbouring hours are near-duplicates: a random row split puts them on
    both sides and rewards memorizing. This holds out whole weeks instead
    (``GroupShuffleSplit`` on ``day_of_year // 7`` of the rows' timestamps).

    Parameters
    ----------
    X : pandas.DataFrame
        Rows indexed by timestamps, such as the Greensboro tasks' features.
    y : pandas.Series
        Targets aligned with ``X``.
    test_size : float, default=0.25
        Share of the weeks held out.
    random_state : int, default=0
        Seed of the choice of weeks.

    Returns
    -------
    X_train, X_test, y_train, y_test : pandas objects
        The rows of the training and test weeks.

    Examples
    --------
    >>> from sknorm.datasets import load_greensboro_ghi, split_by_week
    >>> X, y = load_greensboro_ghi()  # doctest: +SKIP
    >>> X_train, X_test, y_train, y_test = split_by_week(X, y)  # doctest: +SKIP
    """
    from sklearn.model_selection import GroupShuffleSplit

    weeks = X.index.day_of_year.to_numpy() // 7
    splitter = GroupShuffleSplit(
        n_splits=1, test_size=test_size, random_state=random_state
    )
    train, test = next(splitter.split(X, y, groups=weeks))
    return X.iloc[train], X.iloc[test], y.iloc[train], y.iloc[test]


#: Column names of :func:`make_weather`'s ``X``, with their units.
WEATHER_FEATURES = (
    "temperature (K)",
    "humidity (0-1)",
    "pressure (Pa)",
    "wind (m/s)",
    "cloud cover (0-1)",
    "clear-sky irradiance (W/m^2)",
    "hour (0-24)",
    "day of year (0-365)",
)


def make_weather(n_samples, *, random_state=None):
    """Generate weather-like regression data with features on natural scales.

    Any number of rows, for benchmarks and streaming examples where the
    Greensboro file is too small. Eight features (``WEATHER_FEATURES``) span
    scales from 0-1 to 1e5; the target is a plane-of-array irradiance in
    W/m^2, nonlinear in cloud cover, derated by the cell temperature and
    noisy (std 15 W/m^2).

    Parameters
    ----------
    n_samples : int
        Number of rows.
    random_state : int, sequence of int, numpy.random.Generator or None, \
default=None
        Seed (anything :func:`numpy.random.default_rng` accepts). A sequence
        such as ``[seed, chunk_index]`` gives independent, reproducible
        chunks of a larger dataset.

    Returns
    -------
    X : ndarray of shape (n_samples, 8)
        Features.
    y : ndarray of shape (n_samples,)
        Irradiance in W/m^2.

    Examples
    --------
    >>> from sknorm.datasets import make_weather
    >>> X, y = make_weather(1000, random_state=0)
    >>> X.shape, y.shape
    ((1000, 8), (1000,))
    >>> bool(X[:, 2].mean() > 9e4 and X[:, 1].max() <= 1)  # pressure vs humidity
    True
    """
    rng = np.random.default_rng(random_state)
    hour = rng.uniform(0, 24, n_samples)
    day = rng.uniform(0, 365, n_samples)
    season = np.sin(2 * np.pi * (day - 80) / 365)
    elevation = np.sin(np.pi * (hour - 6) / 12) * (0.75 + 0.2 * season)
    clear_sky = 1000 * np.clip(elevation, 0, None) ** 1.2
    temperature = 283 + 10 * season + 5 * np.sin(np.pi * (hour - 9) / 12)
    temperature += rng.normal(0, 2, n_samples)
    cloud = rng.beta(0.7, 0.9, n_samples)
    humidity = np.clip(0.6 + 0.3 * cloud - 0.2 * elevation, 0.02, 1.0)
    humidity = np.clip(humidity + rng.normal(0, 0.05, n_samples), 0.02, 1.0)
    pressure = 101_325 - 1500 * cloud + rng.normal(0, 700, n_samples)
    wind = 4 * rng.weibull(2.0, n_samples) * (1 + 0.5 * cloud)
    # Solar cells lose about 0.4 % per kelvin above 25 degrees C.
    cell = temperature + 0.03 * clear_sky - 1.5 * wind
    poa = clear_sky * (1 - 0.75 * cloud**3.4) * (1 - 0.004 * (cell - 298))
    y = poa * (1 + 0.1 * np.cos(2 * np.pi * day / 365)) + rng.normal(0, 15, n_samples)
    X = np.column_stack(
        [temperature, humidity, pressure, wind, cloud, clear_sky, hour, day]
    )
    return X, y
