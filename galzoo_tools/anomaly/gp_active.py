"""The paper's method: a Gaussian process learns the researcher's scores; expected improvement picks what to show next.

Walmsley et al. (2022), following their zoobot experiments:

* a GP regresses the 0-5 scores on the (PCA-compressed, standardised) features, with a
  rational quadratic kernel plus white noise, hyperparameters fitted by maximum likelihood
  (scikit-learn's ``GaussianProcessRegressor`` defaults: zero prior mean, no output scaling);
* the first 10 galaxies shown are random; after that each batch of 10 is the unlabelled
  galaxies with the largest **expected improvement** over the best score so far, with
  exploration margin ξ = 0.5:  EI = (μ − y⁺ − ξ) Φ(z) + σ φ(z),  z = (μ − y⁺ − ξ) / σ;
* galaxies are ranked by the GP mean (labelled ones by their labels).

The fit sees at most a few hundred labels, so it is cheap. Predicting the mean *and* the
uncertainty of 100 000 galaxies is the costly part; :func:`gp_predict` does it in chunks
with one matrix product for the distances and one triangular solve per chunk (exactly the
same numbers as scikit-learn's ``predict(return_std=True)``, several times faster).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import ndtr
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RationalQuadratic, WhiteKernel
from threadpoolctl import threadpool_limits

from .base import ActiveLearner

__all__ = ["GPFit", "fit_gp", "gp_predict", "expected_improvement", "GPActiveLearner", "XI", "CHUNK"]

XI = 0.5
"""Exploration margin of the expected improvement, as in the paper."""

CHUNK = 16384
"""Galaxies predicted at once: bounds memory to a few tens of MB for 200 labels."""


@dataclass(frozen=True)
class GPFit:
    """A fitted GP: training inputs, Cholesky factor, weights and the kernel's hyperparameters."""

    x_train: np.ndarray
    cholesky: np.ndarray
    weights: np.ndarray
    length_scale: float
    rq_alpha: float
    noise: float
    y_best: float
    regressor: GaussianProcessRegressor


def fit_gp(x: np.ndarray, y: np.ndarray, seed: int = 0) -> GPFit:
    """Fit rational quadratic + white noise GP to scores ``y`` at features ``x`` (maximum likelihood)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(x) != len(y) or len(y) < 1:
        raise ValueError(f"need one score per labelled galaxy, got {len(x)} rows and {len(y)} scores")
    gp = GaussianProcessRegressor(kernel=RationalQuadratic() + WhiteKernel(), random_state=seed)
    # The matrices are at most a few hundred wide: extra BLAS threads only add overhead (10x on a busy CPU).
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(x, y)
    rq, white = gp.kernel_.k1, gp.kernel_.k2
    return GPFit(
        x_train=x, cholesky=gp.L_, weights=np.asarray(gp.alpha_).ravel(), length_scale=float(rq.length_scale),
        rq_alpha=float(rq.alpha), noise=float(white.noise_level), y_best=float(y.max()), regressor=gp,
    )


def _rq_kernel(fit: GPFit, x: np.ndarray) -> np.ndarray:
    sq = (x * x).sum(1)[:, None] + (fit.x_train * fit.x_train).sum(1)[None, :] - 2.0 * (x @ fit.x_train.T)
    np.maximum(sq, 0.0, out=sq)
    sq *= 1.0 / (2.0 * fit.rq_alpha * fit.length_scale**2)
    np.log1p(sq, out=sq)
    sq *= -fit.rq_alpha
    return np.exp(sq, out=sq)


def gp_predict(fit: GPFit, x: np.ndarray, chunk: int = CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and standard deviation (including the white noise, as scikit-learn) at ``x``."""
    x = np.asarray(x, dtype=np.float64)
    mean = np.empty(len(x))
    var = np.empty(len(x))
    prior_var = 1.0 + fit.noise
    for start in range(0, len(x), chunk):
        k = _rq_kernel(fit, x[start : start + chunk])
        mean[start : start + len(k)] = k @ fit.weights
        v = solve_triangular(fit.cholesky, k.T, lower=True, check_finite=False)
        var[start : start + len(k)] = prior_var - np.einsum("ij,ij->j", v, v)
    return mean, np.sqrt(np.maximum(var, 0.0))


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float, xi: float = XI) -> np.ndarray:
    """Expected improvement over ``best`` by more than ``xi`` (zero where the GP is certain and not better)."""
    gain = np.asarray(mean) - best - xi
    std = np.asarray(std)
    safe = np.where(std > 0, std, 1.0)
    z = gain / safe
    ei = gain * ndtr(z) + safe * np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
    return np.where(std > 0, ei, np.maximum(gain, 0.0))


class GPActiveLearner(ActiveLearner):
    """Gaussian-process regression of the researcher's scores + expected-improvement batches (the paper's method)."""

    name = "gp"

    def __init__(self, features: np.ndarray, seed: int = 0, xi: float = XI, chunk: int = CHUNK):
        super().__init__(features, seed)
        self.xi = xi
        self.chunk = chunk
        self.fit: GPFit | None = None
        self._mean = np.zeros(self.n_galaxies)
        self._std = np.ones(self.n_galaxies)

    def _fit(self) -> None:
        if self.n_labelled == 0:
            self.fit = None
            self._mean, self._std = np.zeros(self.n_galaxies), np.ones(self.n_galaxies)
            return
        self.fit = fit_gp(self.features[self.labelled], self.labels, seed=self.seed)
        self._mean, self._std = gp_predict(self.fit, self.features, self.chunk)

    def _predict(self) -> np.ndarray:
        return self._mean

    @property
    def std(self) -> np.ndarray:
        """The GP's uncertainty (standard deviation) for every galaxy."""
        self._ensure_fit()
        return self._std

    def acquisition(self) -> np.ndarray:
        """Expected improvement of every galaxy (0 before any label)."""
        self._ensure_fit()
        if self.fit is None:
            return np.zeros(self.n_galaxies)
        return expected_improvement(self._mean, self._std, self.fit.y_best, self.xi)

    def _acquire(self, n: int) -> np.ndarray:
        if self.n_labelled == 0:
            return self._random_unlabelled(n)
        return self._top_unlabelled(self.acquisition(), n)
