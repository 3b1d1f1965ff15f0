"""Fit a sine wave to noisy samples and summarise the residuals."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit


def sine(x: np.ndarray, amplitude: float, frequency: float, phase: float) -> np.ndarray:
    return amplitude * np.sin(frequency * x + phase)


def samples(count: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 4 * np.pi, count)
    y = sine(x, 2.0, 1.5, 0.3) + rng.normal(scale=0.2, size=count)
    return pd.DataFrame({"x": x, "y": y})


def fit(frame: pd.DataFrame) -> tuple[dict[str, float], pd.Series]:
    params, _ = curve_fit(sine, frame["x"], frame["y"], p0=(1.0, 1.4, 0.0))
    fitted = dict(zip(("amplitude", "frequency", "phase"), (float(p) for p in params)))
    residuals = frame["y"] - sine(frame["x"].to_numpy(), *params)
    return fitted, residuals.describe()
