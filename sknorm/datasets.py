"""Real weather data for examples and tests: pvlib's Greensboro TMY3 file.

pvlib ships NREL's typical-meteorological-year file for Greensboro Piedmont
Triad International airport (``723170TYA.CSV``: 8760 hourly rows). Its columns
live on wildly different scales (pressure near 1000 mbar, visibility in
thousands of metres, cloud cover in tenths), which is what sknorm is for.
pvlib is an optional dependency: ``pip install "sknorm[examples]"``.

Caveat: TMY solar values are partly modeled, and the months come from different
years (1980-2003), so hours at month boundaries are not continuous.
"""

import pathlib

import numpy as np

__all__ = ["load_greensboro_ghi", "load_greensboro_temperature_change"]

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
    day = df.index.dayofyear.to_numpy()
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
